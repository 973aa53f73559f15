//! A cell's life in the supervisor, and how it ends.
//!
//! - It ran to its end (`Done`): its output is drained, the snapshot is
//!   killed, the kernel gets `finished`, evcxr gets
//!   `EVCXR_EXECUTION_COMPLETE`.
//! - It was interrupted, or its process died: the snapshot is told to take
//!   over; once it reports `Ready` it is the session, the kernel gets
//!   `restored` with the cause and evcxr gets the abort line, so evcxr
//!   keeps its state from before the cell, as the snapshot does.
//! - The same without a snapshot (snapshots off, other threads alive): the
//!   kernel gets `lost` and the supervisor exits; evcxr starts a new
//!   process, as it always has.

use std::time::{Duration, Instant};

use super::Supervisor;
use super::output::Signals;
use crate::runtime::cause::{self, Seen};
use crate::runtime::evcxr_protocol::{ABORT_LINE, EXECUTION_COMPLETE};
use crate::runtime::fds;
use crate::runtime::line_reader::Read;
use crate::runtime::record::{Event, NoSnapshot};
use crate::runtime::report::Report;
use crate::runtime::snapshot::TAKE_OVER;

/// How long a snapshot may take to report that it took over.
const TAKE_OVER_LIMIT: Duration = Duration::from_secs(10);

/// Where the cell is.
#[derive(Debug)]
pub(super) enum Cell {
    /// No cell is running.
    Idle,
    /// The session runs a cell.
    Running(Running),
    /// The session ended mid-cell; its snapshot is taking over.
    Restoring {
        cause: String,
        snapshot: u32,
        since: Instant,
    },
}

#[derive(Debug, Default)]
pub(super) struct Running {
    /// The snapshot's report arrived: its pid (None: no snapshot, why).
    snapshot: Option<Result<(u32, u64), NoSnapshot>>,
    /// An interrupt arrived before the snapshot report: kill on its arrival.
    kill_on_report: bool,
    seen: Seen,
}

impl Cell {
    pub(super) fn is_running(&self) -> bool {
        matches!(self, Cell::Running(_))
    }

    /// How long `poll` may sleep.
    pub(super) fn poll_timeout_ms(&self) -> i32 {
        match self {
            Cell::Restoring { since, .. } => {
                TAKE_OVER_LIMIT.saturating_sub(since.elapsed()).as_millis() as i32 + 1
            }
            _ => -1,
        }
    }
}

impl Supervisor {
    /// evcxr asks to run a cell.
    pub(super) fn start_cell(&mut self, line: &str) {
        if !matches!(self.cell, Cell::Idle) {
            return;
        }
        if self.interrupt_pending {
            self.interrupt_pending = false;
            self.finish_restored("interrupted".into(), false);
            return;
        }
        self.output.begin_cell(&mut self.to);
        let mut command = line.as_bytes().to_vec();
        command.push(b'\n');
        if fds::write_all(
            std::os::fd::AsRawFd::as_raw_fd(&self.live.commands),
            &command,
        )
        .is_err()
        {
            // The session is gone; its exit is being handled.
            return;
        }
        self.cell = Cell::Running(Running {
            seen: Seen {
                oom_kills_before: cause::oom_kills(),
                ..Seen::default()
            },
            ..Running::default()
        });
    }

    /// The kernel asked to stop the running cell.
    pub(super) fn on_interrupt(&mut self) {
        let pid = self.live.pid;
        match &mut self.cell {
            Cell::Running(r) => {
                r.seen.interrupted = true;
                if r.snapshot.is_some() {
                    kill(pid, libc::SIGKILL);
                } else {
                    r.kill_on_report = true;
                }
            }
            Cell::Idle => self.interrupt_pending = true,
            Cell::Restoring { .. } => {}
        }
    }

    pub(super) fn on_stdout_signals(&mut self, signals: Signals) {
        if signals.panicked {
            self.to.event(Event::Panicked { pid: self.live.pid });
        }
        if signals.input_requested {
            self.stdin.cell_asked();
        }
        if signals.user_error {
            self.to.event(Event::UserError);
        }
    }

    /// Reports from the session (or the snapshot that took over).
    pub(super) fn on_reports(&mut self) {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self.live.reports);
        let lines = match self.live.report_lines.read_from(fd) {
            Ok(Read::Lines(lines)) => lines,
            _ => return,
        };
        for line in lines {
            let Some(report) = Report::parse(&line) else {
                continue;
            };
            self.on_report(report);
        }
    }

    fn on_report(&mut self, report: Report) {
        let live = self.live.pid;
        match (report, &mut self.cell) {
            (Report::Snapshot(snapshot), Cell::Running(r)) => {
                if let Ok((pid, _)) = snapshot {
                    self.children.insert(pid);
                }
                r.snapshot = Some(snapshot);
                if r.kill_on_report {
                    kill(live, libc::SIGKILL);
                }
            }
            (Report::Overflow, Cell::Running(r)) => r.seen.overflow = true,
            (Report::Done, Cell::Running(_)) => self.finish_ok(),
            (Report::NotRun { error }, Cell::Running(r)) => {
                if let Some(Ok((pid, _))) = r.snapshot {
                    kill(pid, libc::SIGKILL);
                }
                self.finish_restored(
                    format!("the cell's library could not be loaded: {error}"),
                    false,
                );
            }
            (Report::Ready { pid }, Cell::Restoring { cause, .. }) => {
                let cause = std::mem::take(cause);
                self.live.pid = pid;
                self.finish_restored(cause, true);
            }
            _ => {}
        }
    }

    /// The session process ended (it was reaped).
    pub(super) fn on_session_exit(&mut self, status: libc::c_int) {
        self.output.drain(&mut self.to);
        let signals = self.output.take_signals();
        self.on_stdout_signals(signals);
        self.live.report_lines.reset();
        // Reports written before it died (an overflow) still count.
        self.on_reports();
        let cell = std::mem::replace(&mut self.cell, Cell::Idle);
        let Cell::Running(mut r) = cell else {
            self.output.finish_cell(&mut self.to);
            let cause = cause::describe(status, &Seen::default());
            self.to.event(Event::Died { cause });
            self.shutdown(1);
        };
        r.seen.alloc_failure = self.output.alloc_failure.clone();
        let cause = cause::describe(status, &r.seen);
        match r.snapshot {
            Some(Ok((snapshot, _))) => {
                self.output.forget_unfinished_frame();
                kill(snapshot, TAKE_OVER);
                self.cell = Cell::Restoring {
                    cause,
                    snapshot,
                    since: Instant::now(),
                };
            }
            Some(Err(why)) => self.lost(cause, why),
            None => self.lost(
                cause,
                NoSnapshot::Failed {
                    error: "the process ended before its snapshot was taken".into(),
                },
            ),
        }
    }

    /// A child other than the session ended: a dropped snapshot, or the
    /// snapshot that was to take over.
    pub(super) fn on_other_exit(&mut self, pid: u32) {
        if let Cell::Restoring {
            cause, snapshot, ..
        } = &mut self.cell
            && *snapshot == pid
        {
            let cause = std::mem::take(cause);
            self.cell = Cell::Idle;
            self.lost(
                cause,
                NoSnapshot::Failed {
                    error: "the snapshot ended before it could take over".into(),
                },
            );
        }
    }

    /// poll's timeout: a snapshot that does not take over in time.
    pub(super) fn on_timeout(&mut self) {
        if let Cell::Restoring { cause, since, .. } = &mut self.cell
            && since.elapsed() >= TAKE_OVER_LIMIT
        {
            let cause = std::mem::take(cause);
            self.cell = Cell::Idle;
            self.lost(
                cause,
                NoSnapshot::Failed {
                    error: "the snapshot did not take over in time".into(),
                },
            );
        }
    }

    fn finish_ok(&mut self) {
        self.output.drain(&mut self.to);
        let signals = self.output.take_signals();
        self.on_stdout_signals(signals);
        self.output.finish_cell(&mut self.to);
        self.stdin.cell_ended();
        let cell = std::mem::replace(&mut self.cell, Cell::Idle);
        let snapshot = match cell {
            Cell::Running(Running {
                snapshot: Some(snapshot),
                ..
            }) => snapshot,
            _ => Err(NoSnapshot::Failed {
                error: "no snapshot report".into(),
            }),
        };
        if let Ok((pid, _)) = snapshot {
            kill(pid, libc::SIGKILL);
        }
        self.to.event(Event::Finished {
            snapshot: snapshot.map(|(_, micros)| micros),
        });
        self.to.line(EXECUTION_COMPLETE);
    }

    /// Ends the cell with the session as it was before it.
    fn finish_restored(&mut self, cause: String, ran: bool) {
        self.output.finish_cell(&mut self.to);
        self.stdin.cell_ended();
        self.cell = Cell::Idle;
        self.to.event(Event::Restored { cause, ran });
        self.to.raw(ABORT_LINE);
    }

    /// Nothing can take over: tell the kernel, and let evcxr start anew.
    fn lost(&mut self, cause: String, why: NoSnapshot) -> ! {
        self.output.finish_cell(&mut self.to);
        self.to.event(Event::Lost { cause, why });
        self.shutdown(1);
    }
}

fn kill(pid: u32, signal: libc::c_int) {
    // SAFETY: kill takes a pid (a child of this process) and a signal.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}
