//! How a session process ended, in words: `interrupted`, `killed by SIGSEGV
//! (segmentation fault)`, `stack overflow`, `exited with code 3`, `out of
//! memory (...)`.
//!
//! Every word comes from something observed, never a guess: the wait status,
//! the stack-overflow report of the session's SIGSEGV handler, Rust's
//! allocation-failure message on the cell's stderr before an abort, the kernel's `oom_kill` counter having moved while the
//! cell ran.

/// What was seen besides the wait status.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The supervisor killed the process for an interrupt.
    pub interrupted: bool,
    /// The session's SIGSEGV handler reported a stack overflow.
    pub overflow: bool,
    /// Rust's allocation-failure line, if the cell wrote one to stderr.
    pub alloc_failure: Option<String>,
    /// `/proc/vmstat` `oom_kill` when the cell started.
    pub oom_kills_before: Option<u64>,
}

/// The text for a process that ended with wait status `status`.
pub fn describe(status: libc::c_int, seen: &Seen) -> String {
    if seen.interrupted {
        return "interrupted".into();
    }
    if libc::WIFEXITED(status) {
        return format!("exited with code {}", libc::WEXITSTATUS(status));
    }
    if !libc::WIFSIGNALED(status) {
        return format!("ended with wait status {status}");
    }
    let signal = libc::WTERMSIG(status);
    if signal == libc::SIGSEGV && seen.overflow {
        return "stack overflow".into();
    }
    if signal == libc::SIGABRT
        && let Some(line) = seen.alloc_failure.as_deref()
    {
        return format!("out of memory ({line}; aborted)");
    }
    if signal == libc::SIGKILL
        && let (Some(before), Some(now)) = (seen.oom_kills_before, oom_kills())
        && now > before
    {
        return "out of memory (killed by the kernel's OOM killer)".into();
    }
    killed_by(signal)
}

/// `killed by SIGSEGV (segmentation fault)`.
pub fn killed_by(signal: libc::c_int) -> String {
    let (name, meaning) = match signal {
        libc::SIGSEGV => ("SIGSEGV", "segmentation fault"),
        libc::SIGABRT => ("SIGABRT", "abort"),
        libc::SIGBUS => ("SIGBUS", "bus error"),
        libc::SIGILL => ("SIGILL", "illegal instruction"),
        libc::SIGFPE => ("SIGFPE", "arithmetic error"),
        libc::SIGKILL => ("SIGKILL", "killed"),
        libc::SIGTERM => ("SIGTERM", "terminated"),
        libc::SIGINT => ("SIGINT", "interrupt"),
        libc::SIGHUP => ("SIGHUP", "hangup"),
        libc::SIGQUIT => ("SIGQUIT", "quit"),
        libc::SIGPIPE => ("SIGPIPE", "broken pipe"),
        libc::SIGTRAP => ("SIGTRAP", "trap"),
        libc::SIGSYS => ("SIGSYS", "bad system call"),
        libc::SIGXCPU => ("SIGXCPU", "CPU time limit exceeded"),
        libc::SIGXFSZ => ("SIGXFSZ", "file size limit exceeded"),
        libc::SIGUSR1 => ("SIGUSR1", "user signal 1"),
        libc::SIGUSR2 => ("SIGUSR2", "user signal 2"),
        libc::SIGALRM => ("SIGALRM", "alarm"),
        _ => return format!("killed by signal {signal}"),
    };
    format!("killed by {name} ({meaning})")
}

/// Rust's allocation-failure message: `memory allocation of N bytes failed`.
pub fn is_alloc_failure(line: &str) -> bool {
    line.strip_prefix("memory allocation of ")
        .and_then(|rest| rest.strip_suffix(" bytes failed"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The kernel's count of OOM kills (`/proc/vmstat`), if it can be read.
pub fn oom_kills() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signaled(sig: libc::c_int) -> libc::c_int {
        sig
    }

    fn exited(code: libc::c_int) -> libc::c_int {
        code << 8
    }

    #[test]
    fn words_for_each_ending() {
        let none = Seen::default();
        assert_eq!(describe(exited(3), &none), "exited with code 3");
        assert_eq!(
            describe(signaled(libc::SIGSEGV), &none),
            "killed by SIGSEGV (segmentation fault)"
        );
        assert_eq!(
            describe(
                signaled(libc::SIGSEGV),
                &Seen {
                    overflow: true,
                    ..none.clone()
                }
            ),
            "stack overflow"
        );
        assert_eq!(
            describe(
                signaled(libc::SIGKILL),
                &Seen {
                    interrupted: true,
                    ..none.clone()
                }
            ),
            "interrupted"
        );
        let alloc = Seen {
            alloc_failure: Some("memory allocation of 1099511627776 bytes failed".into()),
            ..none.clone()
        };
        assert_eq!(
            describe(signaled(libc::SIGABRT), &alloc),
            "out of memory (memory allocation of 1099511627776 bytes failed; aborted)"
        );
        assert_eq!(
            describe(signaled(libc::SIGABRT), &none),
            "killed by SIGABRT (abort)"
        );
        assert_eq!(
            describe(signaled(libc::SIGKILL), &none),
            "killed by SIGKILL (killed)"
        );
        assert_eq!(killed_by(63), "killed by signal 63");
        assert!(!is_alloc_failure("memory allocation of x bytes failed"));
    }
}
