//! Serves one kernel connection: binds the five sockets, runs one task per
//! channel and routes requests.
//!
//! - heartbeat: echoes, always (its own task).
//! - control: kernel_info, interrupt, shutdown — answered even while a cell
//!   runs, because cells run on the engine thread, never here.
//! - shell: quick requests (kernel_info, is_complete, history, comm_info) are
//!   answered inline; execute/complete/inspect go to the engine's queue.
//! - iopub: one writer task (see `iopub`).
//! - stdin: input requests from a running cell.
//!
//! A message that fails its HMAC check, or does not parse, is logged and
//! dropped; it is never executed and never ends a loop.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use jupyter_protocol::{
    CommInfoReply, ConnectionInfo, HistoryReply, InputReply, InputRequest, InterruptReply,
    IsCompleteReply, IsCompleteReplyStatus, JupyterMessage, JupyterMessageContent, ReplyStatus,
    ShutdownReply,
};
use jupyter_zmq_client::{
    Connection, KernelControlConnection, KernelStdinConnection, RouterRecvConnection,
    create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_xpub_connection, create_kernel_shell_connection,
    create_kernel_stdin_connection,
};
use tokio::sync::mpsc;

use crate::engine::{Engine, Outlets, Request};
use crate::history::History;
use crate::iopub::{self, Iopub};
use crate::is_complete::{self, Completeness};
use crate::kernel_info;
use crate::wire::{self, WireError};

/// The engine and the queues the sockets will drain, made before the
/// sockets exist: evcxr warms up while a kernel reads its connection file,
/// or while a standby waits (`standby`).
pub struct Prestart {
    engine: Engine,
    iopub: Iopub,
    iopub_queue: iopub::Queue,
    shell_tx: mpsc::UnboundedSender<JupyterMessage>,
    shell_rx: mpsc::UnboundedReceiver<JupyterMessage>,
    stdin_rx: mpsc::UnboundedReceiver<StdinRequest>,
    history: Arc<Mutex<History>>,
}

/// One input request from a cell and where its answer goes.
type StdinRequest = (
    JupyterMessage,
    String,
    bool,
    tokio::sync::oneshot::Sender<String>,
);

impl Prestart {
    /// Starts the engine thread (its warm-up begins at once).
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start() -> std::io::Result<Prestart> {
        let (iopub, iopub_queue) = iopub::channel();
        let (shell_tx, shell_rx) = mpsc::unbounded_channel::<JupyterMessage>();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        let history = Arc::new(Mutex::new(History::default()));
        let engine = Engine::start(Outlets {
            iopub: iopub.clone(),
            shell: shell_tx.clone(),
            stdin: stdin_tx,
            history: history.clone(),
        })?;
        Ok(Prestart {
            engine,
            iopub,
            iopub_queue,
            shell_tx,
            shell_rx,
            stdin_rx,
            history,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Reads the connection file and serves until a shutdown request.
pub async fn serve(connection_file: &Path, pre: Prestart) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(connection_file)
        .with_context(|| format!("reading connection file {}", connection_file.display()))?;
    let info: ConnectionInfo = serde_json::from_str(&text)
        .with_context(|| format!("parsing connection file {}", connection_file.display()))?;
    if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
        anyhow::bail!(
            "unsupported signature scheme {:?}: sluice signs with hmac-sha256",
            info.signature_scheme
        );
    }
    if info.key.is_empty() {
        tracing::warn!("the connection file has an empty key: messages are not authenticated");
    }
    kernel_info::probe_rustc();
    let session = uuid::Uuid::new_v4().to_string();
    let Prestart {
        engine,
        iopub,
        iopub_queue,
        shell_tx,
        mut shell_rx,
        stdin_rx,
        history,
    } = pre;

    let mut heartbeat = create_kernel_heartbeat_connection(&info).await?;
    let shell = create_kernel_shell_connection(&info, &session).await?;
    let control = create_kernel_control_connection(&info, &session).await?;
    let stdin = create_kernel_stdin_connection(&info, &session).await?;
    iopub::spawn(
        create_kernel_iopub_xpub_connection(&info, &session).await?,
        iopub_queue,
    );

    tokio::spawn(async move {
        // The spec says echo; the crate's helper answers "pong", so echo here.
        use zeromq::{SocketRecv as _, SocketSend as _};
        while let Ok(ping) = heartbeat.socket.recv().await {
            if let Err(e) = heartbeat.socket.send(ping).await {
                tracing::warn!("heartbeat send failed: {e}");
            }
        }
        tracing::warn!("heartbeat socket closed");
    });

    let (mut shell_send, shell_recv) = shell.split();
    tokio::spawn(async move {
        while let Some(msg) = shell_rx.recv().await {
            if let Err(e) = shell_send.send(msg).await {
                tracing::warn!("shell send failed: {e}");
            }
        }
    });

    tokio::spawn(serve_stdin(stdin, stdin_rx));

    let (shutdown_tx, mut shutdown_rx) = mpsc::unbounded_channel::<()>();
    let runtime = engine.interrupter();
    tokio::spawn(serve_control(
        control,
        iopub.clone(),
        engine.interrupter(),
        shutdown_tx.clone(),
    ));
    let shell_loop = tokio::spawn(serve_shell(
        shell_recv,
        Shell {
            iopub: iopub.clone(),
            replies: shell_tx,
            engine,
            history,
            shutdown: shutdown_tx,
        },
    ));

    shutdown_rx.recv().await;
    shell_loop.abort();
    // End the evaluation runtime and the session's processes (evcxr may
    // start a new runtime if a cell was running: end that one too).
    let _ = tokio::task::spawn_blocking(move || {
        for _ in 0..3 {
            runtime.retire();
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
    })
    .await;
    // The next kernel's standby starts now if none waits (a notebook run
    // by nbconvert never leaves its kernel idle; the idle one may have left).
    // (It may wait a moment for a standby it sends away: off the runtime.)
    let _ = tokio::task::spawn_blocking(crate::standby::ensure_at_shutdown).await;
    // Let the shutdown reply and the last status leave before the process ends.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    Ok(())
}

/// What the shell loop needs.
struct Shell {
    iopub: Iopub,
    replies: mpsc::UnboundedSender<JupyterMessage>,
    engine: Engine,
    history: Arc<Mutex<History>>,
    shutdown: mpsc::UnboundedSender<()>,
}

/// Reads the next request, logging and skipping the ones that must be
/// dropped (bad signature, unreadable). Socket errors back off briefly.
async fn next_request<S: zeromq::SocketRecv>(
    conn: &mut Connection<S>,
    channel: &str,
) -> JupyterMessage {
    loop {
        match wire::read(conn).await {
            Ok(msg) => return msg,
            Err(e @ WireError::Socket(_)) => {
                tracing::error!("{channel}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => tracing::warn!("{channel}: dropped a message: {e}"),
        }
    }
}

async fn serve_shell(mut recv: RouterRecvConnection, shell: Shell) {
    loop {
        let msg = next_request(&mut recv, "shell").await;
        handle_shell(&shell, msg);
    }
}

fn handle_shell(shell: &Shell, msg: JupyterMessage) {
    let reply = |content: JupyterMessage| {
        let _ = shell.replies.send(content);
    };
    match &msg.content {
        JupyterMessageContent::ExecuteRequest(req) => {
            let req = req.clone();
            shell.engine.interrupter().queued();
            if !shell.engine.submit(Request::Execute(msg, req)) {
                tracing::error!("engine thread is gone");
            }
        }
        JupyterMessageContent::CompleteRequest(req) => {
            let req = req.clone();
            shell.engine.submit(Request::Complete(msg, req));
        }
        JupyterMessageContent::InspectRequest(req) => {
            let req = req.clone();
            shell.engine.submit(Request::Inspect(msg, req));
        }
        JupyterMessageContent::KernelInfoRequest(_) => {
            shell.iopub.busy(&msg);
            reply(kernel_info::reply().as_child_of(&msg));
            shell.iopub.idle(&msg);
        }
        JupyterMessageContent::IsCompleteRequest(req) => {
            shell.iopub.busy(&msg);
            let (status, indent) = match is_complete::check(&req.code) {
                Completeness::Complete => (IsCompleteReplyStatus::Complete, String::new()),
                Completeness::Incomplete(indent) => (IsCompleteReplyStatus::Incomplete, indent),
                Completeness::Invalid => (IsCompleteReplyStatus::Invalid, String::new()),
            };
            reply(IsCompleteReply { status, indent }.as_child_of(&msg));
            shell.iopub.idle(&msg);
        }
        JupyterMessageContent::HistoryRequest(req) => {
            shell.iopub.busy(&msg);
            let history = shell
                .history
                .lock()
                .map(|h| h.query(req))
                .unwrap_or_default();
            reply(
                HistoryReply {
                    history,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(&msg),
            );
            shell.iopub.idle(&msg);
        }
        JupyterMessageContent::CommInfoRequest(_) => {
            shell.iopub.busy(&msg);
            reply(CommInfoReply::default().as_child_of(&msg));
            shell.iopub.idle(&msg);
        }
        JupyterMessageContent::ShutdownRequest(req) => {
            // Deprecated on shell, still honoured.
            reply(
                ShutdownReply {
                    restart: req.restart,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(&msg),
            );
            let _ = shell.shutdown.send(());
        }
        JupyterMessageContent::CommOpen(_)
        | JupyterMessageContent::CommMsg(_)
        | JupyterMessageContent::CommClose(_) => {
            tracing::debug!("comm message ignored: sluice has no comm targets");
        }
        other => tracing::info!("shell: unhandled {}", other.message_type()),
    }
}

async fn serve_control(
    mut control: KernelControlConnection,
    iopub: Iopub,
    interrupter: crate::engine::Interrupter,
    shutdown: mpsc::UnboundedSender<()>,
) {
    loop {
        let msg = next_request(&mut control, "control").await;
        iopub.busy(&msg);
        let reply: Option<JupyterMessage> = match &msg.content {
            JupyterMessageContent::KernelInfoRequest(_) => {
                Some(kernel_info::reply().as_child_of(&msg))
            }
            JupyterMessageContent::InterruptRequest(_) => {
                let i = interrupter.clone();
                let stopped = tokio::task::spawn_blocking(move || i.interrupt()).await;
                tracing::info!(
                    "interrupt: {}",
                    if matches!(stopped, Ok(true)) {
                        "stopped the running cell"
                    } else {
                        "nothing was running"
                    }
                );
                Some(InterruptReply::new().as_child_of(&msg))
            }
            JupyterMessageContent::ShutdownRequest(req) => {
                let reply = ShutdownReply {
                    restart: req.restart,
                    status: ReplyStatus::Ok,
                    error: None,
                }
                .as_child_of(&msg);
                if let Err(e) = control.send(reply).await {
                    tracing::warn!("control send failed: {e}");
                }
                iopub.idle(&msg);
                let _ = shutdown.send(());
                return;
            }
            other => {
                tracing::info!("control: unhandled {}", other.message_type());
                None
            }
        };
        if let Some(reply) = reply
            && let Err(e) = control.send(reply).await
        {
            tracing::warn!("control send failed: {e}");
        }
        iopub.idle(&msg);
    }
}

/// Input requests from a running cell: send `input_request`, wait for the
/// reply to it; stop waiting when the cell gives up (interrupt).
async fn serve_stdin(
    mut stdin: KernelStdinConnection,
    mut asks: mpsc::UnboundedReceiver<StdinRequest>,
) {
    while let Some((parent, prompt, password, mut answer)) = asks.recv().await {
        let request = InputRequest { prompt, password }.as_child_of(&parent);
        let request_id = request.header.msg_id.clone();
        if let Err(e) = stdin.send(request).await {
            tracing::warn!("stdin send failed: {e}");
            continue;
        }
        let value = loop {
            tokio::select! {
                msg = next_request(&mut stdin, "stdin") => {
                    let for_this = msg
                        .parent_header
                        .as_ref()
                        .is_none_or(|h| h.msg_id == request_id);
                    if let JupyterMessageContent::InputReply(InputReply { value, .. }) = msg.content
                        && for_this
                    {
                        break Some(value);
                    }
                }
                _ = answer.closed() => break None,
            }
        };
        if let Some(value) = value {
            let _ = answer.send(value);
        }
    }
}
