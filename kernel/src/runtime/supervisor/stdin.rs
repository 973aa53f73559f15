//! The session's stdin: a pipe only the supervisor writes to, filled one
//! answer at a time.
//!
//! When a cell reads its stdin and the pipe is empty, the read waits (it is
//! trapped, `stdin_trap.rs`) while the supervisor asks evcxr for input with
//! evcxr's own `EVCXR_INPUT_REQUEST:` line. The kernel's input callback
//! sends an `input_request` when the front end allows stdin, or answers
//! end-of-file at once; the answer goes into the pipe and the read goes
//! ahead. Reads between cells, or from descriptors that are not this pipe,
//! are never held. What a cell did not read is dropped when it ends.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::to_evcxr::ToEvcxr;
use crate::runtime::evcxr_protocol::INPUT_REQUEST;
use crate::runtime::fds;
use crate::runtime::stdin_trap::{ReadCall, StdinTrap};

/// The session's stdin.
#[derive(Debug)]
pub struct Stdin {
    trap: Option<StdinTrap>,
    /// The supervisor's write end.
    write: OwnedFd,
    /// A read end of the supervisor's own, to see and drop what is left.
    read: OwnedFd,
    /// `pipe:[inode]`, to know a trapped read is on this pipe.
    id: Option<String>,
    /// Reads waiting for an answer.
    waiting: VecDeque<ReadCall>,
    /// An input request is out (ours, or the cell's own `evcxr_input`).
    asked: bool,
}

impl Stdin {
    /// The stdin of a session; `trap`: None when reads cannot be trapped
    /// (the session's stdin is then /dev/null).
    pub fn new(trap: Option<StdinTrap>, write: OwnedFd, read: OwnedFd) -> io::Result<Stdin> {
        fds::set_nonblocking(read.as_raw_fd(), true)?;
        fds::set_nonblocking(write.as_raw_fd(), true)?;
        let id = fds::link_of(std::process::id(), read.as_raw_fd());
        Ok(Stdin {
            trap,
            write,
            read,
            id,
            waiting: VecDeque::new(),
            asked: false,
        })
    }

    /// The trap's descriptor, to poll.
    pub fn trap_fd(&self) -> Option<i32> {
        self.trap.as_ref().map(StdinTrap::fd)
    }

    /// A read was trapped. `running`: a cell is running. `before_asking`
    /// publishes the cell's output so far (its prompt) before a request.
    pub fn on_trap(
        &mut self,
        running: bool,
        to: &mut ToEvcxr,
        before_asking: impl FnOnce(&mut ToEvcxr),
    ) {
        let Some(trap) = &self.trap else { return };
        let call = match trap.receive() {
            Ok(Some(call)) => call,
            Ok(None) => return,
            Err(_) => return,
        };
        let ours = self.id.is_some() && fds::link_of(call.pid, 0) == self.id;
        if !ours {
            trap.proceed(call);
        } else if !running {
            trap.end_of_file(call);
        } else if fds::pending(self.read.as_raw_fd()) > 0 {
            trap.proceed(call);
        } else {
            self.waiting.push_back(call);
            self.ask(to, before_asking);
        }
    }

    fn ask(&mut self, to: &mut ToEvcxr, before_asking: impl FnOnce(&mut ToEvcxr)) {
        if self.asked {
            return;
        }
        before_asking(to);
        to.line(&format!("{INPUT_REQUEST}:"));
        self.asked = true;
    }

    /// The cell itself asked evcxr for input (`evcxr_input`).
    pub fn cell_asked(&mut self) {
        self.asked = true;
    }

    /// evcxr's answer line (from the kernel's input callback).
    pub fn answer(&mut self, line: &str, to: &mut ToEvcxr) {
        self.asked = false;
        let Some(trap) = &self.trap else { return };
        match crate::runtime::answer::decode(line) {
            Some(mut text) => {
                text.push('\n');
                let _ = fds::write_all(self.write.as_raw_fd(), text.as_bytes());
                if let Some(call) = self.waiting.pop_front() {
                    trap.proceed(call);
                }
                if !self.waiting.is_empty() {
                    self.ask(to, |_| {});
                }
            }
            None => {
                for call in self.waiting.drain(..) {
                    trap.end_of_file(call);
                }
            }
        }
    }

    /// The cell ended: waiting reads see end-of-file, unread input is dropped.
    pub fn cell_ended(&mut self) {
        if let Some(trap) = &self.trap {
            for call in self.waiting.drain(..) {
                trap.end_of_file(call);
            }
        }
        self.asked = false;
        let _ = fds::read_available(self.read.as_raw_fd(), usize::MAX);
    }
}
