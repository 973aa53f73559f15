//! What a task build is doing, while cargo runs: how many crates are done
//! of how many, and for how long, read from cargo's JSON messages; and the
//! one line that replaces it when the build ends ("built in 4.2 s",
//! "cached").
//!
//! Done: the distinct packages of cargo's `compiler-artifact` messages
//! (fresh ones included; a build script and its crate count once). Total:
//! the packages of the resolved graph for this machine, as
//! `cargo metadata --filter-platform HOST` lists them once cargo has written
//! the task's `Cargo.lock`.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use crate::render::esc;
use crate::session::Rendered;
use crate::theme::{MUTED, UI_FONT};

/// A build's progress at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildProgress {
    /// Packages compiled (or found fresh) so far.
    pub done: usize,
    /// Packages the build needs, once known.
    pub total: Option<usize>,
    /// Seconds since cargo started.
    pub elapsed_s: f64,
}

/// Counts the packages of cargo's `compiler-artifact` messages, one line
/// of `--message-format=json` at a time (other lines are ignored).
#[derive(Debug, Default)]
pub struct ArtifactCounter {
    packages: HashSet<String>,
}

impl ArtifactCounter {
    /// Reads one line of cargo's output.
    pub fn line(&mut self, line: &str) {
        if !line.contains("\"compiler-artifact\"") {
            return;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        if v["reason"] == "compiler-artifact"
            && let Some(id) = v["package_id"].as_str()
        {
            self.packages.insert(id.to_string());
        }
    }

    /// Distinct packages built so far.
    pub fn done(&self) -> usize {
        self.packages.len()
    }
}

/// The packages a build of the crate in `dir` compiles on this machine:
/// the nodes of `cargo metadata`'s resolved graph filtered to the host
/// platform. None if cargo or rustc cannot say (the display then shows
/// the time alone).
pub fn total_packages(dir: &Path) -> Option<usize> {
    let rustc = Command::new("rustc").arg("-vV").output().ok()?;
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))?;
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["resolve"]["nodes"].as_array().map(Vec::len)
}

fn line(text: &str) -> Rendered {
    Rendered {
        text: text.to_string(),
        html: Some(format!(
            "<div class=\"sluice-build\" style=\"{UI_FONT};font-size:12px;{MUTED}\">{}</div>",
            esc(text)
        )),
        svg: None,
    }
}

/// While cargo runs: `compiling the task (release build): 12 of 40 crates
/// · 3.1 s` once the total is known; before it, `compiling the task
/// (release build)… 3.1 s` (a count alone would read as the total).
pub fn building(p: &BuildProgress) -> Rendered {
    let elapsed = crate::render::duration(p.elapsed_s);
    match p.total {
        Some(total) => line(&format!(
            "compiling the task (release build): {} of {total} crates · {elapsed}",
            p.done.min(total)
        )),
        None => line(&format!("compiling the task (release build)… {elapsed}")),
    }
}

/// When cargo has finished: `built in 4.2 s`.
pub fn built(elapsed_s: f64) -> Rendered {
    line(&format!(
        "task built in {}",
        crate::render::duration(elapsed_s)
    ))
}

/// When the build failed or was stopped: `build failed after 2.0 s`.
pub fn failed(elapsed_s: f64) -> Rendered {
    line(&format!(
        "task build failed after {}",
        crate::render::duration(elapsed_s)
    ))
}

/// An unchanged task: nothing was compiled.
pub fn cached() -> Rendered {
    line("task cached (unchanged since it was built)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_package_once_from_cargos_messages() {
        let mut c = ArtifactCounter::default();
        for l in include_str!("testdata/cargo_build_ok.jsonl").lines() {
            c.line(l);
        }
        assert_eq!(c.done(), 1);
        let artifact = |id: &str| {
            format!("{{\"reason\":\"compiler-artifact\",\"package_id\":\"{id}\",\"target\":{{}}}}")
        };
        // A build script and its library: one package.
        c.line(&artifact("registry+x#serde@1.0.0"));
        c.line(&artifact("registry+x#serde@1.0.0"));
        c.line("{\"reason\":\"build-script-executed\",\"package_id\":\"registry+x#other@1\"}");
        c.line("   Compiling serde v1.0.0");
        assert_eq!(c.done(), 2);
    }

    #[test]
    fn one_line_while_building_and_after() {
        let p = BuildProgress {
            done: 12,
            total: Some(40),
            elapsed_s: 3.08,
        };
        assert_eq!(
            building(&p).text,
            "compiling the task (release build): 12 of 40 crates · 3.1 s"
        );
        let unknown = BuildProgress { total: None, ..p };
        assert_eq!(
            building(&unknown).text,
            "compiling the task (release build)… 3.1 s"
        );
        // No count that could be read as the total, in either form.
        let html = building(&unknown).html.unwrap_or_default();
        assert!(!html.contains("12 "), "{html}");
        assert!(html.contains("3.1 s"), "{html}");
        assert_eq!(built(4.25).text, "task built in 4.2 s");
        assert!(
            built(4.25)
                .html
                .unwrap_or_default()
                .contains("sluice-build")
        );
        assert_eq!(cached().text, "task cached (unchanged since it was built)");
    }
}
