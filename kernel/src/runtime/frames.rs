//! sluice's own output inside the session's stdout: frames.
//!
//! `sluice::display`, `display_in`, `clear_output` and the cell's value (the
//! session's display trait) are written into the session's stdout pipe as
//! frames, in order with the text the cell printed around them, so they
//! show where they were made. A frame is
//!
//! ```text
//! 0x1E  token (32 hex digits)  kind (1 byte)  length (8 hex digits)  payload
//! ```
//!
//! The token is drawn at random when the runtime starts and is known only
//! to the runtime, so text a cell prints is never read as a frame (a cell
//! that prints `SLUICE_BEGIN_DISPLAY` or `0x1E` bytes prints text).
//! [`Scanner`] splits the stdout byte stream back into text and frames.

/// The first byte of a frame.
const INTRO: u8 = 0x1e;
/// Hex digits of the token.
pub const TOKEN_LEN: usize = 32;
const HEADER: usize = 1 + TOKEN_LEN + 1 + 8;

/// A frame's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `mime \0 id \0 content` (empty id: none).
    Display,
    /// `wait` or `now`.
    Clear,
    /// The cell's value for evcxr: `mime \0 content`.
    Content,
    /// A panic: `main \0 build \0 thread \0 location \0 message`,
    /// `main` being `1` when the session's main thread (the cell's own)
    /// panicked, `build` evcxr's number of the library whose code panicked.
    Panic,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Display => b'D',
            Kind::Clear => b'C',
            Kind::Content => b'V',
            Kind::Panic => b'P',
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            b'D' => Some(Kind::Display),
            b'C' => Some(Kind::Clear),
            b'V' => Some(Kind::Content),
            b'P' => Some(Kind::Panic),
            _ => None,
        }
    }

    /// The number the session code passes for this kind.
    pub fn code(self) -> u32 {
        u32::from(self.byte())
    }

    /// The kind the session code passed, if it is one.
    pub fn from_code(code: u32) -> Option<Kind> {
        u8::try_from(code).ok().and_then(Kind::from_byte)
    }
}

/// A fresh random token (hex), from the kernel's random source.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        return Err(std::io::Error::last_os_error());
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The bytes of one frame.
pub fn encode(token: &str, kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(INTRO);
    out.extend_from_slice(token.as_bytes());
    out.push(kind.byte());
    out.extend_from_slice(format!("{:08x}", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// A piece of the stdout byte stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Bytes the cell wrote.
    Bytes(Vec<u8>),
    /// A whole frame.
    Frame(Kind, Vec<u8>),
}

/// Splits the stdout byte stream into text and frames.
#[derive(Debug)]
pub struct Scanner {
    token: Vec<u8>,
    /// Bytes that may be the start of a frame header.
    pending: Vec<u8>,
    /// The frame being read: its kind, bytes still to come, payload so far.
    frame: Option<(Kind, usize, Vec<u8>)>,
}

impl Scanner {
    /// A scanner for frames with `token`.
    pub fn new(token: &str) -> Scanner {
        Scanner {
            token: token.as_bytes().to_vec(),
            pending: Vec::new(),
            frame: None,
        }
    }

    /// Reads `data`, appending the pieces it completes to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Piece>) {
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            data
        } else {
            let mut all = std::mem::take(&mut self.pending);
            all.extend_from_slice(data);
            joined = all;
            &joined
        };
        while !rest.is_empty() {
            if let Some((kind, left, mut payload)) = self.frame.take() {
                let n = left.min(rest.len());
                payload.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                if n == left {
                    out.push(Piece::Frame(kind, payload));
                } else {
                    self.frame = Some((kind, left - n, payload));
                }
                continue;
            }
            let Some(at) = rest.iter().position(|&b| b == INTRO) else {
                push_bytes(out, rest);
                return;
            };
            push_bytes(out, &rest[..at]);
            rest = &rest[at..];
            match self.header(rest) {
                Header::Incomplete => {
                    self.pending = rest.to_vec();
                    return;
                }
                Header::NotAFrame => {
                    push_bytes(out, &rest[..1]);
                    rest = &rest[1..];
                }
                Header::Frame(kind, len) => {
                    rest = &rest[HEADER..];
                    if len == 0 {
                        out.push(Piece::Frame(kind, Vec::new()));
                    } else {
                        self.frame = Some((kind, len, Vec::with_capacity(len.min(1 << 20))));
                    }
                }
            }
        }
    }

    fn header(&self, bytes: &[u8]) -> Header {
        let token_end = 1 + TOKEN_LEN;
        let seen = bytes.len().min(token_end);
        if bytes[1..seen] != self.token[..seen - 1] {
            return Header::NotAFrame;
        }
        if bytes.len() < HEADER {
            return Header::Incomplete;
        }
        let kind = Kind::from_byte(bytes[token_end]);
        let len = std::str::from_utf8(&bytes[token_end + 1..HEADER])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok());
        match (kind, len) {
            (Some(kind), Some(len)) => Header::Frame(kind, len),
            _ => Header::NotAFrame,
        }
    }

    /// The stream stopped (the cell ended): bytes held back because they
    /// might have started a frame are text after all.
    pub fn finish(&mut self, out: &mut Vec<Piece>) {
        let pending = std::mem::take(&mut self.pending);
        push_bytes(out, &pending);
    }

    /// The writer died: a frame it was writing will never end.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.frame = None;
    }
}

enum Header {
    Incomplete,
    NotAFrame,
    Frame(Kind, usize),
}

fn push_bytes(out: &mut Vec<Piece>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Piece::Bytes(last)) = out.last_mut() {
        last.extend_from_slice(bytes);
    } else {
        out.push(Piece::Bytes(bytes.to_vec()));
    }
}

/// A display frame's fields: mime, id (None when empty), content.
pub fn split_display(payload: &[u8]) -> (String, Option<String>, String) {
    let mut parts = payload.splitn(3, |&b| b == 0);
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    let mime = text(parts.next());
    let id = text(parts.next());
    let content = text(parts.next());
    (mime, (!id.is_empty()).then_some(id), content)
}

/// A panic frame's fields.
pub struct PanicFields {
    /// The session's main thread panicked.
    pub main: bool,
    /// evcxr's build number of the code that panicked.
    pub build: u64,
    /// The thread's name.
    pub thread: String,
    /// `src/lib.rs:L:C`.
    pub location: String,
    /// The message.
    pub message: String,
}

/// Reads a panic frame.
pub fn split_panic(payload: &[u8]) -> PanicFields {
    let mut parts = payload.splitn(5, |&b| b == 0);
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    let main = parts.next() == Some(b"1");
    let build = text(parts.next()).parse().unwrap_or(0);
    PanicFields {
        main,
        build,
        thread: text(parts.next()),
        location: text(parts.next()),
        message: text(parts.next()),
    }
}

/// A content frame's fields: mime, content.
pub fn split_content(payload: &[u8]) -> (String, String) {
    let mut parts = payload.splitn(2, |&b| b == 0);
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    (text(parts.next()), text(parts.next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn scan(chunks: &[&[u8]]) -> Vec<Piece> {
        let mut s = Scanner::new(TOKEN);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn frames_between_text_in_any_chunking() {
        let mut all = b"row 1\n".to_vec();
        all.extend(encode(TOKEN, Kind::Display, b"text/html\0\0<b>1</b>"));
        all.extend(b"row 2\n");
        all.extend(encode(TOKEN, Kind::Clear, b"now"));
        let want = vec![
            Piece::Bytes(b"row 1\n".to_vec()),
            Piece::Frame(Kind::Display, b"text/html\0\0<b>1</b>".to_vec()),
            Piece::Bytes(b"row 2\n".to_vec()),
            Piece::Frame(Kind::Clear, b"now".to_vec()),
        ];
        for size in [1, 2, 7, 41, 42, 43, all.len()] {
            let chunks: Vec<&[u8]> = all.chunks(size).collect();
            let mut got = scan(&chunks);
            // Adjacent byte pieces from separate chunks are one stream.
            let mut merged: Vec<Piece> = Vec::new();
            for p in got.drain(..) {
                match (merged.last_mut(), p) {
                    (Some(Piece::Bytes(a)), Piece::Bytes(b)) => a.extend(b),
                    (_, p) => merged.push(p),
                }
            }
            assert_eq!(merged, want, "chunk size {size}");
        }
    }

    #[test]
    fn lookalikes_are_text() {
        let fake = encode("ffffffffffffffffffffffffffffffff", Kind::Clear, b"now");
        assert_eq!(scan(&[&fake]), vec![Piece::Bytes(fake.clone())]);
        assert_eq!(
            scan(&[b"a\x1eb\x1e"]),
            vec![Piece::Bytes(b"a\x1eb\x1e".to_vec())]
        );
        let mut bad_len = encode(TOKEN, Kind::Clear, b"now");
        bad_len[HEADER - 1] = b'z';
        assert_eq!(scan(&[&bad_len]), vec![Piece::Bytes(bad_len.clone())]);
    }

    #[test]
    fn fields() {
        assert_eq!(
            split_display(b"text/plain\0_id\0a\0b"),
            ("text/plain".into(), Some("_id".into()), "a\0b".into())
        );
        assert_eq!(
            split_display(b"text/plain\0\0x"),
            ("text/plain".into(), None, "x".into())
        );
        assert_eq!(
            split_content(b"text/plain\0[1]"),
            ("text/plain".into(), "[1]".into())
        );
        let p = split_panic(b"1\x007\x00main\x00src/lib.rs:3:5\x00boom\x00x");
        assert!(p.main);
        assert_eq!(p.build, 7);
        assert_eq!(
            (p.thread.as_str(), p.location.as_str()),
            ("main", "src/lib.rs:3:5")
        );
        assert_eq!(p.message, "boom\0x");
        assert_eq!(Kind::from_code(Kind::Content.code()), Some(Kind::Content));
        assert_eq!(Kind::from_code(7000), None);
    }
}
