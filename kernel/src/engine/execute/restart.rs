//! `:restart`: a new session process, and evcxr told that the variables
//! went with the old one.
//!
//! evcxr 0.22's own `:restart` command restarts its child process and
//! clears its committed variables, but the command's caller then commits
//! the state it read before the command, variables included. Every later
//! cell's generated code then asks the new process for variables it never
//! had ("Variable 'y' has gone missing") and aborts. So the kernel does the
//! restart itself: it retires the runtime (the supervisor kills and reaps
//! the session and its snapshots) and runs one trivial statement, which
//! evcxr cannot deliver; evcxr then restarts its child process and drops the
//! variables on its error path, which commits nothing. Items, `:dep`s and
//! settings stay, as evcxr's `:restart` documents.

use std::collections::HashMap;

use evcxr::CommandContext;

use super::super::interrupt::Interrupter;

/// What evcxr reports when its child process could not run a cell.
const TERMINATED: &str = "Subprocess terminated";

/// The cell's `:restart` lines blanked (line numbers kept), if it has any.
pub(super) fn without_restart(code: &str) -> Option<String> {
    let is_restart = |l: &str| l.split_whitespace().next() == Some(":restart");
    if !code.lines().any(is_restart) {
        return None;
    }
    let kept: Vec<&str> = code
        .lines()
        .map(|l| if is_restart(l) { "" } else { l })
        .collect();
    Some(kept.join("\n"))
}

/// Restarts the session process and forgets its variables.
///
/// # Errors
/// evcxr's error text when the trivial statement did not fail the way a
/// dead process makes it fail (the variables may then still be listed).
pub(super) fn restart(ctx: &mut CommandContext, interrupter: &Interrupter) -> Result<(), String> {
    interrupter.retire();
    // What the old process published is not the new one's.
    crate::runtime::environment::forget_published();
    match ctx.execute("let _ = ();") {
        Err(evcxr::Error::SubprocessTerminated(_)) => {}
        Err(e) if e.to_string().contains(TERMINATED) => {}
        Ok(_) => {
            // The old process was already gone and evcxr had started a new
            // one: nothing was lost with it but what is lost now.
            return Err("the session process was not restarted; run `:restart` again".into());
        }
        Err(e) => return Err(e.to_string()),
    }
    if ctx.variables_and_types().next().is_some() {
        return Err("the session restarted but evcxr still lists its old variables".into());
    }
    Ok(())
}

/// What a `:restart` cell shows, as evcxr's command does (text/plain).
pub(super) fn restarted_output() -> HashMap<String, String> {
    HashMap::from([(
        "text/plain".to_string(),
        "Session process restarted: its variables are gone; items, `:dep`s and settings are kept."
            .to_string(),
    )])
}

#[cfg(test)]
mod tests {
    use super::without_restart;

    #[test]
    fn restart_lines_are_blanked_in_place() {
        assert_eq!(without_restart(":restart").as_deref(), Some(""));
        assert_eq!(
            without_restart("let a = 1;\n  :restart\nlet b = a;").as_deref(),
            Some("let a = 1;\n\nlet b = a;")
        );
        assert_eq!(without_restart(":restartx"), None);
        assert_eq!(without_restart("let s = \":restart\";"), None);
        assert_eq!(without_restart(":clear"), None);
    }
}
