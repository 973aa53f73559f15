//! The iopub channel's one writer.
//!
//! Every published message (status, streams, displays, errors) goes through
//! one unbounded queue into one task that owns the XPUB socket, so messages
//! leave in the order they were queued: a cell's streams always precede its
//! `idle`. The same task greets each new subscriber with `iopub_welcome`
//! (JEP 65), so clients need not sleep before their first request.

use bytes::Bytes;
use jupyter_protocol::{IoPubWelcome, JupyterMessage, Status};
use jupyter_zmq_client::{KernelIoPubXPubConnection, SubscriptionEvent};
use tokio::sync::mpsc;

/// Cheap, cloneable handle for publishing; usable from threads and tasks.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<JupyterMessage>,
}

impl Iopub {
    /// Queues a message for publication (never blocks).
    pub fn send(&self, msg: JupyterMessage) {
        if self.tx.send(msg).is_err() {
            tracing::debug!("iopub writer has stopped; message dropped");
        }
    }

    /// Publishes `busy` as a child of `parent`.
    pub fn busy(&self, parent: &JupyterMessage) {
        self.send(Status::busy().as_child_of(parent));
    }

    /// Publishes `idle` as a child of `parent`.
    pub fn idle(&self, parent: &JupyterMessage) {
        self.send(Status::idle().as_child_of(parent));
    }
}

/// The messages queued for the writer before its socket exists.
pub struct Queue(mpsc::UnboundedReceiver<JupyterMessage>);

/// A handle and its queue; the writer starts with [`spawn`].
pub fn channel() -> (Iopub, Queue) {
    let (tx, rx) = mpsc::unbounded_channel::<JupyterMessage>();
    (Iopub { tx }, Queue(rx))
}

/// Starts the writer task on `conn`, publishing what `queue` holds and
/// will hold.
pub fn spawn(mut conn: KernelIoPubXPubConnection, queue: Queue) {
    let Queue(mut rx) = queue;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                msg = rx.recv() => {
                    let Some(mut msg) = msg else { break };
                    // The topic frame: ipykernel-style, never a client's routing id.
                    msg.zmq_identities = vec![Bytes::from(format!("kernel.sluice.{}", msg.message_type()))];
                    if let Err(e) = conn.send(msg).await {
                        tracing::warn!("iopub send failed: {e}");
                    }
                }
                sub = conn.recv_subscription() => {
                    match sub {
                        Ok(SubscriptionEvent::Subscribe(topic)) => {
                            let welcome: JupyterMessage = IoPubWelcome::new(topic).into();
                            if let Err(e) = conn.send(welcome).await {
                                tracing::warn!("iopub_welcome failed: {e}");
                            }
                        }
                        Ok(SubscriptionEvent::Unsubscribe(_)) => {}
                        Err(e) => tracing::debug!("iopub subscription read: {e}"),
                    }
                }
            }
        }
    });
}
