//! The supervisor: the process evcxr starts as its "child process". It
//! runs no user code. It passes evcxr's `LOAD_AND_RUN` lines to the
//! session process (`session.rs`), reads the session's output
//! (`output.rs`), stdin reads (`stdin.rs`) and reports, watches it die
//! (SIGCHLD), takes interrupts from the kernel (`control.rs`) and answers
//! evcxr exactly as evcxr's own runtime would — except that a cell whose
//! process is interrupted or dies ends with its snapshot in charge
//! (`cell.rs`).
//!
//! One thread, one `poll` loop; every child it has (sessions and
//! snapshots, which are cloned with `CLONE_PARENT`) is reaped here, and all
//! of them are killed and reaped before it exits.

mod cell;
mod output;
mod spawn;
mod stdin;
mod to_evcxr;

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::control::{self, Control};
use super::line_reader::{LineReader, Read};
use super::record::Event;
use super::stdin_trap::StdinTrap;
use super::{fds, frames};
use cell::Cell;
use output::Output;
use stdin::Stdin;
use to_evcxr::ToEvcxr;

/// The live session process and the supervisor's ends of its channels
/// (a snapshot that takes over inherits the same channels).
struct Live {
    pid: u32,
    commands: OwnedFd,
    reports: OwnedFd,
    report_lines: LineReader,
}

struct Supervisor {
    to: ToEvcxr,
    /// evcxr's command pipe (moved off descriptor 0, whose reads are trapped).
    evcxr_in: OwnedFd,
    evcxr_lines: LineReader,
    signals: OwnedFd,
    live: Live,
    output: Output,
    stdin: Stdin,
    cell: Cell,
    /// An interrupt came while no cell ran: the next cell of this kernel
    /// cell is stopped before it starts.
    interrupt_pending: bool,
    /// Children not yet reaped.
    children: HashSet<u32>,
}

/// Runs the supervisor; never returns.
pub fn run() -> ! {
    let mut to = ToEvcxr::new(1, 2);
    match Supervisor::start(&mut to) {
        Ok(mut s) => s.serve(),
        Err(e) => {
            to.event(Event::Notice {
                text: format!("sluice: the evaluation runtime cannot start: {e}"),
            });
            to.flush();
            std::process::exit(1);
        }
    }
}

fn snapshots_enabled() -> bool {
    std::env::var("SLUICE_SNAPSHOT").map_or(true, |v| v.trim() != "0")
}

impl Supervisor {
    fn start(to: &mut ToEvcxr) -> io::Result<Supervisor> {
        let evcxr_in = move_stdin_away()?;
        let signals = signal_fd()?;
        let token = frames::new_token()?;
        let snapshots = snapshots_enabled();
        let trap = match StdinTrap::install() {
            Ok(trap) => Some(trap),
            Err(e) => {
                to.event(Event::Notice {
                    text: format!(
                        "sluice: cells cannot read stdin here (seccomp user notification: {e}); reads see end-of-file"
                    ),
                });
                None
            }
        };
        let spawned = spawn::session(&token, snapshots, trap.is_some())?;
        let (stdin_w, stdin_r) = spawned.stdin;
        fds::set_nonblocking(spawned.reports.as_raw_fd(), true)?;
        fds::set_nonblocking(evcxr_in.as_raw_fd(), true)?;
        Ok(Supervisor {
            to: ToEvcxr::new(1, 2),
            evcxr_in,
            evcxr_lines: LineReader::default(),
            signals,
            live: Live {
                pid: spawned.pid,
                commands: spawned.commands,
                reports: spawned.reports,
                report_lines: LineReader::default(),
            },
            output: Output::new(spawned.stdout, spawned.stderr, &token)?,
            stdin: Stdin::new(trap, stdin_w, stdin_r)?,
            cell: Cell::Idle,
            interrupt_pending: false,
            children: HashSet::from([spawned.pid]),
        })
    }

    fn serve(&mut self) -> ! {
        loop {
            self.to.flush();
            let (out, err) = self.output.fds();
            let mut polled = vec![
                poll_fd(self.signals.as_raw_fd()),
                poll_fd(out),
                poll_fd(err),
                poll_fd(self.live.reports.as_raw_fd()),
                poll_fd(self.evcxr_in.as_raw_fd()),
            ];
            if let Some(trap) = self.stdin.trap_fd() {
                polled.push(poll_fd(trap));
            }
            let timeout = self.cell.poll_timeout_ms();
            // SAFETY: poll reads and writes the array passed with its length.
            let n =
                unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, timeout) };
            if n < 0 {
                continue;
            }
            if n == 0 {
                self.on_timeout();
                continue;
            }
            let ready = |i: usize| polled.get(i).is_some_and(|p| p.revents != 0);
            if ready(0) {
                self.on_signals();
            }
            if ready(1) {
                self.output.read_stdout(&mut self.to);
            }
            if ready(2) {
                self.output.read_stderr(&mut self.to);
            }
            if ready(3) {
                self.on_reports();
            }
            if ready(5) {
                let running = self.cell.is_running();
                let output = &mut self.output;
                self.stdin.on_trap(running, &mut self.to, |to| {
                    output.drain(to);
                });
            }
            let signals = self.output.take_signals();
            self.on_stdout_signals(signals);
            if ready(4) {
                self.on_evcxr_input();
            }
        }
    }

    /// Lines from evcxr: commands, and answers to input requests.
    fn on_evcxr_input(&mut self) {
        let lines = match self.evcxr_lines.read_from(self.evcxr_in.as_raw_fd()) {
            Ok(Read::Lines(lines)) => lines,
            Ok(Read::Closed) | Err(_) => self.shutdown(0),
        };
        for line in lines {
            if super::evcxr_protocol::parse_load_and_run(&line).is_some() {
                self.start_cell(&line);
            } else if self.cell.is_running() {
                self.stdin.answer(&line, &mut self.to);
            }
        }
    }

    fn on_signals(&mut self) {
        let mut info: libc::signalfd_siginfo = zeroed_siginfo();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: reads one signalfd_siginfo into `info`.
            let n = unsafe {
                libc::read(
                    self.signals.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                return;
            }
            let sig = info.ssi_signo as libc::c_int;
            if sig == libc::SIGCHLD {
                self.reap();
            } else if sig == control::signal() {
                match Control::from_value(info.ssi_int) {
                    Some(Control::Interrupt) => self.on_interrupt(),
                    Some(Control::Forget) => self.interrupt_pending = false,
                    Some(Control::Retire) => self.shutdown(0),
                    None => {}
                }
            } else {
                self.shutdown(0);
            }
        }
    }

    /// Reaps every child that ended.
    fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes the status into the local.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            let pid = pid as u32;
            self.children.remove(&pid);
            if pid == self.live.pid {
                self.on_session_exit(status);
            } else {
                self.on_other_exit(pid);
            }
        }
    }

    /// Kills and reaps every child, then exits.
    fn shutdown(&mut self, code: i32) -> ! {
        self.to.flush();
        for &pid in &self.children {
            // SAFETY: kill takes a pid of our own child and a signal.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        for &pid in &self.children {
            let mut status = 0;
            // SAFETY: waitpid on our own child, status into a local.
            unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        }
        std::process::exit(code);
    }
}

/// Moves evcxr's command pipe from descriptor 0 to a new one and puts
/// /dev/null on 0: the stdin filter traps every read of descriptor 0 in
/// this process's children, and would trap the supervisor's own.
fn move_stdin_away() -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own; open and
    // dup2 replace descriptor 0 with /dev/null.
    unsafe {
        let fd = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if null < 0 || libc::dup2(null, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(null);
        Ok(owned)
    }
}

fn poll_fd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

fn zeroed_siginfo() -> libc::signalfd_siginfo {
    // SAFETY: signalfd_siginfo is plain integers; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// Blocks the signals the supervisor handles and returns a signalfd for them.
fn signal_fd() -> io::Result<OwnedFd> {
    // SAFETY: the set is initialised by sigemptyset before use; the mask
    // change applies to this (only) thread; signalfd returns a new fd.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [
            libc::SIGCHLD,
            libc::SIGTERM,
            libc::SIGHUP,
            control::signal(),
        ] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}
