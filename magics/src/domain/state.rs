//! Job and element states with Slurm's names (squeue(1) and sacct(1), "JOB
//! STATE CODES"): [`ElementState`] for one array element, [`JobState`] for a
//! whole job, and [`Counts`] that summarise one into the other.

use std::fmt;
use std::str::FromStr;

/// The state of one array element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementState {
    /// Waiting for resources or dependencies.
    Pending,
    /// Running now.
    Running,
    /// Exited 0.
    Completed,
    /// Exited non-zero (the code, above 0), or was killed by a signal
    /// (minus its number, as Python's `returncode`; sacct's ExitCode `0:6`
    /// is −6). [`describe_exit`] says which.
    Failed(i32),
    /// Killed at its time limit.
    Timeout,
    /// Killed for exceeding its memory limit.
    OutOfMemory,
    /// Its node failed (Slurm NODE_FAIL, BOOT_FAIL).
    NodeFail,
    /// Preempted by a higher-priority job and not requeued.
    Preempted,
    /// Cancelled (why).
    Cancelled(String),
}

/// What a FAILED element's code means: `exit 3`, or `killed by SIGABRT,
/// signal 6` for a negative code (signal numbers as Linux's signal(7)).
pub fn describe_exit(code: i32) -> String {
    if code >= 0 {
        return format!("exit {code}");
    }
    let signal = code.unsigned_abs();
    match signal_name(signal) {
        Some(name) => format!("killed by {name}, signal {signal}"),
        None => format!("killed by signal {signal}"),
    }
}

/// The name of a Linux signal number (signal(7), x86 and ARM numbering).
fn signal_name(signal: u32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    let index = usize::try_from(signal).ok()?.checked_sub(1)?;
    NAMES.get(index).copied()
}

/// A state name that is not one of Slurm's states sluice records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state `{0}`")]
pub struct UnknownState(pub String);

impl ElementState {
    /// Finished, one way or another.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ElementState::Pending | ElementState::Running)
    }

    /// Ended without a result: failed, timed out, out of memory, node
    /// failure or preemption (not cancelled, not completed).
    pub fn is_failure(&self) -> bool {
        self.is_terminal() && !matches!(self, ElementState::Completed | ElementState::Cancelled(_))
    }

    /// The Slurm name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            ElementState::Pending => "PENDING",
            ElementState::Running => "RUNNING",
            ElementState::Completed => "COMPLETED",
            ElementState::Failed(_) => "FAILED",
            ElementState::Timeout => "TIMEOUT",
            ElementState::OutOfMemory => "OUT_OF_MEMORY",
            ElementState::NodeFail => "NODE_FAIL",
            ElementState::Preempted => "PREEMPTED",
            ElementState::Cancelled(_) => "CANCELLED",
        }
    }

    /// Parses what [`ElementState::name`] wrote, with the exit code (FAILED)
    /// or the reason (CANCELLED) stored beside it.
    ///
    /// # Errors
    /// [`UnknownState`] for any other name: an unknown state is never
    /// silently taken for another.
    pub fn from_parts(name: &str, exit: i32, reason: &str) -> Result<ElementState, UnknownState> {
        Ok(match name {
            "PENDING" => ElementState::Pending,
            "RUNNING" => ElementState::Running,
            "COMPLETED" => ElementState::Completed,
            "FAILED" => ElementState::Failed(exit),
            "TIMEOUT" => ElementState::Timeout,
            "OUT_OF_MEMORY" => ElementState::OutOfMemory,
            "NODE_FAIL" => ElementState::NodeFail,
            "PREEMPTED" => ElementState::Preempted,
            "CANCELLED" => ElementState::Cancelled(reason.to_string()),
            _ => return Err(UnknownState(name.to_string())),
        })
    }

    /// The exit code (FAILED) and reason (CANCELLED) that
    /// [`ElementState::from_parts`] reads back.
    pub fn detail(&self) -> (i32, &str) {
        match self {
            ElementState::Failed(c) => (*c, ""),
            ElementState::Cancelled(r) => (0, r),
            _ => (0, ""),
        }
    }
}

/// The overall state of a job, as squeue/sacct summarise an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// No element has started.
    Pending,
    /// Some element runs.
    Running,
    /// Every element completed.
    Completed,
    /// Every element ended and at least one failed (FAILED, TIMEOUT,
    /// OUT_OF_MEMORY, NODE_FAIL, PREEMPTED).
    Failed,
    /// Every element ended, none failed, and at least one was cancelled.
    Cancelled,
}

impl JobState {
    /// Every state, in the order tables list them.
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// Slurm's name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
        }
    }

    /// Finished, one way or another.
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<JobState, UnknownState> {
        JobState::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// Counts of element states, for progress and summaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pending elements.
    pub pending: usize,
    /// Running elements.
    pub running: usize,
    /// Completed elements.
    pub completed: usize,
    /// Failed, timed-out, out-of-memory, node-failed or preempted elements.
    pub failed: usize,
    /// Cancelled elements.
    pub cancelled: usize,
}

impl Counts {
    /// Tallies states.
    pub fn of<'a>(states: impl Iterator<Item = &'a ElementState>) -> Counts {
        let mut c = Counts::default();
        for s in states {
            match s {
                ElementState::Pending => c.pending += 1,
                ElementState::Running => c.running += 1,
                ElementState::Completed => c.completed += 1,
                ElementState::Cancelled(_) => c.cancelled += 1,
                _ => c.failed += 1,
            }
        }
        c
    }

    /// Total elements.
    pub fn total(&self) -> usize {
        self.pending + self.running + self.completed + self.failed + self.cancelled
    }

    /// All finished.
    pub fn done(&self) -> bool {
        self.pending == 0 && self.running == 0
    }

    /// The job's overall state: RUNNING once any element has started (one
    /// is running or has ended) while others still wait, PENDING while none
    /// has; when all have ended, FAILED if any failed, else CANCELLED if
    /// any was cancelled, else COMPLETED.
    pub fn job_state(&self) -> JobState {
        if !self.done() {
            if self.pending < self.total() {
                JobState::Running
            } else {
                JobState::Pending
            }
        } else if self.failed > 0 {
            JobState::Failed
        } else if self.cancelled > 0 {
            JobState::Cancelled
        } else {
            JobState::Completed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_and_signals_read_as_such() {
        assert_eq!(describe_exit(3), "exit 3");
        assert_eq!(describe_exit(-6), "killed by SIGABRT, signal 6");
        assert_eq!(describe_exit(-11), "killed by SIGSEGV, signal 11");
        assert_eq!(describe_exit(-40), "killed by signal 40");
        assert_eq!(describe_exit(i32::MIN), "killed by signal 2147483648");
    }

    #[test]
    fn counts_summarise() {
        let c = Counts::of(
            [
                ElementState::Completed,
                ElementState::Failed(2),
                ElementState::Pending,
            ]
            .iter(),
        );
        assert_eq!((c.completed, c.failed, c.pending), (1, 1, 1));
        assert_eq!(c.job_state(), JobState::Running, "some have ended");
        let waiting = Counts::of([ElementState::Pending, ElementState::Pending].iter());
        assert_eq!(waiting.job_state(), JobState::Pending);
    }

    #[test]
    fn states_round_trip_and_unknown_is_an_error() {
        for s in [
            ElementState::Pending,
            ElementState::Running,
            ElementState::Completed,
            ElementState::Failed(3),
            ElementState::Timeout,
            ElementState::OutOfMemory,
            ElementState::NodeFail,
            ElementState::Preempted,
            ElementState::Cancelled("why".into()),
        ] {
            let (exit, reason) = s.detail();
            assert_eq!(
                ElementState::from_parts(s.name(), exit, reason),
                Ok(s.clone())
            );
        }
        assert!(ElementState::from_parts("REQUEUED", 0, "").is_err());
        for j in JobState::ALL {
            assert_eq!(j.to_string().parse::<JobState>(), Ok(j));
        }
        assert!("DONE".parse::<JobState>().is_err());
    }
}
