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

use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use crate::executor::JobSpec;

/// A started element. Dropping it does not stop the process.
#[derive(Debug)]
pub(super) struct ElementProcess {
    leader: Arc<Leader>,
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

    /// Waits for the leader to exit, ends the rest of its group, reaps it;
    /// its exit code (None if a signal ended it).
    fn reap(&self, mut child: Child) -> Option<i32> {
        let exited = wait_for_exit(self.pid);
        let mut reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = exited {
            // Cannot wait without reaping: stop it, so the wait below returns.
            tracing::warn!("cannot watch task process {}: {e}", self.pid);
        }
        kill_group(self.pid);
        let status = child.wait();
        *reaped = true;
        drop(reaped);
        match status {
            Ok(s) => s.code(),
            Err(e) => {
                tracing::warn!("cannot reap task process {}: {e}", self.pid);
                None
            }
        }
    }
}

/// Starts element `i` of `spec` in a new process group; `on_exit` gets its
/// exit code (None if a signal ended it) on the waiter thread, once the
/// process is reaped.
///
/// # Errors
/// The log files cannot be created, or the task or its waiter cannot start
/// (then nothing of it is left running).
pub(super) fn spawn(
    spec: &JobSpec,
    i: usize,
    on_exit: impl FnOnce(Option<i32>) + Send + 'static,
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
