//! Starting the session process: this same binary, with its stdio on
//! pipes to the supervisor, a command pipe and a report pipe, dying with
//! the supervisor (`PR_SET_PDEATHSIG`).
//!
//! With snapshots on, glibc's allocator is asked for transparent huge pages
//! (`glibc.malloc.hugetlb=1`): forking a process copies its page tables,
//! and a gigabyte of data takes 512 of them with huge pages instead of
//! 262,144 with 4 KiB pages — about 1 ms instead of 35 ms here.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};

use crate::runtime::fds;
use crate::runtime::session::{SESSION_VAR, Setup, TUNABLES_VAR};

/// The glibc tunable that makes malloc ask for huge pages.
const HUGE_PAGES: &str = "glibc.malloc.hugetlb=1";

/// A started session process and the supervisor's ends of its pipes.
#[derive(Debug)]
pub struct Spawned {
    /// Its pid.
    pub pid: u32,
    /// Where `LOAD_AND_RUN` lines go.
    pub commands: OwnedFd,
    /// Where its reports arrive.
    pub reports: OwnedFd,
    /// Its stdout, stderr (read ends).
    pub stdout: OwnedFd,
    /// Its stderr (read end).
    pub stderr: OwnedFd,
    /// Its stdin: the write end and a read end of the supervisor's own.
    pub stdin: (OwnedFd, OwnedFd),
}

/// Starts the session. `stdin_pipe`: give it a stdin pipe (reads are
/// trapped); otherwise its stdin is /dev/null.
pub fn session(token: &str, snapshots: bool, stdin_pipe: bool) -> io::Result<Spawned> {
    let (commands_r, commands_w) = fds::pipe()?;
    let (reports_r, reports_w) = fds::pipe()?;
    let (stdout_r, stdout_w) = fds::pipe()?;
    let (stderr_r, stderr_w) = fds::pipe()?;
    let (stdin_r, stdin_w) = fds::pipe()?;
    let setup = Setup {
        commands: commands_r.as_raw_fd(),
        reports: reports_w.as_raw_fd(),
        supervisor: std::process::id(),
        token: token.to_string(),
        snapshots,
    };
    let mut cmd = Command::new("/proc/self/exe");
    cmd.env(SESSION_VAR, setup.encode());
    if snapshots {
        let own = std::env::var_os("GLIBC_TUNABLES");
        let mut tunables = own.clone().unwrap_or_default();
        if !tunables.is_empty() {
            tunables.push(":");
        }
        tunables.push(HUGE_PAGES);
        cmd.env("GLIBC_TUNABLES", tunables);
        // What to give the cells back: `1:<value>`, or `0:` for none.
        let mut restore = std::ffi::OsString::from(if own.is_some() { "1:" } else { "0:" });
        restore.push(own.unwrap_or_default());
        cmd.env(TUNABLES_VAR, restore);
    }
    if stdin_pipe {
        cmd.stdin(Stdio::from(stdin_r.try_clone()?));
    } else {
        cmd.stdin(Stdio::null());
    }
    cmd.stdout(Stdio::from(stdout_w))
        .stderr(Stdio::from(stderr_w));
    let keep = [setup.commands, setup.reports];
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe calls (prctl, fcntl).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            for fd in keep {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // The child's copies are open in it; close ours.
    drop(cmd);
    drop(commands_r);
    drop(reports_w);
    Ok(Spawned {
        pid: child.id(),
        commands: commands_w,
        reports: reports_r,
        stdout: stdout_r,
        stderr: stderr_r,
        stdin: (stdin_w, stdin_r),
    })
}
