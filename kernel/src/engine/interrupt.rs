//! Reaching the evaluation runtime from the control channel: interrupts,
//! and retiring it (`:clear`, `:restart`, shutdown).
//!
//! The process evcxr started is the runtime's supervisor; it always knows
//! which process is the live session. An interrupt is a queued signal to
//! it (`runtime/control.rs`): the supervisor kills the session, and the
//! snapshot taken before the cell takes over, so every variable keeps its
//! value from before the cell. An interrupt that finds no cell running yet
//! (evcxr is still analysing or compiling) stops the cell before it
//! starts: its builds are stopped, also one that starts after the
//! interrupt; when the kernel's cell ends, a pending interrupt is forgotten.
//! An interrupt while the cell still waits in the engine's queue (behind
//! the warm-up) stops it before it starts: nothing of it runs. Magic cells only
//! get the flag (they stop waiting; the job keeps running).

use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime::control::{self, Control};

/// How long a retiring runtime may take to kill and reap its processes.
const RETIRE_LIMIT: Duration = Duration::from_secs(3);

#[derive(Default)]
struct State {
    /// The runtime's supervisor (shared with evcxr; set once it has started).
    child: Mutex<Option<Arc<Mutex<Child>>>>,
    /// The supervisor an interrupt went to during this cell (a "cell over"
    /// goes to that one only, never to a new runtime evcxr started since).
    /// Held while signalling, so an interrupt and the "cell over" that
    /// follows reach the supervisor in that order.
    signalled: Mutex<Option<u32>>,
    /// True while a cell is executing.
    busy: AtomicBool,
    /// Set by an interrupt, cleared when the next cell starts.
    requested: AtomicBool,
    /// True while a magic cell runs: an interrupt only sets the flag.
    magic: AtomicBool,
    /// Execute requests handed to the engine and not yet started (they
    /// wait behind the warm-up or another cell).
    queued: AtomicUsize,
    /// An interrupt came while no cell ran but one was queued: the next
    /// cell to start is stopped before it runs.
    before_start: AtomicBool,
}

/// Shared between the engine thread and the control channel.
#[derive(Clone, Default)]
pub struct Interrupter {
    state: Arc<State>,
}

impl Interrupter {
    /// Registers evcxr's child process handle (the supervisor).
    pub fn set_child(&self, child: Arc<Mutex<Child>>) {
        if let Ok(mut slot) = self.state.child.lock() {
            *slot = Some(child);
        }
    }

    /// Marks the start (true) or end (false) of a cell.
    pub fn set_busy(&self, busy: bool) {
        let Ok(mut signalled) = self.state.signalled.lock() else {
            return;
        };
        if busy {
            self.state.requested.store(false, Ordering::SeqCst);
        } else if let Some(pid) = signalled.take() {
            self.send(Control::Forget, Some(pid));
        }
        self.state.busy.store(busy, Ordering::SeqCst);
    }

    /// An execute request was handed to the engine (the server calls this
    /// before submitting it).
    pub fn queued(&self) {
        self.state.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// The engine took an execute request off its queue: true when an
    /// interrupt came for it before it started (then it must not run).
    pub fn take_before_start(&self) -> bool {
        let _ = self
            .state
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        self.state.before_start.swap(false, Ordering::SeqCst)
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
        let Ok(mut signalled) = self.state.signalled.lock() else {
            return false;
        };
        if !self.state.busy.load(Ordering::SeqCst) {
            // A cell the user sees running may still wait in the queue
            // (behind the warm-up): it is stopped before it starts.
            if self.state.queued.load(Ordering::SeqCst) > 0 {
                self.state.before_start.store(true, Ordering::SeqCst);
                return true;
            }
            return false;
        }
        self.state.requested.store(true, Ordering::SeqCst);
        if !self.state.magic.load(Ordering::SeqCst) {
            // A cell still compiling: its build stops now, not when cargo ends.
            let stopped = super::build_stop::stop_builds();
            if stopped > 0 {
                tracing::info!("interrupt: stopped the cell's build ({stopped} processes)");
            }
            if let Some(pid) = self.send(Control::Interrupt, None) {
                *signalled = Some(pid);
            }
            self.keep_builds_stopped();
        }
        true
    }

    /// evcxr analyses a cell in this process before it starts cargo, and
    /// that cannot be cut short: until the interrupted cell ends, any build
    /// it starts afterwards is stopped as it appears (every 50 ms).
    fn keep_builds_stopped(&self) {
        let state = Arc::clone(&self.state);
        let spawned = std::thread::Builder::new()
            .name("build-stopper".into())
            .spawn(move || {
                while state.busy.load(Ordering::SeqCst) && state.requested.load(Ordering::SeqCst) {
                    if super::build_stop::stop_builds() > 0 {
                        tracing::info!("interrupt: stopped a build the interrupted cell started");
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot watch for builds after an interrupt: {e}");
        }
    }

    /// Ends the runtime and every process of the session, and waits until
    /// they are gone (evcxr starts a new runtime when it needs one).
    /// Blocking: call from the engine thread or `spawn_blocking`.
    pub fn retire(&self) {
        // No compiler outlives the session it was building for.
        super::build_stop::stop_builds();
        let Some(child) = self.child() else { return };
        let Ok(mut child) = child.lock() else { return };
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        if let Err(e) = control::send(child.id(), Control::Retire) {
            tracing::warn!("cannot ask the evaluation runtime to end: {e}");
        }
        let started = Instant::now();
        while started.elapsed() < RETIRE_LIMIT {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        tracing::warn!("the evaluation runtime did not end in time; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }

    fn child(&self) -> Option<Arc<Mutex<Child>>> {
        self.state.child.lock().ok().and_then(|c| c.clone())
    }

    /// Sends `control` to the supervisor if it is alive (and is `only`,
    /// when given); returns its pid. A process that ended keeps its pid
    /// until evcxr reaps it, so this never reaches another process.
    fn send(&self, what: Control, only: Option<u32>) -> Option<u32> {
        let child = self.child()?;
        let mut child = child.lock().ok()?;
        if !matches!(child.try_wait(), Ok(None)) || only.is_some_and(|pid| pid != child.id()) {
            return None;
        }
        match control::send(child.id(), what) {
            Ok(()) => Some(child.id()),
            Err(e) => {
                tracing::warn!("cannot reach the evaluation runtime ({what:?}): {e}");
                None
            }
        }
    }
}
