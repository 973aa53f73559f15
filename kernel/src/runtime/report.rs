//! What the session process tells its supervisor, one JSON line per report
//! on the report pipe. Each report is one `write` of less than `PIPE_BUF`
//! bytes, so reports from a session and from its snapshot never mix.

use serde::{Deserialize, Serialize};

use super::record::NoSnapshot;

/// A report from the session process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// Before the cell: the snapshot's pid and how long taking it took
    /// (microseconds), or why there is none.
    Snapshot(Result<(u32, u64), NoSnapshot>),
    /// The cell's function returned and its output was flushed.
    Done,
    /// The cell's library could not be loaded: nothing ran.
    NotRun {
        /// Why.
        error: String,
    },
    /// A snapshot took over: it is the session now.
    Ready {
        /// Its pid.
        pid: u32,
    },
    /// The cell's thread overflowed its stack (sent from the SIGSEGV
    /// handler, as [`OVERFLOW_LINE`]).
    Overflow,
}

/// [`Report::Overflow`] as bytes, for the signal handler (no allocation there).
pub const OVERFLOW_LINE: &[u8] = b"\"overflow\"\n";

impl Report {
    /// The line to write (with its newline).
    pub fn line(&self) -> Vec<u8> {
        // A report of strings and numbers always serializes.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Reads a line; None if it is not a report.
    pub fn parse(line: &str) -> Option<Report> {
        serde_json::from_str(line).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip_and_the_overflow_line_is_one() {
        for r in [
            Report::Snapshot(Ok((42, 900))),
            Report::Snapshot(Err(NoSnapshot::Threads {
                count: 1,
                names: vec!["worker".into()],
            })),
            Report::Done,
            Report::NotRun {
                error: "no such file".into(),
            },
            Report::Ready { pid: 7 },
        ] {
            let line = r.line();
            let text = std::str::from_utf8(&line).expect("utf-8");
            assert_eq!(Report::parse(text.trim_end()), Some(r));
        }
        assert_eq!(Report::Overflow.line(), OVERFLOW_LINE);
        assert_eq!(Report::parse("garbage"), None);
    }
}
