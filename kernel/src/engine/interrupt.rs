//! Interrupting a running cell from the control channel.
//!
//! evcxr has no cooperative interrupt: the only way to stop user code is to
//! kill the child process that runs it, which loses the variables it held.
//! The engine records which variables existed before the cell, so the error
//! it reports names exactly what was lost; items, `:dep`s and the session
//! itself survive, and the next cell runs in a fresh child.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    /// The evcxr child process (shared with evcxr; set once it has started).
    child: Mutex<Option<Arc<Mutex<Child>>>>,
    /// True while a cell is executing.
    busy: AtomicBool,
    /// Set by an interrupt, cleared when the next cell starts.
    requested: AtomicBool,
    /// True while a magic cell waits: an interrupt stops the wait, it must
    /// not kill the session's process.
    magic: AtomicBool,
}

/// Shared between the engine thread and the control channel.
#[derive(Clone, Default)]
pub struct Interrupter {
    state: Arc<State>,
}

impl Interrupter {
    /// Registers evcxr's child process handle.
    pub fn set_child(&self, child: Arc<Mutex<Child>>) {
        if let Ok(mut slot) = self.state.child.lock() {
            *slot = Some(child);
        }
    }

    /// Marks the start (true) or end (false) of a cell.
    pub fn set_busy(&self, busy: bool) {
        if busy {
            self.state.requested.store(false, Ordering::SeqCst);
        }
        self.state.busy.store(busy, Ordering::SeqCst);
    }

    /// Marks a magic cell (interrupts then only set the flag).
    pub fn set_magic(&self, magic: bool) {
        self.state.magic.store(magic, Ordering::SeqCst);
    }

    /// Whether an interrupt arrived during the current cell.
    pub fn was_requested(&self) -> bool {
        self.state.requested.load(Ordering::SeqCst)
    }

    /// Stops the running cell, if any. Blocking (may wait for evcxr's lock
    /// on the child for a moment): call from `spawn_blocking`.
    pub fn interrupt(&self) -> bool {
        if !self.state.busy.load(Ordering::SeqCst) {
            return false;
        }
        self.state.requested.store(true, Ordering::SeqCst);
        if self.state.magic.load(Ordering::SeqCst) {
            return true;
        }
        let child = self.state.child.lock().ok().and_then(|c| c.clone());
        if let Some(child) = child
            && let Ok(mut child) = child.lock()
            && let Err(e) = child.kill()
        {
            tracing::warn!("interrupt: cannot kill the evaluation process: {e}");
        }
        true
    }
}
