//! What the kernel defines in every session for cells to call, as the
//! module `sluice`:
//!
//! - `sluice::clear_output(wait)` clears the cell's output (Jupyter's
//!   `clear_output`; with `wait`, only once new output arrives, for
//!   flicker-free progress displays);
//! - `sluice::display(mime, content)` shows rich content at once, in order
//!   with the cell's printed text (evcxr shows `EVCXR_BEGIN_CONTENT` blocks
//!   only when the cell ends, one per MIME type);
//! - `sluice::display_in(id, mime, content)` shows it the first time and
//!   updates that same display afterwards (in this or a later cell);
//! - (hidden) `sluice::__runtime`: what the runtime calls in every cell's
//!   library — `sluice_session_attach` (where frames go; a panic hook
//!   that sends each panic as a frame, so the kernel learns which thread
//!   panicked where, instead of reading stderr) and
//!   `sluice_session_flush` (writes out what `print!` left in this
//!   library's stdout buffer, so it shows by the cell's end).
//!
//! Displays and clear-output travel as frames in the session's stdout, in
//! order with the cell's text and apart from it (`runtime/frames.rs`):
//! text a cell prints is never taken for one. The module is defined in the
//! same build as the display trait at warm-up (and again after `:clear`):
//! no build of its own.

use crate::runtime::frame_kinds;

/// The module's source.
pub(super) fn module() -> String {
    format!(
        r#"pub mod sluice {{
/// Clears this cell's output; with `wait`, only when new output arrives.
pub fn clear_output(wait: bool) {{
    __runtime::emit(__runtime::CLEAR, if wait {{ b"wait" }} else {{ b"now" }});
}}
/// Shows `content` as `mime` (e.g. "text/html") now, in order with the printed text.
pub fn display(mime: &str, content: &str) {{
    __runtime::emit(__runtime::DISPLAY, &[mime.as_bytes(), b"\0\0", content.as_bytes()].concat());
}}
/// Shows `content` as the display `id`: new the first time, updated in place later.
pub fn display_in(id: &str, mime: &str, content: &str) {{
    let id = id.split_whitespace().collect::<Vec<_>>().join("_");
    __runtime::emit(__runtime::DISPLAY, &[mime.as_bytes(), b"\0_", id.as_bytes(), b"\0", content.as_bytes()].concat());
}}
#[doc(hidden)]
pub mod __runtime {{
    use std::sync::atomic::{{AtomicUsize, Ordering}};
    pub const DISPLAY: u32 = {display};
    pub const CLEAR: u32 = {clear};
    pub const CONTENT: u32 = {content};
    pub const PANIC: u32 = {panic};
    static EMIT: AtomicUsize = AtomicUsize::new(0);
    #[unsafe(no_mangle)]
    pub extern "C" fn sluice_session_attach(emit: usize) {{
        EMIT.store(emit, Ordering::Relaxed);
        std::panic::set_hook(Box::new(|info| {{
            let payload = info.payload();
            let message = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {{
                (Some(s), _) => s.to_string(),
                (_, Some(s)) => s.clone(),
                _ => "Box<dyn Any>".to_string(),
            }};
            let location = info.location().map(|l| format!("{{}}:{{}}:{{}}", l.file(), l.line(), l.column())).unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("<unnamed>").to_string();
            let frame = [thread.as_bytes(), b"\0", location.as_bytes(), b"\0", message.as_bytes()].concat();
            if !send(PANIC, &frame) {{
                eprintln!("thread '{{thread}}' panicked at {{location}}:\n{{message}}");
            }}
        }}));
    }}
    #[unsafe(no_mangle)]
    pub extern "C" fn sluice_session_flush() {{
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }}
    /// Sends a frame after the text printed so far; false if no runtime listens.
    pub fn emit(kind: u32, payload: &[u8]) -> bool {{
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        send(kind, payload)
    }}
    /// Sends a frame (not flushing stdout: a panic hook may run while
    /// stdout is in use).
    fn send(kind: u32, payload: &[u8]) -> bool {{
        let f = EMIT.load(Ordering::Relaxed);
        if f == 0 {{
            return false;
        }}
        let f: extern "C" fn(u32, *const u8, usize) = unsafe {{ std::mem::transmute(f) }};
        f(kind, payload.as_ptr(), payload.len());
        true
    }}
}}
}}"#,
        display = frame_kinds::display(),
        clear = frame_kinds::clear(),
        content = frame_kinds::content(),
        panic = frame_kinds::panic(),
    )
}

#[cfg(test)]
mod tests {
    use super::module;

    #[test]
    fn frames_go_through_the_runtime() {
        let m = module();
        assert!(m.starts_with("pub mod sluice {"));
        assert!(
            m.contains("pub extern \"C\" fn sluice_session_attach(emit: usize)"),
            "{m}"
        );
        assert!(
            m.contains("pub extern \"C\" fn sluice_session_flush()"),
            "{m}"
        );
        assert!(m.contains(&format!(
            "pub const DISPLAY: u32 = {};",
            crate::runtime::frame_kinds::display()
        )));
        assert!(!m.contains("SLUICE_BEGIN_DISPLAY"), "{m}");
    }
}
