//! Publishes what the runtime reports about the running cell: its stdout
//! and stderr as `stream` messages, its displays and clear-outputs, parented
//! to the request being executed, and keeps what the engine needs to end
//! the cell (did its own code panic, was it restored).
//!
//! Everything arrives as records (`runtime/record.rs`) on evcxr's stderr
//! channel, in the order the cell produced it; this thread decodes them
//! (evcxr hands us crossbeam receivers). The engine tells it which request
//! is current and asks it to [`Streams::flush_cell`] before it publishes a
//! reply, so every message of a cell goes out before that cell's `idle`.
//! Panics arrive as events from the session's panic hook. Those of the
//! cell's own thread are held back: the engine shows the one that failed
//! the cell (the runtime says which: evcxr's panic notification) as its
//! error and the others (caught panics) as stderr, on the cell's lines.
//! Other threads' panics are stderr of the cell running at that moment.

use std::collections::HashSet;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};
use jupyter_protocol::{
    ClearOutput, DisplayData, JupyterMessage, StreamContent, Transient, UpdateDisplayData,
};

use crate::iopub::Iopub;
use crate::runtime::record::{Event, NoSnapshot, Record, Stream};

/// How long stderr must stay quiet before a flush is complete when the pipe
/// cannot be looked at. Lines the runtime wrote before the cell ended are
/// already in the pipe; this covers the hop through evcxr's reader thread.
const STDERR_SETTLE: Duration = Duration::from_millis(8);
/// When the pipe is known to be empty: the reader thread may still hold
/// the last line it read.
const STDERR_HANDOFF: Duration = Duration::from_millis(1);
/// A flush never waits longer than this for a runtime that keeps writing.
const FLUSH_LIMIT: Duration = Duration::from_millis(500);
/// One stream message carries at most about this much text.
const BATCH: usize = 64 * 1024;

/// A panic, as the session's panic hook reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicReport {
    /// On the cell's own thread (the session's main thread).
    pub main: bool,
    /// evcxr's build number of the code that panicked (0: unknown).
    pub build: u64,
    /// The panicking thread's name.
    pub thread: String,
    /// `src/lib.rs:3:5`-style location, as Rust gives it.
    pub location: String,
    /// The panic message (may span lines).
    pub message: String,
}

impl PanicReport {
    /// The report as stderr text, with `location` in place of Rust's.
    pub fn as_text(&self, location: &str) -> String {
        format!(
            "thread '{}' panicked at {location}:\n{}\n",
            self.thread, self.message
        )
    }
}

/// How a cell whose process was interrupted or died ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The snapshot took over: the session is as before the cell.
    Restored {
        /// What happened.
        cause: String,
        /// False if the cell was stopped before it started.
        ran: bool,
    },
    /// Nothing could take over: evcxr starts a new process.
    Lost {
        /// What happened.
        cause: String,
        /// Why no snapshot could take over.
        why: NoSnapshot,
    },
}

/// What the engine learns at the end of a cell.
#[derive(Debug, Default)]
pub struct CellReport {
    /// The cell's own code panicked uncaught: its report.
    pub panic: Option<PanicReport>,
    /// The other panics while the cell ran (caught ones, other threads'),
    /// to show as stderr.
    pub others: Vec<PanicReport>,
    /// The cell was interrupted or its process died.
    pub ending: Option<Ending>,
    /// The session process had died before this cell (while none ran): why.
    pub died_before: Option<String>,
    /// A `?` in the cell's code returned early with an error.
    pub user_error: bool,
}

type ChildHandle = std::sync::Arc<std::sync::Mutex<std::process::Child>>;

/// Set when the session process ended between cells; taken by
/// [`take_session_died`].
static SESSION_DIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the session process ended between cells since the last call
/// (call after [`Streams::publish`], so every record so far is read).
pub fn take_session_died() -> bool {
    SESSION_DIED.swap(false, std::sync::atomic::Ordering::SeqCst)
}

enum Control {
    SetParent(Option<Box<JupyterMessage>>),
    SetChild(ChildHandle),
    /// With `true`, the runtime ran a cell: its ending record is waited for.
    Flush(std::sync::mpsc::Sender<CellReport>, bool),
    Publish(std::sync::mpsc::Sender<()>),
}

/// Handle to the forwarder thread.
#[derive(Clone)]
pub struct Streams {
    control: Sender<Control>,
}

impl Streams {
    /// Starts the forwarder for evcxr's output channels.
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

    /// The evaluation process (evcxr keeps the handle current across
    /// restarts), so a flush can look at its stderr pipe.
    pub fn set_child(&self, child: ChildHandle) {
        let _ = self.control.send(Control::SetChild(child));
    }

    /// Publishes everything the runtime has reported so far and returns what
    /// the engine needs to end the cell.
    pub fn flush_cell(&self) -> CellReport {
        self.flush_cell_that(false)
    }

    /// [`Streams::flush_cell`] after the runtime ran a cell (evcxr's
    /// `Execution` phase): everything up to the cell's ending record
    /// (`Finished`, `Restored`, `Lost`) is published, waited for up to the
    /// flush limit. An empty pipe alone does not say the cell's last text
    /// arrived: evcxr's reader thread may hold lines it has read and not
    /// yet handed over (seen under load: a cell's last `println!` shown
    /// after its reply, which nbclient drops).
    pub fn flush_ran_cell(&self) -> CellReport {
        self.flush_cell_that(true)
    }

    fn flush_cell_that(&self, ran: bool) -> CellReport {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.control.send(Control::Flush(tx, ran)).is_err() {
            return CellReport::default();
        }
        rx.recv().unwrap_or_default()
    }

    /// Publishes everything the runtime has reported so far (a prompt
    /// before an input request), keeping what the cell's end needs.
    pub fn publish(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.control.send(Control::Publish(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Publishes everything so far and returns the panic that failed the
    /// code just run, if any (for code the magics run in the session).
    pub fn flush(&self) -> Option<PanicReport> {
        self.flush_cell().panic
    }
}

struct Forwarder {
    iopub: Iopub,
    parent: Option<JupyterMessage>,
    /// Panics, held until the cell's end (the engine shows them on the
    /// cell's lines); those that came after it are shown as they are when
    /// the next cell starts.
    held: Vec<PanicReport>,
    /// The runtime said the cell's own code panicked uncaught.
    panicked: bool,
    /// The runtime said a `?` of the cell returned early with an error.
    user_error: bool,
    ending: Option<Ending>,
    died: Option<String>,
    child: Option<ChildHandle>,
    probe: Option<crate::pipe_probe::StderrProbe>,
    /// Display ids shown so far (the next display with one updates it).
    shown: HashSet<String>,
    /// Text not yet published and its stream.
    batch: Option<(Stream, String)>,
    /// The running cell's ending record came (reset at each flush).
    ended: bool,
}

impl Forwarder {
    fn new(iopub: Iopub) -> Self {
        Forwarder {
            iopub,
            parent: None,
            held: Vec::new(),
            panicked: false,
            user_error: false,
            ending: None,
            died: None,
            child: None,
            probe: None,
            shown: HashSet::new(),
            batch: None,
            ended: false,
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
                    Ok(line) => {
                        self.text(Stream::Stdout, format!("{line}\n"));
                        self.publish();
                    }
                    Err(_) => return,
                },
                recv(stderr) -> line => match line {
                    Ok(line) => self.records(line, &stderr),
                    Err(_) => return,
                },
                recv(control) -> msg => match msg {
                    Ok(Control::SetParent(p)) => {
                        self.publish();
                        for report in std::mem::take(&mut self.held) {
                            self.text(Stream::Stderr, report.as_text(&report.location));
                        }
                        self.publish();
                        self.parent = p.map(|p| *p);
                        self.panicked = false;
                        self.user_error = false;
                        self.ending = None;
                    }
                    Ok(Control::SetChild(c)) => {
                        self.child = Some(c);
                        self.probe = None;
                    }
                    Ok(Control::Flush(reply, ran)) => {
                        while let Ok(line) = stdout.try_recv() {
                            self.text(Stream::Stdout, format!("{line}\n"));
                        }
                        self.drain_stderr(&stderr);
                        if ran {
                            self.until_ended(&stderr);
                        }
                        self.ended = false;
                        let _ = reply.send(self.cell_report());
                    }
                    Ok(Control::Publish(reply)) => {
                        while let Ok(line) = stdout.try_recv() {
                            self.text(Stream::Stdout, format!("{line}\n"));
                        }
                        self.drain_stderr(&stderr);
                        self.publish();
                        let _ = reply.send(());
                    }
                    Err(_) => return,
                },
            }
        }
    }

    /// Handles `first` and the records already queued behind it, then
    /// publishes (a loop printing 10,000 lines is a few messages, not 10,000).
    fn records(&mut self, first: String, more: &Receiver<String>) {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(line) = next.take() {
            taken += line.len();
            self.record(Record::decode(&line));
            if taken < BATCH {
                next = more.try_recv().ok();
            }
        }
        self.publish();
    }

    fn record(&mut self, record: Record) {
        match record {
            Record::Text {
                stream,
                mut text,
                newline,
            } => {
                if newline {
                    text.push('\n');
                }
                self.text(stream, text);
            }
            Record::Event(event) => self.event(event),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Panicked { .. } => self.panicked = true,
            Event::UserError => self.user_error = true,
            Event::Panic {
                main,
                build,
                thread,
                location,
                message,
            } => {
                // The cells' shared libstd never ran its own start-up, so it
                // does not know its main thread's name.
                let thread = if main && thread == "<unnamed>" {
                    "main".to_string()
                } else {
                    thread
                };
                let report = PanicReport {
                    main,
                    build,
                    thread,
                    location,
                    message,
                };
                self.held.push(report);
            }
            Event::Display { mime, id, content } => {
                self.publish();
                self.send_display(&mime, id, &content);
            }
            Event::ClearOutput { wait } => {
                self.publish();
                if let Some(parent) = &self.parent {
                    self.iopub.send(ClearOutput { wait }.as_child_of(parent));
                }
            }
            Event::Finished { snapshot } => {
                self.ended = true;
                match snapshot {
                    Ok(micros) => {
                        tracing::debug!("snapshot taken in {:.3} ms", micros as f64 / 1e3)
                    }
                    Err(why) => tracing::debug!("no snapshot: {why:?}"),
                }
            }
            Event::Restored { cause, ran } => {
                self.ended = true;
                self.ending = Some(Ending::Restored { cause, ran });
            }
            Event::Lost { cause, why } => {
                self.ended = true;
                self.ending = Some(Ending::Lost { cause, why });
            }
            Event::Died { cause } => {
                tracing::warn!("the session process ended between cells: {cause}");
                // What it published and what the magics kept of its
                // variables are no longer the session's.
                crate::runtime::environment::forget_published();
                SESSION_DIED.store(true, std::sync::atomic::Ordering::SeqCst);
                self.died = Some(cause);
            }
            Event::Notice { text } => {
                tracing::warn!("{text}");
                self.text(Stream::Stderr, format!("{text}\n"));
            }
        }
    }

    fn cell_report(&mut self) -> CellReport {
        self.publish();
        let mut others = std::mem::take(&mut self.held);
        let panic = if std::mem::take(&mut self.panicked) {
            // The last panic of the cell's thread; none if the cell replaced
            // the panic hook.
            let last = others.iter().rposition(|p| p.main);
            Some(last.map(|i| others.remove(i)).unwrap_or_else(|| {
                PanicReport {
                    main: true,
                    build: 0,
                    thread: "main".into(),
                    location: "an unknown location".into(),
                    message:
                        "the cell panicked (it replaced the panic hook, so the message is unknown)"
                            .into(),
                }
            }))
        } else {
            None
        };
        CellReport {
            panic,
            others,
            ending: self.ending.take(),
            died_before: self.died.take(),
            user_error: std::mem::take(&mut self.user_error),
        }
    }

    /// Adds text to the batch (publishing the batch of the other stream first).
    fn text(&mut self, stream: Stream, text: String) {
        match &mut self.batch {
            Some((s, batch)) if *s == stream && batch.len() < BATCH => batch.push_str(&text),
            _ => {
                self.publish();
                self.batch = Some((stream, text));
            }
        }
    }

    /// Publishes the batch as one stream message (nothing when no request is current).
    fn publish(&mut self) {
        let Some((stream, text)) = self.batch.take() else {
            return;
        };
        let Some(parent) = &self.parent else {
            return;
        };
        if text.is_empty() {
            return;
        }
        let content = match stream {
            Stream::Stdout => StreamContent::stdout(&text),
            Stream::Stderr => StreamContent::stderr(&text),
        };
        self.iopub.send(content.as_child_of(parent));
    }

    /// Publishes a display: new, or an update of the display with the same
    /// id shown before.
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

    /// Bytes waiting in the runtime's stderr pipe, if that can be known.
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

    /// Handles stderr records until everything the runtime wrote is out.
    /// After [`Forwarder::drain_stderr`]: records until the cell's ending
    /// one, within [`FLUSH_LIMIT`].
    fn until_ended(&mut self, stderr: &Receiver<String>) {
        let started = std::time::Instant::now();
        while !self.ended {
            let Some(left) = FLUSH_LIMIT.checked_sub(started.elapsed()) else {
                tracing::debug!("the cell's ending record did not come in time");
                return;
            };
            match stderr.recv_timeout(left) {
                Ok(line) => self.record(Record::decode(&line)),
                Err(_) => return,
            }
        }
    }

    fn drain_stderr(&mut self, stderr: &Receiver<String>) {
        let started = std::time::Instant::now();
        loop {
            while let Ok(line) = stderr.try_recv() {
                self.record(Record::decode(&line));
            }
            let wait = match self.stderr_pending() {
                Some(0) => STDERR_HANDOFF,
                _ => STDERR_SETTLE,
            };
            match stderr.recv_timeout(wait) {
                Ok(line) => self.record(Record::decode(&line)),
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
}
