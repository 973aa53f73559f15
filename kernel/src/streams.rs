//! Forwards the evaluation child's stdout and stderr to iopub as `stream`
//! messages, parented to the request being executed.
//!
//! Runs on its own thread (evcxr hands us crossbeam receivers). The engine
//! tells it which request is current and asks it to [`Streams::flush`] before
//! it publishes a reply, so every stream message of a cell goes out before
//! that cell's `idle`. The forwarder also notices panic reports on stderr,
//! so a panicking cell becomes an error instead of a silent "ok", and turns
//! what the session's `sluice` module prints for the kernel (clear-output
//! lines, display blocks: `session_output.rs`) into messages, in order with
//! the text around them.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use std::collections::HashSet;

use jupyter_protocol::{
    ClearOutput, DisplayData, JupyterMessage, StreamContent, Transient, UpdateDisplayData,
};

use crate::iopub::Iopub;
use crate::session_output::{Event, SessionOutput};

/// How long stderr must stay quiet before a flush is complete when the pipe
/// cannot be looked at. Lines the child wrote before it finished are
/// already in the pipe; this covers the hop through evcxr's reader thread.
const STDERR_SETTLE: Duration = Duration::from_millis(8);
/// When the pipe is known to be empty: the reader thread may still hold
/// the last line it read.
const STDERR_HANDOFF: Duration = Duration::from_millis(1);
/// A flush never waits longer than this for a child that keeps writing.
const FLUSH_LIMIT: Duration = Duration::from_millis(500);

/// A panic seen on the child's stderr during the current cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicReport {
    /// `src/lib.rs:3:5`-style location, as the panic hook printed it.
    pub location: String,
    /// The panic message (may span lines).
    pub message: String,
}

type ChildHandle = std::sync::Arc<std::sync::Mutex<std::process::Child>>;

enum Control {
    SetParent(Option<Box<JupyterMessage>>),
    SetChild(ChildHandle),
    Flush(std::sync::mpsc::Sender<Option<PanicReport>>),
}

/// Handle to the forwarder thread.
#[derive(Clone)]
pub struct Streams {
    control: Sender<Control>,
}

impl Streams {
    /// Starts the forwarder for the given child output channels.
    pub fn start(stdout: Receiver<String>, stderr: Receiver<String>, iopub: Iopub) -> Streams {
        let (control, control_rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("sluice-streams".into())
            .spawn(move || Forwarder::new(iopub).run(stdout, stderr, control_rx))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the stream forwarder: {e}"));
        Streams { control }
    }

    /// Output from now on belongs to `parent` (None: discard, e.g. warm-up).
    pub fn set_parent(&self, parent: Option<JupyterMessage>) {
        let _ = self.control.send(Control::SetParent(parent.map(Box::new)));
    }

    /// The evaluation child (evcxr keeps the handle current across restarts),
    /// so a flush can look at its stderr pipe.
    pub fn set_child(&self, child: ChildHandle) {
        let _ = self.control.send(Control::SetChild(child));
    }

    /// Publishes everything the child has written so far and returns a panic
    /// seen since the parent was set, if any.
    pub fn flush(&self) -> Option<PanicReport> {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.control.send(Control::Flush(tx)).is_err() {
            return None;
        }
        rx.recv().ok().flatten()
    }
}

struct Forwarder {
    iopub: Iopub,
    parent: Option<JupyterMessage>,
    panic: Option<PanicReport>,
    /// Where we are inside a panic report on stderr.
    report: ReportState,
    child: Option<ChildHandle>,
    probe: Option<crate::pipe_probe::StderrProbe>,
    /// Reads the session's clear-output lines and display blocks.
    session: SessionOutput,
    /// Display ids shown so far (the next display with one updates it).
    shown: HashSet<String>,
}

impl Forwarder {
    fn new(iopub: Iopub) -> Self {
        Forwarder {
            iopub,
            parent: None,
            panic: None,
            report: ReportState::Outside,
            child: None,
            probe: None,
            session: SessionOutput::default(),
            shown: HashSet::new(),
        }
    }

    /// Bytes waiting in the child's stderr pipe, if that can be known.
    fn stderr_pending(&mut self) -> Option<usize> {
        let pid = self.child.as_ref()?.lock().ok()?.id();
        if self.probe.as_ref().is_none_or(|p| p.pid != pid) {
            self.probe = crate::pipe_probe::StderrProbe::for_child(pid);
        }
        let pending = self.probe.as_ref()?.pending();
        if pending.is_none() {
            self.probe = None;
        }
        pending
    }

    /// Forwards stderr until everything the child wrote is out.
    fn drain_stderr(&mut self, stderr: &Receiver<String>) {
        let started = std::time::Instant::now();
        loop {
            while let Ok(line) = stderr.try_recv() {
                self.forward_batch(true, line, stderr);
            }
            let wait = match self.stderr_pending() {
                Some(0) => STDERR_HANDOFF,
                _ => STDERR_SETTLE,
            };
            match stderr.recv_timeout(wait) {
                Ok(line) => self.forward_batch(true, line, stderr),
                Err(RecvTimeoutError::Timeout) => {
                    // Quiet with the pipe empty, or quiet for the settle time
                    // when the pipe cannot be seen: done. Bytes still in the
                    // pipe: the reader thread is behind; wait for them.
                    if wait == STDERR_HANDOFF || self.stderr_pending().is_none_or(|n| n == 0) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if started.elapsed() > FLUSH_LIMIT {
                return;
            }
        }
    }

    fn run(
        mut self,
        stdout: Receiver<String>,
        stderr: Receiver<String>,
        control: Receiver<Control>,
    ) {
        loop {
            select! {
                recv(stdout) -> line => match line {
                    Ok(line) => self.forward_batch(false, line, &stdout),
                    Err(_) => return,
                },
                recv(stderr) -> line => match line {
                    Ok(line) => self.forward_batch(true, line, &stderr),
                    Err(_) => return,
                },
                recv(control) -> msg => match msg {
                    Ok(Control::SetParent(p)) => {
                        self.parent = p.map(|p| *p);
                        self.panic = None;
                        self.report = ReportState::Outside;
                        self.session = SessionOutput::default();
                    }
                    Ok(Control::SetChild(c)) => {
                        self.child = Some(c);
                        self.probe = None;
                    }
                    Ok(Control::Flush(reply)) => {
                        while let Ok(line) = stdout.try_recv() {
                            self.forward_batch(false, line, &stdout);
                        }
                        // A display block the cell never ended is its text.
                        if let Some(mut text) = self.session.take_open() {
                            self.send_stream(false, &mut text);
                        }
                        self.drain_stderr(&stderr);
                        let _ = reply.send(self.panic.take());
                    }
                    Err(_) => return,
                },
            }
        }
    }

    /// Sends `first` and whatever else is already queued on the same channel
    /// as one stream message (a loop printing 10,000 lines is not 10,000
    /// messages); a clear-output line splits the batch where it stands.
    fn forward_batch(&mut self, is_err: bool, first: String, more: &Receiver<String>) {
        let mut text = String::new();
        let mut next = Some(first);
        while let Some(line) = next.take() {
            let event = if is_err {
                Event::Text
            } else {
                self.session.line(&line)
            };
            match event {
                Event::Text => self.take_line(is_err, &line, &mut text),
                Event::Consumed => {}
                Event::ClearOutput { wait } => {
                    self.send_stream(is_err, &mut text);
                    if let Some(parent) = &self.parent {
                        self.iopub.send(ClearOutput { wait }.as_child_of(parent));
                    }
                }
                Event::Display { mime, id, content } => {
                    self.send_stream(is_err, &mut text);
                    self.send_display(&mime, id, &content);
                }
            }
            if text.len() < 64 * 1024 {
                next = more.try_recv().ok();
            }
        }
        self.send_stream(is_err, &mut text);
    }

    /// Publishes a display block: new, or an update of the display with the
    /// same id shown before.
    fn send_display(&mut self, mime: &str, id: Option<String>, content: &str) {
        let Some(parent) = &self.parent else {
            return;
        };
        let data = crate::display::bundle(mime, content);
        let msg = match id {
            Some(id) if self.shown.contains(&id) => {
                UpdateDisplayData::new(data, &id).as_child_of(parent)
            }
            Some(id) => {
                let mut d = DisplayData::new(data);
                d.transient = Some(Transient {
                    display_id: Some(id.clone()),
                });
                self.shown.insert(id);
                d.as_child_of(parent)
            }
            None => DisplayData::new(data).as_child_of(parent),
        };
        self.iopub.send(msg);
    }

    /// Publishes the batch as one stream message (nothing when it is empty
    /// or no request is current) and empties it.
    fn send_stream(&mut self, is_err: bool, text: &mut String) {
        let batch = std::mem::take(text);
        let Some(parent) = &self.parent else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let content = if is_err {
            StreamContent::stderr(&batch)
        } else {
            StreamContent::stdout(&batch)
        };
        self.iopub.send(content.as_child_of(parent));
    }

    /// Appends a line to the batch, except the lines of a panic report: the
    /// cell's error shows those.
    fn take_line(&mut self, is_err: bool, line: &str, text: &mut String) {
        if is_err && self.watch_for_panic(line) {
            return;
        }
        text.push_str(line);
        text.push('\n');
    }

    /// Records panic reports; true if `line` belongs to one.
    fn watch_for_panic(&mut self, line: &str) -> bool {
        if let Some(location) = parse_panic_header(line) {
            self.panic = Some(PanicReport {
                location,
                message: String::new(),
            });
            self.report = ReportState::Message;
            return true;
        }
        let ends_report = line.starts_with("note: ") && line.contains("RUST_BACKTRACE");
        match self.report {
            ReportState::Outside => false,
            _ if ends_report => {
                self.report = ReportState::Outside;
                true
            }
            ReportState::Message if line == "stack backtrace:" => {
                self.report = ReportState::Backtrace;
                true
            }
            ReportState::Message => {
                if let Some(p) = &mut self.panic {
                    if !p.message.is_empty() {
                        p.message.push('\n');
                    }
                    p.message.push_str(line);
                }
                true
            }
            ReportState::Backtrace => true,
        }
    }
}

/// Position inside the default panic hook's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportState {
    Outside,
    Message,
    Backtrace,
}

/// `thread 'main' panicked at src/lib.rs:3:5:` → `src/lib.rs:3:5`.
fn parse_panic_header(line: &str) -> Option<String> {
    if !line.starts_with("thread '") {
        return None;
    }
    let at = line.find(" panicked at ")?;
    let location = &line[at + " panicked at ".len()..];
    Some(location.trim_end_matches(':').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_header_gives_location() {
        assert_eq!(
            parse_panic_header("thread '<unnamed>' panicked at src/lib.rs:42:5:"),
            Some("src/lib.rs:42:5".to_string())
        );
        assert_eq!(
            parse_panic_header("thread '<unnamed>' (14234) panicked at src/lib.rs:6:1:"),
            Some("src/lib.rs:6:1".to_string())
        );
        assert_eq!(parse_panic_header("hello panicked at"), None);
    }
}
