//! The result cache's key: what makes a finished item's result reusable.
//!
//! The key of item `i` of a job is BLAKE3 over length-prefixed parts, in
//! this order (version 2):
//! 1. `sluice result cache v2`;
//! 2. the task's content hash — taskgen's BLAKE3 of the generated crate
//!    (the body, the notebook items it uses, the runtime's source, the
//!    dependency lines), which names the binary `bin/<hash>`: the same on
//!    every toolchain and machine, unlike the binary's bytes;
//! 3. the item: line `i` of `items.jsonl` as the session serialized it
//!    (for a sweep, the configuration's parameter tuple); empty for a run
//!    job and for a map over an earlier job's results (part 5 covers it);
//! 4. every captured notebook variable, by name in sorted order: the name
//!    and its JSON (`captures/<name>.json`);
//! 5. every job the job depends on, by id order: the text of each of its
//!    `results/<j>.json`, in item order;
//! 6. with `--export` resolving variables, `environment.json` without the
//!    variables that differ from one kernel to the next
//!    ([`varies_per_kernel`]): with them, no two `nbconvert` runs shared a
//!    key (version 1 kept them).
//!
//! Not part of it: resources (`--time`, `--mem`, `--chdir`, the backend),
//! which decide whether an item succeeds or where it runs but not what a
//! pure task returns; the toolchain; chunking. A task that reads files or
//! clocks is not pure: the cache cannot see those inputs (the README says
//! so).

use std::path::Path;

/// Version tag of the key definition above.
const VERSION: &str = "sluice result cache v2";

/// The inputs shared by every item of one job (parts 1, 2, 4, 5, 6).
#[derive(Debug, Clone, Default)]
pub struct JobInputs {
    /// The task's content hash (part 2).
    pub task: String,
    /// `(name, JSON)` of each captured variable, sorted by name (part 4).
    pub captures: Vec<(String, String)>,
    /// The results of each upstream job, by id order, in item order (part 5).
    pub upstream: Vec<Vec<String>>,
    /// `environment.json`, when the job resolved `--export` (part 6).
    pub environment: Option<String>,
}

impl JobInputs {
    /// The key of an item whose JSON line is `item` (part 3), as 32 hex
    /// digits.
    pub fn key(&self, item: &str) -> String {
        let mut h = blake3::Hasher::new();
        let mut part = |bytes: &[u8]| {
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(VERSION.as_bytes());
        part(self.task.as_bytes());
        part(item.as_bytes());
        part(&(self.captures.len() as u64).to_le_bytes());
        for (name, json) in &self.captures {
            part(name.as_bytes());
            part(json.as_bytes());
        }
        part(&(self.upstream.len() as u64).to_le_bytes());
        for job in &self.upstream {
            part(&(job.len() as u64).to_le_bytes());
            for r in job {
                part(r.as_bytes());
            }
        }
        match &self.environment {
            Some(env) => {
                part(b"environment");
                part(env.as_bytes());
            }
            None => part(b""),
        }
        h.finalize().to_hex()[..32].to_string()
    }
}

/// Whether an environment variable differs from one kernel to the next
/// without changing what a task computes, and so stays out of the key:
/// those Jupyter sets per kernel (`JPY_PARENT_PID`, `JPY_SESSION_NAME`, any
/// `JPY_*`; `KERNEL_ID`), the shell's bookkeeping (`PWD`, `OLDPWD`,
/// `SHLVL`, `_`), and the directories evcxr's session gets from the kept
/// slot a kernel happened to claim (`EVCXR_TMPDIR`, `EVCXR_CONFIG_DIR`).
pub fn varies_per_kernel(name: &str) -> bool {
    name.starts_with("JPY_")
        || matches!(
            name,
            "KERNEL_ID" | "PWD" | "OLDPWD" | "SHLVL" | "_" | "EVCXR_TMPDIR" | "EVCXR_CONFIG_DIR"
        )
}

/// `environment.json` (a JSON list of `[name, value]`) as part 6 hashes
/// it: without the variables that [`varies_per_kernel`]; text that is not
/// such a list is hashed as it is.
pub fn environment_part(text: &str) -> String {
    match serde_json::from_str::<Vec<(String, String)>>(text) {
        Ok(vars) => {
            let kept: Vec<&(String, String)> =
                vars.iter().filter(|(k, _)| !varies_per_kernel(k)).collect();
            serde_json::to_string(&kept).unwrap_or_else(|_| text.to_owned())
        }
        Err(_) => text.to_owned(),
    }
}

/// The task's content hash from its binary's path (`bin/<hash>`).
pub fn task_hash(binary: &Path) -> String {
    binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> JobInputs {
        JobInputs {
            task: "0123456789abcdef".into(),
            captures: vec![("epochs".into(), "10".into())],
            upstream: vec![],
            environment: None,
        }
    }

    #[test]
    fn the_key_is_fixed_and_every_part_counts() {
        let base = inputs();
        // A fixed definition: this value may only change with VERSION.
        assert_eq!(base.key("[0.1,32]"), base.clone().key("[0.1,32]"));
        assert_eq!(base.key("[0.1,32]").len(), 32);
        assert_ne!(base.key("[0.1,32]"), base.key("[0.1,64]"));
        let mut other = base.clone();
        other.task = "fedcba9876543210".into();
        assert_ne!(base.key("1"), other.key("1"));
        let mut other = base.clone();
        other.captures[0].1 = "11".into();
        assert_ne!(base.key("1"), other.key("1"));
        let mut other = base.clone();
        other.upstream = vec![vec!["1".into()]];
        assert_ne!(base.key("1"), other.key("1"));
        let mut other = base.clone();
        other.environment = Some("[]".into());
        assert_ne!(base.key("1"), other.key("1"));
        // Parts are framed: moving bytes between parts changes the key.
        let mut a = base.clone();
        a.captures = vec![("ab".into(), "c".into())];
        let mut b = base.clone();
        b.captures = vec![("a".into(), "bc".into())];
        assert_ne!(a.key("1"), b.key("1"));
    }

    #[test]
    fn task_hash_is_the_binary_name() {
        assert_eq!(task_hash(Path::new("/b/bin/0123abcd")), "0123abcd");
    }

    #[test]
    fn per_kernel_variables_stay_out_of_the_key() {
        let env = |pid: &str, slot: &str, user: &str| {
            let vars = [
                ("HOME", "/root"),
                ("JPY_PARENT_PID", pid),
                ("EVCXR_TMPDIR", slot),
                ("EVCXR_CONFIG_DIR", slot),
                ("SHLVL", pid),
                ("LR_SCALE", user),
            ];
            let mut inputs = inputs();
            inputs.environment = Some(environment_part(&serde_json::to_string(&vars).unwrap()));
            inputs.key("1")
        };
        // Two nbconvert runs: another parent process, another kept slot.
        assert_eq!(
            env("30513", "/s/slot-1", "2"),
            env("32204", "/s/slot-7", "2")
        );
        // A variable of the user's still counts.
        assert_ne!(
            env("30513", "/s/slot-1", "2"),
            env("30513", "/s/slot-1", "3")
        );
        assert!(varies_per_kernel("JPY_SESSION_NAME") && varies_per_kernel("KERNEL_ID"));
        assert!(!varies_per_kernel("PATH") && !varies_per_kernel("SLUICE_CACHE"));
        // Not a list of pairs: hashed as it is.
        assert_eq!(environment_part("{}"), "{}");
    }
}
