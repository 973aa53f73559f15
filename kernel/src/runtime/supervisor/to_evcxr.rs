//! The supervisor's two pipes to evcxr: stdout (evcxr's protocol only) and
//! stderr (records for the kernel). Writes are gathered and sent once per
//! turn of the event loop; stderr always goes first, so everything a cell
//! produced is in the stderr pipe before evcxr reads the line that ends it.

use std::os::fd::RawFd;

use crate::runtime::fds;
use crate::runtime::record::{Event, Record, Stream};

/// Buffered writers for evcxr's stdout and stderr.
#[derive(Debug)]
pub struct ToEvcxr {
    out_fd: RawFd,
    err_fd: RawFd,
    out: Vec<u8>,
    err: Vec<u8>,
}

impl ToEvcxr {
    /// Writers for the given descriptors (the supervisor's own 1 and 2).
    pub fn new(out_fd: RawFd, err_fd: RawFd) -> ToEvcxr {
        ToEvcxr {
            out_fd,
            err_fd,
            out: Vec::new(),
            err: Vec::new(),
        }
    }

    /// A protocol line for evcxr's stdout.
    pub fn line(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.push(b'\n');
    }

    /// Raw bytes for evcxr's stdout (the abort line).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A record for the kernel.
    pub fn record(&mut self, record: &Record) {
        self.err.extend_from_slice(record.encode().as_bytes());
        self.err.push(b'\n');
    }

    /// Text the cell wrote.
    pub fn text(&mut self, stream: Stream, text: String, newline: bool) {
        self.record(&Record::Text {
            stream,
            text,
            newline,
        });
    }

    /// An event for the kernel.
    pub fn event(&mut self, event: Event) {
        self.record(&Record::Event(event));
    }

    /// Sends what was gathered: stderr first. A failed write means evcxr is
    /// gone; its closed stdin ends the supervisor.
    pub fn flush(&mut self) {
        if !self.err.is_empty() {
            let _ = fds::write_all(self.err_fd, &self.err);
            self.err.clear();
        }
        if !self.out.is_empty() {
            let _ = fds::write_all(self.out_fd, &self.out);
            self.out.clear();
        }
    }
}
