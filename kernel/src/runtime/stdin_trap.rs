//! Reads of the session's stdin, trapped so that the supervisor learns of
//! each one: a seccomp filter sends every `read`/`readv` of descriptor 0
//! made in the session (its threads, snapshots and the programs it starts)
//! to the supervisor as a user notification.
//!
//! The supervisor then lets the read proceed (there is input in the stdin
//! pipe, or the descriptor is not the session's stdin pipe at all), answers
//! it with end-of-file, or first asks the front end for a line and puts it
//! in the pipe. A cell's stdin is never the runtime's command channel.
//!
//! The filter needs `no_new_privs` (set-user-id programs a cell starts do
//! not gain privileges). It is installed in the supervisor, which never
//! reads descriptor 0, and inherited by the session it starts.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// A trapped read: its notification id and the thread that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCall {
    /// Notification id (answer with it).
    pub id: u64,
    /// The reading thread's id.
    pub pid: u32,
}

/// The listener for trapped reads.
#[derive(Debug)]
pub struct StdinTrap {
    listener: OwnedFd,
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The filter: `read`/`readv` with fd 0 → notify; everything else → allow.
fn program() -> Vec<libc::sock_filter> {
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    vec![
        stmt(load, 4),                           // 0: arch
        jeq(AUDIT_ARCH, 0, 8),                   // 1: other arch → allow
        stmt(load, 0),                           // 2: syscall number
        jeq(libc::SYS_read as u32, 1, 0),        // 3: read → 5
        jeq(libc::SYS_readv as u32, 0, 5),       // 4: readv → 5, else allow
        stmt(load, 16),                          // 5: args[0], low half
        jeq(0, 0, 3),                            // 6: not 0 → allow
        stmt(load, 20),                          // 7: args[0], high half
        jeq(0, 0, 1),                            // 8: not 0 → allow
        stmt(ret, libc::SECCOMP_RET_USER_NOTIF), // 9
        stmt(ret, libc::SECCOMP_RET_ALLOW),      // 10
    ]
}

impl StdinTrap {
    /// Installs the filter on the calling (single-threaded) process.
    pub fn install() -> io::Result<StdinTrap> {
        let filter = program();
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: prctl takes integers; seccomp reads the program, which
        // lives until the call returns.
        let fd = unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &prog as *const libc::sock_fprog,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: seccomp returned a new descriptor that nobody else owns.
        let listener = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        super::fds::set_cloexec(listener.as_raw_fd(), true)?;
        Ok(StdinTrap { listener })
    }

    /// The descriptor to poll (readable when a read is trapped).
    pub fn fd(&self) -> i32 {
        self.listener.as_raw_fd()
    }

    /// The next trapped read; None if it vanished (its thread died).
    pub fn receive(&self) -> io::Result<Option<ReadCall>> {
        // SAFETY: the notification is zeroed as the kernel requires and
        // written by the ioctl.
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::ioctl(
                self.listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut notif,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::EINTR) => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(ReadCall {
            id: notif.id,
            pid: notif.pid,
        }))
    }

    /// Lets the read go ahead on the descriptor as it is.
    pub fn proceed(&self, call: ReadCall) {
        self.respond(call, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32);
    }

    /// Answers the read with end-of-file.
    pub fn end_of_file(&self, call: ReadCall) {
        self.respond(call, 0);
    }

    fn respond(&self, call: ReadCall, flags: u32) {
        let mut resp = libc::seccomp_notif_resp {
            id: call.id,
            val: 0,
            error: 0,
            flags,
        };
        // SAFETY: the ioctl reads the response struct. A read that vanished
        // meanwhile (ENOENT) needs no answer.
        unsafe {
            libc::ioctl(
                self.listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp,
            )
        };
    }
}
