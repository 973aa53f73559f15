//! How often the Slurm watcher polls ([`Backoff`]): every 0.3 s after a
//! change or a submit, 1.5 times longer after each poll that changed
//! nothing, at most every 3 s, and not at all while no job is active (a
//! submit wakes it). Pure; the watcher sleeps for what it says.

use std::time::Duration;

/// Fastest poll while jobs are active (and right after a change).
pub const POLL_MIN: Duration = Duration::from_millis(300);
/// Slowest poll while jobs are active (and after an error).
pub const POLL_MAX: Duration = Duration::from_secs(3);
/// The sleep while nothing is active: only a wake-up (submit, reattach,
/// cancel) ends it.
pub const IDLE: Duration = Duration::from_secs(3600);

/// What a poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// Active jobs; some element changed.
    Changed,
    /// Active jobs; nothing changed.
    Unchanged,
    /// No active job.
    Idle,
    /// The cluster could not be asked.
    Failed,
}

/// The interval before the next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    interval: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { interval: POLL_MIN }
    }
}

impl Backoff {
    /// How long to wait before the next poll.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Something was submitted or cancelled: poll soon.
    pub fn woken(&mut self) {
        self.interval = POLL_MIN;
    }

    /// Adjusts to what the last poll found.
    pub fn after(&mut self, polled: Polled) {
        self.interval = match polled {
            Polled::Changed => POLL_MIN,
            Polled::Unchanged => (self.interval * 3 / 2).clamp(POLL_MIN, POLL_MAX),
            Polled::Idle => IDLE,
            Polled::Failed => POLL_MAX,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    #[test]
    fn grows_by_half_to_three_seconds_and_resets_on_change_or_submit() {
        let mut b = Backoff::default();
        let mut seen = vec![ms(b.interval())];
        for _ in 0..7 {
            b.after(Polled::Unchanged);
            seen.push(ms(b.interval()));
        }
        assert_eq!(
            seen,
            vec![
                300.0, 450.0, 675.0, 1012.5, 1518.75, 2278.125, 3000.0, 3000.0
            ]
        );
        b.after(Polled::Changed);
        assert_eq!(b.interval(), POLL_MIN);
        b.after(Polled::Unchanged);
        b.woken();
        assert_eq!(b.interval(), POLL_MIN, "a submit resets it");
    }

    #[test]
    fn sleeps_while_idle_and_slows_on_errors() {
        let mut b = Backoff::default();
        b.after(Polled::Idle);
        assert_eq!(b.interval(), IDLE);
        b.woken();
        assert_eq!(b.interval(), POLL_MIN);
        b.after(Polled::Failed);
        assert_eq!(b.interval(), POLL_MAX);
        // From idle, an unchanged poll goes back to the active range.
        b.after(Polled::Idle);
        b.after(Polled::Unchanged);
        assert_eq!(b.interval(), POLL_MAX);
    }
}
