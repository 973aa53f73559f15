//! The lines the session's `sluice` module (`engine/session_api.rs`) prints
//! on stdout for the kernel, read back by the stream forwarder:
//!
//! - `SLUICE_CLEAR_OUTPUT wait|now` → a `clear_output` message;
//! - `SLUICE_BEGIN_DISPLAY <mime> [<id>]`, the content lines,
//!   `SLUICE_END_DISPLAY` → a `display_data` (or, for an id shown before,
//!   an `update_display_data`).
//!
//! They travel with the cell's other output, so they are published in order
//! with it and while the cell runs (evcxr's own `EVCXR_BEGIN_CONTENT` blocks
//! are gathered into one map and shown only when the cell ends).

/// Starts a clear-output line.
pub const CLEAR_OUTPUT: &str = "SLUICE_CLEAR_OUTPUT";
/// Starts a display block: `SLUICE_BEGIN_DISPLAY <mime> [<id>]`.
pub const BEGIN_DISPLAY: &str = "SLUICE_BEGIN_DISPLAY";
/// Ends a display block.
pub const END_DISPLAY: &str = "SLUICE_END_DISPLAY";

/// What one stdout line means.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Ordinary output: forward it.
    Text,
    /// Part of a display block still open.
    Consumed,
    /// `clear_output`, waiting for the next output or not.
    ClearOutput { wait: bool },
    /// A finished display block.
    Display {
        mime: String,
        id: Option<String>,
        content: String,
    },
}

/// An open display block.
#[derive(Debug)]
struct Block {
    mime: String,
    id: Option<String>,
    content: String,
}

/// Reads stdout lines one at a time (a block may span several reads).
#[derive(Debug, Default)]
pub struct SessionOutput {
    block: Option<Block>,
}

impl SessionOutput {
    /// Classifies `line`.
    pub fn line(&mut self, line: &str) -> Event {
        if line == END_DISPLAY
            && let Some(Block { mime, id, content }) = self.block.take()
        {
            return Event::Display { mime, id, content };
        }
        if let Some(block) = &mut self.block {
            if !block.content.is_empty() {
                block.content.push('\n');
            }
            block.content.push_str(line);
            return Event::Consumed;
        }
        if let Some(rest) = line.strip_prefix(CLEAR_OUTPUT) {
            match rest {
                " wait" => return Event::ClearOutput { wait: true },
                " now" => return Event::ClearOutput { wait: false },
                _ => return Event::Text,
            }
        }
        if let Some(rest) = line
            .strip_prefix(BEGIN_DISPLAY)
            .and_then(|r| r.strip_prefix(' '))
        {
            let mut words = rest.split_whitespace();
            if let Some(mime) = words.next().filter(|m| m.contains('/')) {
                let id = words.next().map(str::to_string);
                if words.next().is_none() {
                    self.block = Some(Block {
                        mime: mime.to_string(),
                        id,
                        content: String::new(),
                    });
                    return Event::Consumed;
                }
            }
        }
        Event::Text
    }

    /// The cell ended inside a block (it printed a header and never the end
    /// line, or panicked in between): what it printed, to show as text.
    pub fn take_open(&mut self) -> Option<String> {
        let block = self.block.take()?;
        let id = block.id.map(|id| format!(" {id}")).unwrap_or_default();
        let mut text = format!("{BEGIN_DISPLAY} {}{id}\n", block.mime);
        if !block.content.is_empty() {
            text.push_str(&block.content);
            text.push('\n');
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_output_lines() {
        let mut s = SessionOutput::default();
        assert_eq!(
            s.line("SLUICE_CLEAR_OUTPUT wait"),
            Event::ClearOutput { wait: true }
        );
        assert_eq!(
            s.line("SLUICE_CLEAR_OUTPUT now"),
            Event::ClearOutput { wait: false }
        );
        assert_eq!(s.line("SLUICE_CLEAR_OUTPUT"), Event::Text);
        assert_eq!(s.line("x SLUICE_CLEAR_OUTPUT now"), Event::Text);
    }

    #[test]
    fn display_blocks_span_lines() {
        let mut s = SessionOutput::default();
        assert_eq!(
            s.line("SLUICE_BEGIN_DISPLAY text/html bar"),
            Event::Consumed
        );
        assert_eq!(s.line("<b>1</b>"), Event::Consumed);
        assert_eq!(s.line("<i>2</i>"), Event::Consumed);
        assert_eq!(
            s.line("SLUICE_END_DISPLAY"),
            Event::Display {
                mime: "text/html".into(),
                id: Some("bar".into()),
                content: "<b>1</b>\n<i>2</i>".into()
            }
        );
        assert_eq!(s.line("plain"), Event::Text);
        assert_eq!(s.line("SLUICE_BEGIN_DISPLAY text/plain"), Event::Consumed);
        assert_eq!(
            s.line("SLUICE_END_DISPLAY"),
            Event::Display {
                mime: "text/plain".into(),
                id: None,
                content: String::new()
            }
        );
    }

    #[test]
    fn malformed_headers_are_text_and_an_open_block_is_given_back() {
        let mut s = SessionOutput::default();
        assert_eq!(s.line("SLUICE_BEGIN_DISPLAY"), Event::Text);
        assert_eq!(s.line("SLUICE_BEGIN_DISPLAY nomime"), Event::Text);
        assert_eq!(s.line("SLUICE_BEGIN_DISPLAY a/b id extra"), Event::Text);
        assert_eq!(s.line("SLUICE_BEGIN_DISPLAY a/b"), Event::Consumed);
        assert_eq!(s.line("kept"), Event::Consumed);
        assert_eq!(
            s.take_open().as_deref(),
            Some("SLUICE_BEGIN_DISPLAY a/b\nkept\n")
        );
        assert_eq!(s.take_open(), None);
        assert_eq!(s.line("after"), Event::Text);
    }
}
