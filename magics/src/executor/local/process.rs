//! One array element's process: the task binary started with Slurm's
//! environment as the leader of its own process group, and a waiter thread
//! that reaps it.
//!
//! Kills go to the whole group (`killpg`), so whatever the task spawned dies
//! with it. A PID is signalled only while the leader is not reaped, under
//! the lock that records the reap: the waiter first waits for the exit
//! without reaping (`waitid` with `WNOWAIT`; the zombie keeps the PID, and
//! so the group id, ours), then, holding that lock, kills what is left of
//! the group (Slurm, too, ends a step's leftover processes when its main
//! process ends), reaps, and records it. After that nothing is signalled,
//! so a PID the system has handed to another process is never hit.
//! A process that leaves the group (`setsid`) escapes: Slurm would need
//! cgroups for that, and so would we.
//!
//! The reap is a `wait4(2)`, so each element's end comes with its resource
//! usage (user + system CPU time), as Slurm's accounting keeps it for
//! sacct: [`Reaped`].

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::executor::JobSpec;

/// A started element. Dropping it does not stop the process.
#[derive(Debug)]
pub(super) struct ElementProcess {
    leader: Arc<Leader>,
}

/// How an element's process ended, from its reap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Reaped {
    /// Exit code; None if a signal ended it (or it could not be reaped).
    pub code: Option<i32>,
    /// The signal that ended it (`WTERMSIG`); None if it exited.
    pub signal: Option<i32>,
    /// When it was reaped, Unix seconds.
    pub end: f64,
    /// User + system CPU seconds of it and its waited-for children
    /// (`ru_utime + ru_stime`). Its `ru_maxrss` is not kept: on Linux it
    /// includes the image of the kernel forked before the exec.
    pub cpu_s: f64,
}

/// The group leader's PID and whether it has been reaped.
#[derive(Debug)]
struct Leader {
    pid: u32,
    /// Set by the waiter when it reaps the leader; signals are sent only
    /// while this lock is held and it is false.
    reaped: Mutex<bool>,
}

impl ElementProcess {
    /// Sends SIGKILL to the element's process group. Returns false, and
    /// sends nothing, if the leader has already been reaped.
    pub(super) fn kill(&self) -> bool {
        self.leader.while_unreaped(kill_group).is_some()
    }

    /// The leader's resident memory in KiB (None once it has exited).
    pub(super) fn rss_kib(&self) -> Option<u64> {
        self.leader.while_unreaped(rss_kib).flatten()
    }
}

impl Leader {
    /// Runs `f` with the PID if the leader is not reaped, holding the lock
    /// the reap takes.
    fn while_unreaped<T>(&self, f: impl FnOnce(u32) -> T) -> Option<T> {
        let reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        (!*reaped).then(|| f(self.pid))
    }

    /// Waits for the leader to exit, ends the rest of its group, reaps it
    /// with `wait4`: its exit code and resource usage.
    fn reap(&self, child: Child) -> Reaped {
        let exited = wait_for_exit(self.pid);
        let mut reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = exited {
            // Cannot wait without reaping: stop it, so the wait below returns.
            tracing::warn!("cannot watch task process {}: {e}", self.pid);
        }
        kill_group(self.pid);
        let usage = wait4(self.pid);
        *reaped = true;
        drop(reaped);
        // Reaped by wait4: dropping the handle does not wait again.
        drop(child);
        match usage {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot reap task process {}: {e}", self.pid);
                Reaped {
                    code: None,
                    signal: None,
                    end: unix_now(),
                    cpu_s: 0.0,
                }
            }
        }
    }
}

/// Starts element `i` of `spec` in a new process group; `on_exit` gets how
/// it ended ([`Reaped`]) on the waiter thread, once the process is reaped.
///
/// # Errors
/// The log files cannot be created, or the task or its waiter cannot start
/// (then nothing of it is left running).
pub(super) fn spawn(
    spec: &JobSpec,
    i: usize,
    on_exit: impl FnOnce(Reaped) + Send + 'static,
) -> io::Result<ElementProcess> {
    let child = command(spec, i)?.spawn()?;
    let pid = child.id();
    let leader = Arc::new(Leader {
        pid,
        reaped: Mutex::new(false),
    });
    let waiter = {
        let leader = Arc::clone(&leader);
        move || on_exit(leader.reap(child))
    };
    let started = std::thread::Builder::new()
        .name("sluice-wait".into())
        .stack_size(64 * 1024)
        .spawn(waiter);
    if let Err(e) = started {
        // The waiter, and the Child in it, are gone without a reap: the PID
        // is still ours. Stop the group and reap the leader here.
        kill_group(pid);
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: waitpid(2) on our own unreaped child, no status wanted.
            unsafe {
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        return Err(e);
    }
    Ok(ElementProcess { leader })
}

/// The task binary with Slurm's environment, logs to files, in a process
/// group of its own.
fn command(spec: &JobSpec, i: usize) -> io::Result<Command> {
    std::fs::create_dir_all(spec.dir.logs_dir())?;
    let out = std::fs::File::create(spec.dir.log(i, "out"))?;
    let err = std::fs::File::create(spec.dir.log(i, "err"))?;
    let mut cmd = Command::new(&spec.binary);
    if let Some(env) = &spec.environment {
        // `--export`, as resolved: nothing else of the kernel's own.
        cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    cmd.env("SLUICE_JOB_DIR", spec.dir.path())
        .env("SLURM_ARRAY_TASK_ID", i.to_string())
        .env("SLURM_ARRAY_JOB_ID", spec.id.to_string())
        .env("SLURM_JOB_ID", (spec.id * 1_000_000 + i as u64).to_string())
        .env("SLURM_ARRAY_TASK_COUNT", spec.elements.to_string())
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env(
            "SLURM_ARRAY_TASK_MAX",
            spec.elements.saturating_sub(1).to_string(),
        )
        .env("SLURM_CPUS_PER_TASK", spec.resources.cpus.to_string())
        .env("SLURM_JOB_NAME", &spec.name)
        .env("SLURM_NTASKS", "1")
        .env("SLURM_JOB_PARTITION", "local")
        .env("RUST_BACKTRACE", "0")
        .current_dir(spec.working_dir())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    if let Some(m) = spec.resources.mem_mb {
        cmd.env("SLURM_MEM_PER_NODE", m.to_string());
    }
    Ok(cmd)
}

/// Blocks until child `pid` has exited, leaving it waitable (a zombie).
fn wait_for_exit(pid: u32) -> io::Result<()> {
    loop {
        // SAFETY: siginfo_t is plain data, for which all zeroes is a value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) on our own child with a valid out-pointer;
        // WNOWAIT leaves it to be reaped by `Child::wait`.
        let r = unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Reaps child `pid` (EINTR retried): its exit code and rusage.
fn wait4(pid: u32) -> io::Result<Reaped> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data, for which all zeroes is a value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4(2) on our own unreaped child with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            return Ok(Reaped {
                code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
                signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
                end: unix_now(),
                cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
            });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Now, Unix seconds.
pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// SIGKILL to process group `pgid` (the leader's PID). Callers hold the
/// leader unreaped, so the group id is ours.
fn kill_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        // SAFETY: killpg(2) on a group whose leader we spawned and have not
        // reaped; at worst ESRCH.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}
