//! The session's stdout and stderr, read by the supervisor while cells run
//! and between them.
//!
//! stdout bytes are split into the session's frames and the cell's text
//! (`frames.rs`); text becomes lines (`utf8.rs`) that evcxr's protocol
//! sorts into markers for evcxr and text for the kernel
//! (`evcxr_protocol.rs`). Text after the last newline is shown as soon as
//! the pipe is empty, so `print!("\r50 %")` plus `flush()` shows at once.
//! The cell's values (content frames) wait for the cell's end, when evcxr
//! collects them.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::to_evcxr::ToEvcxr;
use crate::runtime::evcxr_protocol::{Action, BEGIN_CONTENT, END_CONTENT, StdoutProtocol};
use crate::runtime::fds;
use crate::runtime::frames::{self, Kind, Piece, Scanner};
use crate::runtime::record::{Event, Stream};
use crate::runtime::utf8::Utf8Lines;

/// At most this much is read from one pipe per turn of the event loop.
const TURN_LIMIT: usize = 1 << 20;

/// What the cell's stdout told the supervisor besides text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// evcxr's panic notification went by.
    pub panicked: bool,
    /// The cell's code asked evcxr for input (`evcxr_input`).
    pub input_requested: bool,
    /// A `?` in the cell's code returned early with an error.
    pub user_error: bool,
}

/// Readers of the session's stdout and stderr.
#[derive(Debug)]
pub struct Output {
    stdout: OwnedFd,
    stderr: OwnedFd,
    frames: Scanner,
    out_text: Utf8Lines,
    err_text: Utf8Lines,
    protocol: StdoutProtocol,
    /// The cell's values, for evcxr at the cell's end (last per MIME type wins there).
    content: Vec<(String, String)>,
    /// Rust's allocation-failure message, if the cell printed one.
    pub alloc_failure: Option<String>,
    /// The stderr line being written, including parts already shown (Rust
    /// writes a line to stderr in several writes).
    stderr_line: String,
    /// What stdout told since the supervisor last asked.
    signals: Signals,
    /// A cell is running. Between cells evcxr reads nothing: markers are
    /// text then, and values are dropped, so nothing reaches a later cell.
    running: bool,
}

impl Output {
    /// Readers for the read ends of the session's stdout and stderr pipes.
    pub fn new(stdout: OwnedFd, stderr: OwnedFd, token: &str) -> io::Result<Output> {
        fds::set_nonblocking(stdout.as_raw_fd(), true)?;
        fds::set_nonblocking(stderr.as_raw_fd(), true)?;
        Ok(Output {
            stdout,
            stderr,
            frames: Scanner::new(token),
            out_text: Utf8Lines::default(),
            err_text: Utf8Lines::default(),
            protocol: StdoutProtocol::default(),
            content: Vec::new(),
            alloc_failure: None,
            stderr_line: String::new(),
            signals: Signals::default(),
            running: false,
        })
    }

    /// The descriptors to poll: stdout, stderr.
    pub fn fds(&self) -> (i32, i32) {
        (self.stdout.as_raw_fd(), self.stderr.as_raw_fd())
    }

    /// Reads what stdout has now.
    pub fn read_stdout(&mut self, to: &mut ToEvcxr) {
        let bytes = fds::read_available(self.stdout.as_raw_fd(), TURN_LIMIT).unwrap_or_default();
        let mut pieces = Vec::new();
        self.frames.push(&bytes, &mut pieces);
        for piece in pieces {
            match piece {
                Piece::Bytes(b) => {
                    let mut lines = Vec::new();
                    self.out_text.push(&b, &mut lines);
                    for line in lines {
                        self.stdout_line(line, to);
                    }
                }
                Piece::Frame(kind, payload) => {
                    self.show_partial_stdout(to);
                    self.frame(kind, &payload, to);
                }
            }
        }
        self.show_partial_stdout(to);
    }

    /// What stdout told (a panic, an input request) since the last call.
    pub fn take_signals(&mut self) -> Signals {
        std::mem::take(&mut self.signals)
    }

    /// Reads what stderr has now.
    pub fn read_stderr(&mut self, to: &mut ToEvcxr) {
        let bytes = fds::read_available(self.stderr.as_raw_fd(), TURN_LIMIT).unwrap_or_default();
        let mut lines = Vec::new();
        self.err_text.push(&bytes, &mut lines);
        for line in lines {
            let whole = std::mem::take(&mut self.stderr_line) + &line;
            if crate::runtime::cause::is_alloc_failure(&whole) {
                self.alloc_failure = Some(whole);
            }
            to.text(Stream::Stderr, line, true);
        }
        if let Some(rest) = self.err_text.take_partial() {
            self.stderr_line.push_str(&rest);
            to.text(Stream::Stderr, rest, false);
        }
    }

    /// Reads both pipes until they are empty.
    pub fn drain(&mut self, to: &mut ToEvcxr) {
        loop {
            let (out, err) = self.fds();
            if fds::pending(out) == 0 && fds::pending(err) == 0 {
                return;
            }
            self.read_stdout(to);
            self.read_stderr(to);
        }
    }

    /// A cell starts: evcxr reads stdout from now on.
    pub fn begin_cell(&mut self, to: &mut ToEvcxr) {
        if let Some(rest) = self.out_text.take_partial() {
            to.text(Stream::Stdout, rest, false);
        }
        self.protocol.reset();
        self.running = true;
    }

    /// The cell ended: held bytes are text, unfinished sequences U+FFFD, an
    /// open content block is closed, and the cell's values go to evcxr.
    pub fn finish_cell(&mut self, to: &mut ToEvcxr) {
        let mut pieces = Vec::new();
        self.frames.finish(&mut pieces);
        for piece in pieces {
            if let Piece::Bytes(b) = piece {
                let mut lines = Vec::new();
                self.out_text.push(&b, &mut lines);
                for line in lines {
                    self.stdout_line(line, to);
                }
            }
        }
        let mut actions = Vec::new();
        self.protocol.finish(self.out_text.finish(), &mut actions);
        for action in actions {
            apply(action, to, &mut self.signals);
        }
        if let Some(rest) = self.err_text.finish() {
            to.text(Stream::Stderr, rest, false);
        }
        for (mime, content) in self.content.drain(..) {
            to.line(&format!("{BEGIN_CONTENT} {mime}"));
            for line in content.lines() {
                to.line(line);
            }
            to.line(END_CONTENT);
        }
        self.alloc_failure = None;
        self.stderr_line.clear();
        self.running = false;
    }

    /// The writer died: a frame it was writing never ends.
    pub fn forget_unfinished_frame(&mut self) {
        self.frames.reset();
        self.protocol.reset();
    }

    fn stdout_line(&mut self, line: String, to: &mut ToEvcxr) {
        if !self.running {
            to.text(Stream::Stdout, line, true);
            return;
        }
        let mut actions = Vec::new();
        self.protocol.line(line, &mut actions);
        for action in actions {
            apply(action, to, &mut self.signals);
        }
    }

    fn show_partial_stdout(&mut self, to: &mut ToEvcxr) {
        if self.protocol.shows_partial_lines()
            && let Some(rest) = self.out_text.take_partial()
        {
            to.text(Stream::Stdout, rest, false);
        }
    }

    fn frame(&mut self, kind: Kind, payload: &[u8], to: &mut ToEvcxr) {
        match kind {
            Kind::Display => {
                let (mime, id, content) = frames::split_display(payload);
                to.event(Event::Display { mime, id, content });
            }
            Kind::Clear => to.event(Event::ClearOutput {
                wait: payload == b"wait",
            }),
            Kind::Content if self.running => self.content.push(frames::split_content(payload)),
            Kind::Content => {}
            Kind::Panic => {
                let p = frames::split_panic(payload);
                to.event(Event::Panic {
                    main: p.main,
                    build: p.build,
                    thread: p.thread,
                    location: p.location,
                    message: p.message,
                });
            }
        }
    }
}

fn apply(action: Action, to: &mut ToEvcxr, signals: &mut Signals) {
    match action {
        Action::ToEvcxr(line) => to.line(&line),
        Action::Text(text, newline) => to.text(Stream::Stdout, text, newline),
        Action::Panicked => signals.panicked = true,
        Action::InputRequested => signals.input_requested = true,
        Action::UserError => signals.user_error = true,
    }
}
