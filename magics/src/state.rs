//! Job and element states, with Slurm's names, and the dependency rules that
//! decide whether a dependent can start, must wait, or can never run.

use crate::grammar::DependencyKind;

/// The state of one array element (or of a whole job, summarised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Waiting for resources or dependencies.
    Pending,
    /// Running now.
    Running,
    /// Exited 0.
    Completed,
    /// Exited non-zero (the code).
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

impl State {
    /// Finished, one way or another.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, State::Pending | State::Running)
    }

    /// The Slurm name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            State::Pending => "PENDING",
            State::Running => "RUNNING",
            State::Completed => "COMPLETED",
            State::Failed(_) => "FAILED",
            State::Timeout => "TIMEOUT",
            State::OutOfMemory => "OUT_OF_MEMORY",
            State::NodeFail => "NODE_FAIL",
            State::Preempted => "PREEMPTED",
            State::Cancelled(_) => "CANCELLED",
        }
    }

    /// Parses what [`State::name`] wrote (with the exit code or reason in `detail`).
    pub fn from_parts(name: &str, exit: i32, reason: &str) -> State {
        match name {
            "PENDING" => State::Pending,
            "RUNNING" => State::Running,
            "COMPLETED" => State::Completed,
            "FAILED" => State::Failed(exit),
            "TIMEOUT" => State::Timeout,
            "OUT_OF_MEMORY" => State::OutOfMemory,
            "NODE_FAIL" => State::NodeFail,
            "PREEMPTED" => State::Preempted,
            _ => State::Cancelled(reason.to_string()),
        }
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
    /// Failed, timed-out or out-of-memory elements.
    pub failed: usize,
    /// Cancelled elements.
    pub cancelled: usize,
}

impl Counts {
    /// Tallies states.
    pub fn of<'a>(states: impl Iterator<Item = &'a State>) -> Counts {
        let mut c = Counts::default();
        for s in states {
            match s {
                State::Pending => c.pending += 1,
                State::Running => c.running += 1,
                State::Completed => c.completed += 1,
                State::Cancelled(_) => c.cancelled += 1,
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

    /// The job's overall state name, as squeue/sacct would summarise it.
    pub fn job_state(&self) -> &'static str {
        if !self.done() {
            if self.running > 0 {
                "RUNNING"
            } else {
                "PENDING"
            }
        } else if self.failed > 0 {
            "FAILED"
        } else if self.cancelled > 0 {
            "CANCELLED"
        } else {
            "COMPLETED"
        }
    }
}

/// What a dependency says about a dependent right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// May start.
    Ready,
    /// Must wait.
    Wait,
    /// Can never start (Slurm: DependencyNeverSatisfied); the reason.
    Never(String),
}

/// Job-level rule: `upstream` are all elements of the job depended on.
pub fn job_readiness(kind: DependencyKind, upstream: &[State], up_name: &str) -> Readiness {
    let c = Counts::of(upstream.iter());
    match kind {
        DependencyKind::Afterok | DependencyKind::Aftercorr => {
            if c.failed + c.cancelled > 0 {
                Readiness::Never(format!(
                    "DependencyNeverSatisfied: {up_name} did not complete successfully"
                ))
            } else if c.done() {
                Readiness::Ready
            } else {
                Readiness::Wait
            }
        }
        DependencyKind::Afterany => {
            if c.done() {
                Readiness::Ready
            } else {
                Readiness::Wait
            }
        }
        DependencyKind::Afternotok => {
            if !c.done() {
                Readiness::Wait
            } else if c.failed + c.cancelled > 0 {
                Readiness::Ready
            } else {
                Readiness::Never(format!(
                    "DependencyNeverSatisfied: {up_name} succeeded (afternotok)"
                ))
            }
        }
    }
}

/// Element-wise rule (aftercorr): element i waits for element i upstream.
pub fn element_readiness(upstream: Option<&State>, up_name: &str, index: usize) -> Readiness {
    match upstream {
        Some(State::Completed) => Readiness::Ready,
        Some(s) if s.is_terminal() => Readiness::Never(format!(
            "DependencyNeverSatisfied: {up_name}[{index}] ended {}",
            s.name()
        )),
        Some(_) => Readiness::Wait,
        None => Readiness::Never(format!(
            "DependencyNeverSatisfied: {up_name} has no element {index}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn afterok_semantics() {
        let ok = [State::Completed, State::Completed];
        let running = [State::Completed, State::Running];
        let failed = [State::Completed, State::Failed(1)];
        assert_eq!(
            job_readiness(DependencyKind::Afterok, &ok, "a"),
            Readiness::Ready
        );
        assert_eq!(
            job_readiness(DependencyKind::Afterok, &running, "a"),
            Readiness::Wait
        );
        assert!(matches!(
            job_readiness(DependencyKind::Afterok, &failed, "a"),
            Readiness::Never(_)
        ));
        assert_eq!(
            job_readiness(DependencyKind::Afterany, &failed, "a"),
            Readiness::Ready
        );
        assert_eq!(
            job_readiness(DependencyKind::Afternotok, &failed, "a"),
            Readiness::Ready
        );
        assert!(matches!(
            job_readiness(DependencyKind::Afternotok, &ok, "a"),
            Readiness::Never(_)
        ));
    }

    #[test]
    fn aftercorr_is_per_element() {
        assert_eq!(
            element_readiness(Some(&State::Completed), "a", 0),
            Readiness::Ready
        );
        assert_eq!(
            element_readiness(Some(&State::Running), "a", 0),
            Readiness::Wait
        );
        assert!(matches!(
            element_readiness(Some(&State::Timeout), "a", 0),
            Readiness::Never(_)
        ));
    }

    #[test]
    fn counts_summarise() {
        let c = Counts::of([State::Completed, State::Failed(2), State::Pending].iter());
        assert_eq!((c.completed, c.failed, c.pending), (1, 1, 1));
        assert_eq!(c.job_state(), "PENDING");
    }
}
