//! How the kernel reaches the runtime while evcxr waits for a cell: a
//! queued real-time signal to the supervisor (the process evcxr started),
//! carrying what to do. Queued signals arrive in the order they were sent
//! and carry their value, so an interrupt and the "cell over" that follows
//! it are never confused.

use std::io;

/// What the kernel asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The kernel's cell is over: forget an interrupt that found no cell
    /// running (it arrived while evcxr was compiling, say).
    Forget,
    /// Stop the running cell (or the next one this kernel cell starts).
    Interrupt,
    /// End the session and its snapshots, then exit (`:clear`, `:restart`,
    /// kernel shutdown).
    Retire,
}

impl Control {
    fn value(self) -> i32 {
        match self {
            Control::Forget => 0,
            Control::Interrupt => 1,
            Control::Retire => 2,
        }
    }

    /// The request a signal value stands for.
    pub fn from_value(value: i32) -> Option<Control> {
        match value {
            0 => Some(Control::Forget),
            1 => Some(Control::Interrupt),
            2 => Some(Control::Retire),
            _ => None,
        }
    }
}

/// The signal that carries requests.
pub fn signal() -> libc::c_int {
    libc::SIGRTMIN() + 4
}

/// Makes the signal harmless in this process and the ones it starts: a
/// supervisor that has not yet blocked it (it blocks it first thing and
/// reads it from a signalfd) ignores it instead of dying of it. Call in
/// the kernel before starting evcxr.
pub fn ignore_in_children() {
    // SAFETY: sets a standard disposition for a valid signal number.
    unsafe { libc::signal(signal(), libc::SIG_IGN) };
}

/// Sends `control` to the supervisor `pid`.
pub fn send(pid: u32, control: Control) -> io::Result<()> {
    let value = libc::sigval {
        sival_ptr: control.value() as usize as *mut libc::c_void,
    };
    // SAFETY: sigqueue takes a pid, a signal number and a value.
    let r = unsafe { libc::sigqueue(pid as libc::pid_t, signal(), value) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        for c in [Control::Forget, Control::Interrupt, Control::Retire] {
            assert_eq!(Control::from_value(c.value()), Some(c));
        }
        assert_eq!(Control::from_value(9), None);
    }
}
