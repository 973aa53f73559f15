//! What the session's code calls, through pointers given when a cell's
//! library attaches, to put frames into the session's stdout
//! (`frames.rs`): a display, a clear-output, the cell's value, a panic.
//! One frame at a time; each goes out whole, after what the cell printed
//! before it (the session's code flushes its stdout first).

use std::sync::{Mutex, OnceLock};

use super::frames::{self, Kind};
use super::{fds, panic_site};

/// The frame token.
static TOKEN: OnceLock<String> = OnceLock::new();
/// One frame at a time on stdout.
static WRITING: Mutex<()> = Mutex::new(());

/// Sets the token frames are marked with (once, at start-up).
pub fn set_token(token: &str) {
    let _ = TOKEN.set(token.to_string());
}

/// The bytes `ptr..ptr+len` (none for a null pointer).
///
/// # Safety
/// `ptr` is null or points at `len` readable bytes that live for the call.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's promise.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

fn write(kind: Kind, payload: &[u8]) {
    let Some(token) = TOKEN.get() else { return };
    let frame = frames::encode(token, kind, payload);
    let _one = WRITING.lock();
    let _ = fds::write_all(1, &frame);
}

/// A display (`mime`, `id`, `content`), a clear-output (`wait`/`now`, -, -)
/// or the cell's value (`mime`, `content`, -).
pub extern "C" fn emit(
    kind: u32,
    a: *const u8,
    a_len: usize,
    b: *const u8,
    b_len: usize,
    c: *const u8,
    c_len: usize,
) {
    let Some(kind) = Kind::from_code(kind) else {
        return;
    };
    // SAFETY: the session's code passes the pointers and lengths of live strings.
    let (a, b, c) = unsafe { (bytes(a, a_len), bytes(b, b_len), bytes(c, c_len)) };
    let payload = match kind {
        Kind::Display => [a, b"\0", b, b"\0", c].concat(),
        Kind::Clear => a.to_vec(),
        Kind::Content => [a, b"\0", b].concat(),
        Kind::Panic => return,
    };
    write(kind, &payload);
}

/// A panic, from the session's panic hook: the thread's name, the
/// location, the message. Adds whether the cell's own (main) thread
/// panicked and which cell's library raised it.
#[allow(clippy::too_many_arguments)]
pub extern "C" fn panic(
    thread: *const u8,
    thread_len: usize,
    file: *const u8,
    file_len: usize,
    line: u32,
    column: u32,
    message: *const u8,
    message_len: usize,
) {
    // SAFETY: the session's hook passes the pointers and lengths of live strings.
    let (thread, file, message) = unsafe {
        (
            bytes(thread, thread_len),
            bytes(file, file_len),
            bytes(message, message_len),
        )
    };
    // SAFETY: gettid and getpid take no arguments.
    let main = unsafe { libc::gettid() == libc::getpid() };
    let head = format!("{}\0{}\0", u8::from(main), panic_site::build());
    let location = format!("{}:{line}:{column}", String::from_utf8_lossy(file));
    let payload = [
        head.as_bytes(),
        thread,
        b"\0",
        location.as_bytes(),
        b"\0",
        message,
    ]
    .concat();
    write(Kind::Panic, &payload);
}
