//! The copy-on-write snapshot the session takes before each cell.
//!
//! The session process clones itself (`fork` semantics, `CLONE_PARENT`: the
//! copy is a child of the supervisor, which reaps it, never of the session,
//! whose cells may wait for their own children). The copy — the snapshot —
//! blocks until the supervisor either kills it (the cell ended normally)
//! or sends it `SIGUSR1` (the cell was interrupted or its process died):
//! then it returns from [`before_cell`] as the session, with every
//! variable as it was before the cell.
//!
//! fork copies only the calling thread, so a session with other live
//! threads (a thread pool, the tokio runtime of async cells) is not
//! snapshotted: the threads are counted in `/proc/self/task`, not guessed.
//! The session runs no threads of its own; every other thread is the
//! cells'.

use std::time::Instant;

use super::record::NoSnapshot;

/// Signal that hands the session to a waiting snapshot.
pub const TAKE_OVER: libc::c_int = libc::SIGUSR1;

/// What happened at the start of a cell.
#[derive(Debug)]
pub enum Before {
    /// This is the session; the snapshot waits (its pid, microseconds taken).
    Taken { pid: u32, micros: u64 },
    /// No snapshot; why.
    Skipped(NoSnapshot),
    /// This process was the snapshot and is now the session: the cell that
    /// was about to run never ran here.
    TookOver,
}

/// Takes the snapshot unless snapshots are off or other threads live.
/// `supervisor`: the supervisor's pid (the snapshot dies with it).
pub fn before_cell(enabled: bool, supervisor: u32) -> Before {
    if !enabled {
        return Before::Skipped(NoSnapshot::Off);
    }
    let others = other_threads();
    if !others.is_empty() {
        return Before::Skipped(NoSnapshot::Threads {
            count: others.len(),
            names: others.into_iter().take(8).collect(),
        });
    }
    let mut old_mask = empty_sigset();
    let take_over = sigset_of(TAKE_OVER);
    // Block the take-over signal across the clone, so the snapshot has it
    // blocked from its first instruction (it waits for it with sigwaitinfo).
    // SAFETY: the sigsets are valid; the calling thread is the only one.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &take_over, &mut old_mask) };
    let started = Instant::now();
    // SAFETY: a raw clone with fork semantics (no new stack, no shared
    // memory) in a process with one thread; the child only calls
    // async-signal-safe functions until it owns the session.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::CLONE_PARENT | libc::SIGCHLD,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    let micros = started.elapsed().as_micros() as u64;
    if pid == 0 {
        super::set_process_name(c"sluice-snapshot");
        wait_to_take_over(supervisor);
        super::set_process_name(c"sluice-session");
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
        return Before::TookOver;
    }
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
    if pid < 0 {
        return Before::Skipped(NoSnapshot::Failed {
            error: std::io::Error::last_os_error().to_string(),
        });
    }
    Before::Taken {
        pid: pid as u32,
        micros,
    }
}

/// In the snapshot: die with the supervisor, wait for the take-over signal.
fn wait_to_take_over(supervisor: u32) {
    // SAFETY: prctl/getppid/_exit take no memory; the snapshot is a child
    // of the supervisor (CLONE_PARENT), so PDEATHSIG follows it.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        if libc::getppid() as u32 != supervisor {
            libc::_exit(0);
        }
    }
    let set = sigset_of(TAKE_OVER);
    loop {
        // SAFETY: waits for a signal in `set`, which is blocked.
        let sig = unsafe { libc::sigwaitinfo(&set, std::ptr::null_mut()) };
        if sig == TAKE_OVER {
            return;
        }
    }
}

/// Names of the process's threads other than the calling one.
pub fn other_threads() -> Vec<String> {
    // SAFETY: gettid takes no arguments.
    let me = unsafe { libc::gettid() }.to_string();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    // A thread started without a name carries the process's own name.
    let own = std::fs::read_to_string("/proc/self/comm")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    dir.flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|tid| *tid != me)
        .map(
            |tid| match std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")) {
                Ok(c) if c.trim() == own => "an unnamed thread".to_string(),
                Ok(c) => c.trim().to_string(),
                Err(_) => format!("thread {tid}"),
            },
        )
        .collect()
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}

/// A set holding one signal.
pub fn sigset_of(sig: libc::c_int) -> libc::sigset_t {
    let mut set = empty_sigset();
    // SAFETY: adds a valid signal number to an initialised set.
    unsafe { libc::sigaddset(&mut set, sig) };
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_other_threads_by_name() {
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (stop, stop_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::Builder::new()
            .name("snapshot-probe".into())
            .spawn(move || {
                let _ = started_tx.send(());
                let _ = stop_rx.recv();
            })
            .expect("thread");
        // The thread names itself before it runs the closure.
        started.recv().expect("started");
        let names = other_threads();
        assert!(names.iter().any(|n| n == "snapshot-probe"), "{names:?}");
        drop(stop);
        let _ = t.join();
    }

    #[test]
    fn off_is_reported() {
        assert!(matches!(
            before_cell(false, 1),
            Before::Skipped(NoSnapshot::Off)
        ));
    }
}
