//! What the kernel defines in every session for cells to call, as the
//! module `sluice`:
//!
//! - `sluice::clear_output(wait: bool)` clears the cell's output (Jupyter's
//!   `clear_output`; with `wait`, only once new output arrives, for
//!   flicker-free progress displays). It prints a marker line on stdout that
//!   the stream forwarder turns into the message, in order with the text
//!   printed around it (`streams.rs`).
//!
//! It is defined in the same build as the display trait at warm-up (and again
//! after `:clear`), so it costs no build of its own.

use crate::streams::CLEAR_OUTPUT_MARKER;

/// The module's source.
pub(super) fn module() -> String {
    format!(
        "pub mod sluice {{ \
/// Clears this cell's output; with `wait`, only when new output arrives. \n\
pub fn clear_output(wait: bool) {{ use std::io::Write as _; \
let mut out = std::io::stdout().lock(); \
let _ = out.write_all(if wait {{ b\"{m} wait\\n\" }} else {{ b\"{m} now\\n\" }}); \
let _ = out.flush(); }} }}",
        m = CLEAR_OUTPUT_MARKER
    )
}

#[cfg(test)]
mod tests {
    use super::module;

    #[test]
    fn prints_the_marker_the_forwarder_reads() {
        let m = module();
        assert!(m.contains("b\"SLUICE_CLEAR_OUTPUT wait\\n\""), "{m}");
        assert!(m.contains("b\"SLUICE_CLEAR_OUTPUT now\\n\""), "{m}");
        assert!(m.starts_with("pub mod sluice {"));
    }
}
