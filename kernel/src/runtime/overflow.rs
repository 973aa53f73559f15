//! Telling a stack overflow from other segmentation faults in the session
//! process.
//!
//! Cells run on the session's main thread. A SIGSEGV whose fault address
//! lies in the guard gap just below that thread's stack is a stack
//! overflow: the handler (on the alternate signal stack Rust's runtime set
//! up for the main thread) writes one report line to the supervisor, then
//! the default action ends the process as the fault repeats. Any other
//! SIGSEGV ends it the same way without a report.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use super::report::OVERFLOW_LINE;

/// The report pipe (written from the handler).
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);
/// Lowest address of the main thread's stack.
static STACK_LOW: AtomicUsize = AtomicUsize::new(0);
/// How far below the stack a fault still counts as an overflow: the
/// kernel's stack guard gap (256 pages) and a margin for a large frame.
const GUARD: usize = 4 << 20;

/// Installs the handler; call on the main thread before any cell runs.
pub fn install(report_fd: RawFd) -> std::io::Result<()> {
    REPORT_FD.store(report_fd, Ordering::SeqCst);
    STACK_LOW.store(main_stack_low()?, Ordering::SeqCst);
    ensure_altstack()?;
    // SAFETY: a zeroed sigaction is a valid starting value; the handler is
    // an extern "C" fn with the SA_SIGINFO signature.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

extern "C" fn handler(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let low = STACK_LOW.load(Ordering::Relaxed);
    if low != 0 && addr < low + 4096 && addr + GUARD >= low {
        let fd = REPORT_FD.load(Ordering::Relaxed);
        // SAFETY: write is async-signal-safe; the buffer is a static.
        unsafe { libc::write(fd, OVERFLOW_LINE.as_ptr().cast(), OVERFLOW_LINE.len()) };
    }
    // SA_RESETHAND restored the default action: returning repeats the
    // fault, which now ends the process with SIGSEGV.
}

fn main_stack_low() -> std::io::Result<usize> {
    // SAFETY: pthread_getattr_np fills the attr, which is destroyed after use;
    // the out-pointers point at locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        let r = libc::pthread_getattr_np(libc::pthread_self(), &mut attr);
        if r != 0 {
            return Err(std::io::Error::from_raw_os_error(r));
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let r = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 {
            return Err(std::io::Error::from_raw_os_error(r));
        }
        Ok(addr as usize)
    }
}

/// Rust's runtime gives the main thread an alternate signal stack; make
/// sure there is one (the handler cannot run on an overflowed stack).
fn ensure_altstack() -> std::io::Result<()> {
    // SAFETY: sigaltstack reads/writes the stack_t passed; the new stack
    // is leaked on purpose (it must live as long as the process).
    unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(std::ptr::null(), &mut current) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if current.ss_flags & libc::SS_DISABLE == 0 && !current.ss_sp.is_null() {
            return Ok(());
        }
        let size = 64 * 1024;
        let stack = Box::leak(vec![0u8; size].into_boxed_slice());
        let new = libc::stack_t {
            ss_sp: stack.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: size,
        };
        if libc::sigaltstack(&new, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
