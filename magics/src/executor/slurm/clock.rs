//! Where the Slurm watcher gets the time: [`Clock`], so the rule that a
//! job out of the queue with no record for [`LOST_AFTER`] is lost can be
//! tested without waiting a minute.
//!
//! [`LOST_AFTER`]: super::reconcile::LOST_AFTER

use std::time::Instant;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when a test moves it.
#[cfg(test)]
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<Instant>);

#[cfg(test)]
impl ManualClock {
    /// Starts at the real now.
    pub fn new() -> ManualClock {
        ManualClock(std::sync::Mutex::new(Instant::now()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
