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
//!   library — `sluice_session_attach` (the runtime's frame writers, and a
//!   panic hook that hands each panic to the runtime, so the kernel learns
//!   which thread panicked where instead of reading stderr) and
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
    __runtime::emit(__runtime::CLEAR, if wait {{ "wait" }} else {{ "now" }}, "", "");
}}
/// Shows `content` as `mime` (e.g. "text/html") now, in order with the printed text.
pub fn display(mime: &str, content: &str) {{
    __runtime::emit(__runtime::DISPLAY, mime, "", content);
}}
/// Shows `content` as the display `id`: new the first time, updated in place later.
pub fn display_in(id: &str, mime: &str, content: &str) {{
    let id = format!("_{{}}", id.split_whitespace().collect::<Vec<_>>().join("_"));
    __runtime::emit(__runtime::DISPLAY, mime, &id, content);
}}
#[doc(hidden)]
pub mod __runtime {{
    use std::sync::atomic::{{AtomicUsize, Ordering}};
    pub const DISPLAY: u32 = {display};
    pub const CLEAR: u32 = {clear};
    pub const CONTENT: u32 = {content};
    static EMIT: AtomicUsize = AtomicUsize::new(0);
    static PANIC: AtomicUsize = AtomicUsize::new(0);
    type Emit = extern "C" fn(u32, *const u8, usize, *const u8, usize, *const u8, usize);
    type Panic = extern "C" fn(*const u8, usize, *const u8, usize, u32, u32, *const u8, usize);
    #[unsafe(no_mangle)]
    pub extern "C" fn sluice_session_attach(emit: usize, panic: usize) {{
        EMIT.store(emit, Ordering::Relaxed);
        PANIC.store(panic, Ordering::Relaxed);
        std::panic::set_hook(Box::new(hook));
    }}
    fn hook(info: &std::panic::PanicHookInfo<'_>) {{
        let p = info.payload();
        let message: &str = match (p.downcast_ref::<&str>(), p.downcast_ref::<String>()) {{
            (Some(s), _) => s,
            (_, Some(s)) => s,
            _ => "Box<dyn Any>",
        }};
        let (file, line, column) = info.location().map_or(("", 0, 0), |l| (l.file(), l.line(), l.column()));
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        let f: Panic = unsafe {{ std::mem::transmute(PANIC.load(Ordering::Relaxed)) }};
        f(name.as_ptr(), name.len(), file.as_ptr(), file.len(), line, column, message.as_ptr(), message.len());
    }}
    #[unsafe(no_mangle)]
    pub extern "C" fn sluice_session_flush() {{
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }}
    /// Sends a frame after the text printed so far; false if no runtime listens.
    pub fn emit(kind: u32, a: &str, b: &str, c: &str) -> bool {{
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let f = EMIT.load(Ordering::Relaxed);
        if f == 0 {{
            return false;
        }}
        let f: Emit = unsafe {{ std::mem::transmute(f) }};
        f(kind, a.as_ptr(), a.len(), b.as_ptr(), b.len(), c.as_ptr(), c.len());
        true
    }}
}}
}}"#,
        display = frame_kinds::display(),
        clear = frame_kinds::clear(),
        content = frame_kinds::content(),
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
            m.contains("pub extern \"C\" fn sluice_session_attach(emit: usize, panic: usize)"),
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
