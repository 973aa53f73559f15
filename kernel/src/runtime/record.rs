//! What the runtime tells the kernel, one record per line on the evaluation
//! process's stderr (the pipe evcxr reads line by line and hands to the
//! kernel untouched).
//!
//! The user's stdout and stderr both travel here as text records, so evcxr's
//! stdout carries nothing but its own protocol (markers and content blocks)
//! and user output can never be read as a marker. Events (a panic, a display,
//! a restored session) travel in the same stream, in order with the text
//! around them.
//!
//! A record is `RS kind payload .`: the ASCII record separator, one letter,
//! the payload (UTF-8, never a newline) and a final `.` that protects a
//! trailing `\r` (evcxr's line reader drops a `\r` right before the newline).
//! A line that is not a record (the runtime's own panic message, say) is
//! read as stderr text.

use serde::{Deserialize, Serialize};

/// Starts every record.
const RS: char = '\u{1e}';
/// Ends every record.
const END: char = '.';

/// Which of the user's streams a text record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The cell's stdout.
    Stdout,
    /// The cell's stderr.
    Stderr,
}

/// Why a cell ran without a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoSnapshot {
    /// `SLUICE_SNAPSHOT=0`.
    Off,
    /// The session held other threads; fork copies only the calling one.
    Threads {
        /// How many threads besides the one that runs cells.
        count: usize,
        /// Their names (`/proc/self/task/*/comm`), at most a few.
        names: Vec<String>,
    },
    /// fork failed.
    Failed {
        /// The system's error.
        error: String,
    },
}

/// What the runtime reports to the kernel besides text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The cell's own code panicked and did not catch the panic (evcxr's
    /// panic notification). `pid`: the session process, whose main thread
    /// ran the cell.
    Panicked {
        /// The live session process.
        pid: u32,
    },
    /// A `?` in the cell's code returned early with an error (evcxr
    /// printed the error on stderr and kept none of the cell's new
    /// variables).
    UserError,
    /// A panic, as the session's panic hook saw it. `main`: on the
    /// session's main thread, which runs the cells (the panic may still be
    /// caught by the cell).
    Panic {
        /// Whether the cell's own thread panicked.
        main: bool,
        /// evcxr's build number of the code that panicked.
        build: u64,
        /// The thread's name.
        thread: String,
        /// `src/lib.rs:3:5`.
        location: String,
        /// The panic's message.
        message: String,
    },
    /// `sluice::display` / `display_in`.
    Display {
        /// MIME type.
        mime: String,
        /// Display id, for updates.
        id: Option<String>,
        /// The content.
        content: String,
    },
    /// `sluice::clear_output`.
    ClearOutput {
        /// Wait for the next output before clearing.
        wait: bool,
    },
    /// A cell's code ran to its end.
    Finished {
        /// Microseconds the snapshot took, or why there was none.
        snapshot: Result<u64, NoSnapshot>,
    },
    /// The cell was interrupted or its process died, and the snapshot taken
    /// before it took over: the session is as it was before the cell.
    Restored {
        /// What happened: `interrupted`, `killed by SIGSEGV (...)`, ...
        cause: String,
        /// False when the cell was stopped before it started running.
        ran: bool,
    },
    /// The cell was interrupted or its process died and nothing could take
    /// over: evcxr starts a new process, the session's variables are gone.
    Lost {
        /// What happened.
        cause: String,
        /// Why no snapshot could take over.
        why: NoSnapshot,
    },
    /// The session process died while no cell was running.
    Died {
        /// What happened.
        cause: String,
    },
    /// Something the person should know about the runtime itself.
    Notice {
        /// The text.
        text: String,
    },
}

/// One line of the runtime's stderr, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Text the cell wrote; `newline`: a whole line (add `\n`).
    Text {
        /// stdout or stderr.
        stream: Stream,
        /// The text, without its newline.
        text: String,
        /// Whether a newline ended it.
        newline: bool,
    },
    /// An event.
    Event(Event),
}

impl Record {
    /// The line for this record (without the newline).
    pub fn encode(&self) -> String {
        match self {
            Record::Text {
                stream,
                text,
                newline,
            } => {
                let kind = match (stream, newline) {
                    (Stream::Stdout, true) => 'o',
                    (Stream::Stdout, false) => 'p',
                    (Stream::Stderr, true) => 'e',
                    (Stream::Stderr, false) => 'f',
                };
                let mut line = String::with_capacity(text.len() + 3);
                line.push(RS);
                line.push(kind);
                line.push_str(text);
                line.push(END);
                line
            }
            Record::Event(event) => {
                // An enum of strings, numbers and options always serializes.
                let json = serde_json::to_string(event).unwrap_or_default();
                format!("{RS}!{json}{END}")
            }
        }
    }

    /// Reads one line; anything that is not a record is stderr text.
    pub fn decode(line: &str) -> Record {
        let framed = line
            .strip_prefix(RS)
            .and_then(|rest| rest.strip_suffix(END))
            .and_then(|rest| {
                let mut chars = rest.chars();
                let kind = chars.next()?;
                Some((kind, chars.as_str()))
            });
        let text = |stream, newline, text: &str| Record::Text {
            stream,
            text: text.to_string(),
            newline,
        };
        match framed {
            Some(('o', t)) => text(Stream::Stdout, true, t),
            Some(('p', t)) => text(Stream::Stdout, false, t),
            Some(('e', t)) => text(Stream::Stderr, true, t),
            Some(('f', t)) => text(Stream::Stderr, false, t),
            Some(('!', json)) => match serde_json::from_str(json) {
                Ok(event) => Record::Event(event),
                Err(_) => text(Stream::Stderr, true, line),
            },
            _ => text(Stream::Stderr, true, line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: Record) {
        let line = r.encode();
        assert!(!line.contains('\n'), "{line:?}");
        assert_eq!(Record::decode(&line), r);
    }

    #[test]
    fn text_and_events_round_trip() {
        for (stream, newline) in [
            (Stream::Stdout, true),
            (Stream::Stdout, false),
            (Stream::Stderr, true),
            (Stream::Stderr, false),
        ] {
            round_trip(Record::Text {
                stream,
                text: "progress 50 %\r".into(),
                newline,
            });
            round_trip(Record::Text {
                stream,
                text: String::new(),
                newline,
            });
        }
        round_trip(Record::Event(Event::Display {
            mime: "text/html".into(),
            id: Some("_p".into()),
            content: "<b>a</b>\n<i>b</i>\r".into(),
        }));
        round_trip(Record::Event(Event::Finished {
            snapshot: Err(NoSnapshot::Threads {
                count: 2,
                names: vec!["tokio-rt".into(), "x".into()],
            }),
        }));
        round_trip(Record::Event(Event::Finished { snapshot: Ok(812) }));
        round_trip(Record::Event(Event::Restored {
            cause: "interrupted".into(),
            ran: true,
        }));
    }

    #[test]
    fn a_trailing_carriage_return_survives_evcxrs_line_reader() {
        let line = Record::Text {
            stream: Stream::Stdout,
            text: "\r50 %\r".into(),
            newline: false,
        }
        .encode();
        // evcxr strips "\r\n" or "\n" from the end of the line it reads.
        let read = format!("{line}\n");
        let read = read.strip_suffix('\n').unwrap_or(&read);
        let read = read.strip_suffix('\r').unwrap_or(read);
        assert_eq!(
            Record::decode(read),
            Record::Text {
                stream: Stream::Stdout,
                text: "\r50 %\r".into(),
                newline: false
            }
        );
    }

    #[test]
    fn anything_else_is_stderr_text() {
        for line in [
            "thread 'main' panicked",
            "\u{1e}x",
            "\u{1e}!{not json}.",
            "",
        ] {
            assert_eq!(
                Record::decode(line),
                Record::Text {
                    stream: Stream::Stderr,
                    text: line.into(),
                    newline: true
                }
            );
        }
    }
}
