//! Lines from a pipe, for the runtime's command channels (evcxr's commands,
//! the session's reports): bytes are gathered until a newline; a line that
//! is not UTF-8 is read lossily (these channels carry only the runtime's
//! own ASCII lines and evcxr's UTF-8 paths).

use std::io;
use std::os::fd::RawFd;

use super::fds;

/// Gathers bytes into lines.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
}

/// What one read gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The lines it completed (possibly none).
    Lines(Vec<String>),
    /// The writer closed the pipe.
    Closed,
}

impl LineReader {
    /// Reads once from `fd` (blocking or not) and returns the lines completed.
    pub fn read_from(&mut self, fd: RawFd) -> io::Result<Read> {
        let mut chunk = [0u8; 8192];
        match fds::read(fd, &mut chunk) {
            Ok(0) => Ok(Read::Closed),
            Ok(n) => Ok(Read::Lines(self.push(&chunk[..n]))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Read::Lines(Vec::new())),
            Err(e) => Err(e),
        }
    }

    /// Adds bytes and returns the lines they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=at).collect();
            lines.push(String::from_utf8_lossy(&line[..at]).into_owned());
        }
        lines
    }

    /// Forgets a partial line (its writer died).
    pub fn reset(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_pushes() {
        let mut r = LineReader::default();
        assert_eq!(r.push(b"LOAD_AND"), Vec::<String>::new());
        assert_eq!(r.push(b"_RUN a b\nx\ny"), vec!["LOAD_AND_RUN a b", "x"]);
        r.reset();
        assert_eq!(r.push(b"z\n"), vec!["z"]);
    }
}
