//! The evaluation engine: one thread that owns evcxr's `CommandContext`.
//!
//! evcxr is blocking and not `Send`-friendly, so it lives on a dedicated
//! thread behind a queue (an actor): the sockets never wait for it. Execute,
//! complete and inspect requests are served in arrival order; the engine
//! publishes busy/idle, outputs and replies itself. Interrupts come from the
//! control channel through [`Interrupter`], which works while a cell runs.
//!
//! The context is created in the background at start-up (evcxr takes
//! seconds), so `kernel_info` is answered at once; requests that arrive
//! earlier simply wait in the queue.

mod build_stop;
mod compile_cache;
mod deferred_items;
mod doc_text;
mod duplicate_items;
mod early_return;
mod execute;
mod fast_display;
mod input;
mod interrupt;
mod introspect;
mod magic_bridge;
pub(crate) mod opt_command;
mod pager;
mod panic_location;
mod session_api;
mod unfinished;

use std::sync::{Arc, Mutex};

use jupyter_protocol::{CompleteRequest, ExecuteRequest, InspectRequest, JupyterMessage};
use tokio::sync::mpsc::UnboundedSender;

pub use interrupt::Interrupter;

use crate::history::History;
use crate::iopub::Iopub;

/// A request for the engine thread.
pub enum Request {
    /// Run a cell.
    Execute(JupyterMessage, ExecuteRequest),
    /// Complete at a cursor.
    Complete(JupyterMessage, CompleteRequest),
    /// Inspect at a cursor.
    Inspect(JupyterMessage, InspectRequest),
    /// A standby was adopted: read the configuration from the (new)
    /// environment and directory again.
    Adopted,
}

/// Set once the warm-up is over: `Some(true)` when evcxr started.
#[derive(Clone, Default)]
pub(crate) struct Ready(Arc<(Mutex<Option<bool>>, std::sync::Condvar)>);

impl Ready {
    /// Records the warm-up's outcome and wakes the waiters.
    pub(crate) fn set(&self, started: bool) {
        let (lock, cv) = &*self.0;
        if let Ok(mut r) = lock.lock() {
            *r = Some(started);
        }
        cv.notify_all();
    }

    /// Blocks until the warm-up is over; whether evcxr started.
    fn wait(&self) -> bool {
        let (lock, cv) = &*self.0;
        let Ok(mut r) = lock.lock() else { return false };
        loop {
            if let Some(started) = *r {
                return started;
            }
            r = match cv.wait(r) {
                Ok(r) => r,
                Err(_) => return false,
            };
        }
    }
}

/// Asks the stdin channel for a line of input on behalf of a request
/// (prompt, password); the answer comes back on the oneshot, and dropping
/// its receiver (an interrupt) stops the wait.
pub type StdinAsk = UnboundedSender<(
    JupyterMessage,
    String,
    bool,
    tokio::sync::oneshot::Sender<String>,
)>;

/// Where the engine sends its results.
#[derive(Clone)]
pub struct Outlets {
    /// The iopub writer.
    pub iopub: Iopub,
    /// The shell socket's writer (replies).
    pub shell: UnboundedSender<JupyterMessage>,
    /// Input requests on the stdin channel.
    pub stdin: StdinAsk,
    /// Executed inputs, shared with the shell loop's history replies.
    pub history: Arc<Mutex<History>>,
}

/// Handle to the engine thread.
pub struct Engine {
    tx: std::sync::mpsc::Sender<Request>,
    interrupter: Interrupter,
    ready: Ready,
}

impl Engine {
    /// Starts the engine thread; evcxr warms up in the background.
    pub fn start(outlets: Outlets) -> std::io::Result<Engine> {
        let (tx, rx) = std::sync::mpsc::channel();
        let interrupter = Interrupter::default();
        let worker_interrupter = interrupter.clone();
        let ready = Ready::default();
        let worker_ready = ready.clone();
        std::thread::Builder::new()
            .name("sluice-engine".into())
            .spawn(move || {
                execute::Worker::new(outlets, worker_interrupter).run(rx, worker_ready)
            })?;
        Ok(Engine {
            tx,
            interrupter,
            ready,
        })
    }

    /// Blocks until evcxr's warm-up is over; whether it started.
    pub fn wait_ready(&self) -> bool {
        self.ready.wait()
    }

    /// Queues a request; false if the engine thread is gone.
    pub fn submit(&self, req: Request) -> bool {
        self.tx.send(req).is_ok()
    }

    /// The interrupt handle for the control channel.
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }
}
