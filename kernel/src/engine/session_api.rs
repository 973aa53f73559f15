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
//!   updates that same display afterwards (in this or a later cell).
//!
//! They print lines that the stream forwarder turns into messages
//! (`session_output.rs`). The module is defined in the same build as the
//! display trait at warm-up (and again after `:clear`): no build of its own.

use crate::session_output::{BEGIN_DISPLAY, CLEAR_OUTPUT, END_DISPLAY};

/// The module's source.
pub(super) fn module() -> String {
    format!(
        r#"pub mod sluice {{
/// Clears this cell's output; with `wait`, only when new output arrives.
pub fn clear_output(wait: bool) {{
    emit(&[if wait {{ "{clear} wait" }} else {{ "{clear} now" }}]);
}}
/// Shows `content` as `mime` (e.g. "text/html") now, in order with the printed text.
pub fn display(mime: &str, content: &str) {{
    emit(&[&format!("{begin} {{mime}}"), content, "{end}"]);
}}
/// Shows `content` as the display `id`: new the first time, updated in place later.
pub fn display_in(id: &str, mime: &str, content: &str) {{
    let id = id.split_whitespace().collect::<Vec<_>>().join("_");
    emit(&[&format!("{begin} {{mime}} _{{id}}"), content, "{end}"]);
}}
fn emit(lines: &[&str]) {{
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for line in lines {{
        let _ = out.write_all(line.as_bytes());
        let _ = out.write_all(b"\n");
    }}
    let _ = out.flush();
}}
}}"#,
        clear = CLEAR_OUTPUT,
        begin = BEGIN_DISPLAY,
        end = END_DISPLAY
    )
}

#[cfg(test)]
mod tests {
    use super::module;

    #[test]
    fn prints_the_lines_the_forwarder_reads() {
        let m = module();
        assert!(m.starts_with("pub mod sluice {"));
        assert!(m.contains("\"SLUICE_CLEAR_OUTPUT wait\""), "{m}");
        assert!(m.contains("\"SLUICE_CLEAR_OUTPUT now\""), "{m}");
        assert!(
            m.contains("format!(\"SLUICE_BEGIN_DISPLAY {mime} _{id}\")"),
            "{m}"
        );
        assert!(m.contains("\"SLUICE_END_DISPLAY\""), "{m}");
    }
}
