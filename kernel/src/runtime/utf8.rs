//! Bytes the cell wrote, as lines of text.
//!
//! Output is bytes: a cell may write anything. Every invalid UTF-8 sequence
//! becomes U+FFFD (one per maximal invalid subpart, as `from_utf8_lossy`
//! does), and a sequence cut in two by a read boundary is completed by the
//! next read instead of being replaced. The text after the last newline is
//! kept until the caller takes it.

/// A streaming lossy decoder that splits on `\n`.
#[derive(Debug, Default)]
pub struct Utf8Lines {
    /// The start of a UTF-8 sequence the last read ended inside (≤ 3 bytes).
    incomplete: Vec<u8>,
    /// Decoded text after the last newline.
    line: String,
}

impl Utf8Lines {
    /// Decodes `bytes`, appending each completed line (without its `\n`) to `lines`.
    pub fn push(&mut self, bytes: &[u8], lines: &mut Vec<String>) {
        let owned;
        let mut rest: &[u8] = if self.incomplete.is_empty() {
            bytes
        } else {
            let mut joined = std::mem::take(&mut self.incomplete);
            joined.extend_from_slice(bytes);
            owned = joined;
            &owned
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.take_text(text, lines);
                    return;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // `valid` was just checked by from_utf8.
                    self.take_text(std::str::from_utf8(valid).unwrap_or_default(), lines);
                    match e.error_len() {
                        Some(n) => {
                            self.line.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[n..];
                        }
                        None => {
                            self.incomplete = after.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    fn take_text(&mut self, text: &str, lines: &mut Vec<String>) {
        let mut parts = text.split('\n');
        if let Some(first) = parts.next() {
            self.line.push_str(first);
        }
        for part in parts {
            lines.push(std::mem::replace(&mut self.line, part.to_string()));
        }
    }

    /// Takes the text after the last newline, if there is any.
    pub fn take_partial(&mut self) -> Option<String> {
        (!self.line.is_empty()).then(|| std::mem::take(&mut self.line))
    }

    /// The stream ended (for now): an unfinished sequence becomes U+FFFD;
    /// returns the text after the last newline.
    pub fn finish(&mut self) -> Option<String> {
        if !self.incomplete.is_empty() {
            self.incomplete.clear();
            self.line.push(char::REPLACEMENT_CHARACTER);
        }
        self.take_partial()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> (Vec<String>, Option<String>) {
        let mut d = Utf8Lines::default();
        let mut lines = Vec::new();
        for c in chunks {
            d.push(c, &mut lines);
        }
        (lines, d.finish())
    }

    #[test]
    fn lines_and_the_rest() {
        assert_eq!(
            decode(&[b"a\nb", b"c\n\nd"]),
            (vec!["a".into(), "bc".into(), "".into()], Some("d".into()))
        );
        assert_eq!(decode(&[b"x\n"]), (vec!["x".into()], None));
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        assert_eq!(
            decode(&[b"ok \xff\xfe end\n"]),
            (vec!["ok \u{fffd}\u{fffd} end".into()], None)
        );
        // A truncated sequence before a newline does not eat the newline.
        assert_eq!(
            decode(&[b"\xe2\x82\nnext\n"]),
            (vec!["\u{fffd}".into(), "next".into()], None)
        );
        assert_eq!(
            decode(&[b"tail \xe2\x82"]),
            (vec![], Some("tail \u{fffd}".into()))
        );
    }

    #[test]
    fn a_sequence_split_between_reads_is_kept_whole() {
        assert_eq!(
            decode(&[b"\xe2", b"\x82", b"\xac\n"]),
            (vec!["€".into()], None)
        );
        assert_eq!(
            decode(&[b"\xf0\x9f", b"\x98\x80"]),
            (vec![], Some("😀".into()))
        );
    }
}
