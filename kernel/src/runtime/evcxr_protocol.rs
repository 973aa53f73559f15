//! evcxr 0.22's side of the protocol, as its `EvalContext` reads it (see
//! `child_process.rs` and `run_and_capture_output` in `eval_context.rs`).
//!
//! evcxr writes `LOAD_AND_RUN <library> <function>` lines to the process's
//! stdin and, while a cell runs, answers input requests with one line. It
//! reads the process's stdout line by line until `EVCXR_EXECUTION_COMPLETE`,
//! acting on a few markers the cell's generated code prints
//! (`EVCXR_PANIC_NOTIFICATION`, `EVCXR_ERROR_OCCURRED`,
//! `EVCXR_VARIABLE_CHANGED_TYPE:<name>`, `EVCXR_INPUT_REQUEST[_PASSWORD]:<prompt>`,
//! `EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT`) and passing every
//! other line on as output. It reads stderr in a thread, line by line, and
//! passes every line on.
//!
//! [`StdoutProtocol`] reads the cell's stdout lines as evcxr would and sorts
//! them: markers and content blocks go to evcxr, everything else is the
//! user's text and goes to the kernel as a record. A marker is recognised
//! at the end of a line too (`print!("abc")` then a panic writes
//! `abcEVCXR_PANIC_NOTIFICATION`), but `EVCXR_EXECUTION_COMPLETE` is never
//! taken from the cell: only the runtime ends a cell.

/// Ends a cell (only the runtime writes it).
pub const EXECUTION_COMPLETE: &str = "EVCXR_EXECUTION_COMPLETE";
/// The cell's code panicked and evcxr's `catch_unwind` caught it.
pub const PANIC_NOTIFICATION: &str = "EVCXR_PANIC_NOTIFICATION";
/// A `?` in the cell returned early.
pub const USER_ERROR_OCCURRED: &str = "EVCXR_ERROR_OCCURRED";
/// A stored variable's type changed: `EVCXR_VARIABLE_CHANGED_TYPE:<name>`.
pub const VARIABLE_CHANGED_TYPE: &str = "EVCXR_VARIABLE_CHANGED_TYPE:";
/// `EVCXR_INPUT_REQUEST:<prompt>` (also `EVCXR_INPUT_REQUEST_PASSWORD:`).
pub const INPUT_REQUEST: &str = "EVCXR_INPUT_REQUEST";
/// Starts a content block: `EVCXR_BEGIN_CONTENT <mime>`.
pub const BEGIN_CONTENT: &str = "EVCXR_BEGIN_CONTENT";
/// Ends a content block.
pub const END_CONTENT: &str = "EVCXR_END_CONTENT";

/// A line that is not UTF-8. evcxr's line reader fails on it with an I/O
/// error after consuming it: `eval` returns that error without committing
/// the cell's state and without restarting the process. This is how the
/// runtime ends a cell whose snapshot took over: evcxr's state stays as it
/// was before the cell, like the session's memory.
pub const ABORT_LINE: &[u8] = b"\xff\xfe sluice: cell aborted\n";

/// `LOAD_AND_RUN <library> <function>` → (library, function).
pub fn parse_load_and_run(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("LOAD_AND_RUN ")?;
    let (library, function) = rest.split_once(' ')?;
    (!library.is_empty() && !function.is_empty() && !function.contains(' '))
        .then_some((library, function))
}

/// What to do with one piece of the cell's stdout.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// A line for evcxr's stdout (a marker or a content line).
    ToEvcxr(String),
    /// User text for the kernel; `newline`: a whole line.
    Text(String, bool),
    /// The cell's own code panicked (also passed to evcxr).
    Panicked,
    /// The cell asked evcxr for input (also passed to evcxr).
    InputRequested,
    /// A `?` in the cell's code returned early with an error (evcxr's
    /// user-error marker, also passed to evcxr).
    UserError,
}

/// evcxr's view of the cell's stdout: inside a content block or not.
#[derive(Debug, Default)]
pub struct StdoutProtocol {
    in_content: bool,
}

impl StdoutProtocol {
    /// Sorts one whole stdout line (without its newline).
    pub fn line(&mut self, line: String, out: &mut Vec<Action>) {
        if self.in_content {
            if let Some(before) = line.strip_suffix(END_CONTENT) {
                to_evcxr_if_any(before, out);
                out.push(Action::ToEvcxr(END_CONTENT.into()));
                self.in_content = false;
            } else if let Some(before) = line.strip_suffix(PANIC_NOTIFICATION) {
                to_evcxr_if_any(before, out);
                out.push(Action::ToEvcxr(PANIC_NOTIFICATION.into()));
                out.push(Action::Panicked);
                self.in_content = false;
            } else {
                out.push(Action::ToEvcxr(line));
            }
            return;
        }
        for marker in [PANIC_NOTIFICATION, USER_ERROR_OCCURRED] {
            if let Some(before) = line.strip_suffix(marker) {
                text_if_any(before, out);
                out.push(Action::ToEvcxr(marker.into()));
                out.push(if marker == PANIC_NOTIFICATION {
                    Action::Panicked
                } else {
                    Action::UserError
                });
                return;
            }
        }
        if line.starts_with(VARIABLE_CHANGED_TYPE) {
            out.push(Action::ToEvcxr(line));
        } else if line.starts_with(INPUT_REQUEST) {
            out.push(Action::ToEvcxr(line));
            out.push(Action::InputRequested);
        } else if let Some((before, mime)) = content_start(&line) {
            text_if_any(before, out);
            out.push(Action::ToEvcxr(format!("{BEGIN_CONTENT} {mime}")));
            self.in_content = true;
        } else {
            out.push(Action::Text(line, true));
        }
    }

    /// Whether text after the last newline may be shown before its line
    /// ends: not inside a content block, whose lines go to evcxr whole.
    pub fn shows_partial_lines(&self) -> bool {
        !self.in_content
    }

    /// The cell ended: a content block it left open is closed (with the
    /// unfinished line `rest` as its last line).
    pub fn finish(&mut self, rest: Option<String>, out: &mut Vec<Action>) {
        if let Some(rest) = rest {
            if self.in_content {
                out.push(Action::ToEvcxr(rest));
            } else {
                out.push(Action::Text(rest, false));
            }
        }
        if self.in_content {
            out.push(Action::ToEvcxr(END_CONTENT.into()));
            self.in_content = false;
        }
    }

    /// The writer died: evcxr is told nothing more about this block.
    pub fn reset(&mut self) {
        self.in_content = false;
    }
}

fn text_if_any(text: &str, out: &mut Vec<Action>) {
    if !text.is_empty() {
        out.push(Action::Text(text.to_string(), false));
    }
}

fn to_evcxr_if_any(text: &str, out: &mut Vec<Action>) {
    if !text.is_empty() {
        out.push(Action::ToEvcxr(text.to_string()));
    }
}

/// `…EVCXR_BEGIN_CONTENT <mime>` → (the text before, mime): the marker
/// ends the line and the MIME type is one word with a `/`.
fn content_start(line: &str) -> Option<(&str, &str)> {
    let at = line.rfind(BEGIN_CONTENT)?;
    let mime = line[at + BEGIN_CONTENT.len()..].strip_prefix(' ')?;
    (mime.contains('/') && !mime.contains(char::is_whitespace)).then(|| (&line[..at], mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort(lines: &[&str]) -> Vec<Action> {
        let mut p = StdoutProtocol::default();
        let mut out = Vec::new();
        for l in lines {
            p.line(l.to_string(), &mut out);
        }
        p.finish(None, &mut out);
        out
    }

    fn evcxr(s: &str) -> Action {
        Action::ToEvcxr(s.into())
    }

    fn text(s: &str, nl: bool) -> Action {
        Action::Text(s.into(), nl)
    }

    #[test]
    fn markers_go_to_evcxr_and_text_to_the_kernel() {
        assert_eq!(
            sort(&[
                "hello",
                "EVCXR_EXECUTION_COMPLETE",
                "abcEVCXR_PANIC_NOTIFICATION"
            ]),
            vec![
                text("hello", true),
                text("EVCXR_EXECUTION_COMPLETE", true),
                text("abc", false),
                evcxr(PANIC_NOTIFICATION),
                Action::Panicked
            ]
        );
        assert_eq!(
            sort(&["EVCXR_ERROR_OCCURRED"]),
            vec![evcxr(USER_ERROR_OCCURRED), Action::UserError]
        );
        assert_eq!(
            sort(&["EVCXR_VARIABLE_CHANGED_TYPE:x", "EVCXR_INPUT_REQUEST:name?"]),
            vec![
                evcxr("EVCXR_VARIABLE_CHANGED_TYPE:x"),
                evcxr("EVCXR_INPUT_REQUEST:name?"),
                Action::InputRequested
            ]
        );
    }

    #[test]
    fn content_blocks_pass_whole_and_an_open_one_is_closed() {
        assert_eq!(
            sort(&[
                "x EVCXR_BEGIN_CONTENT text/html",
                "<b>EVCXR_BEGIN_CONTENT a/b</b>",
                "EVCXR_END_CONTENT",
                "after"
            ]),
            vec![
                text("x ", false),
                evcxr("EVCXR_BEGIN_CONTENT text/html"),
                evcxr("<b>EVCXR_BEGIN_CONTENT a/b</b>"),
                evcxr(END_CONTENT),
                text("after", true)
            ]
        );
        assert_eq!(
            sort(&["EVCXR_BEGIN_CONTENT text/plain", "never ended"]),
            vec![
                evcxr("EVCXR_BEGIN_CONTENT text/plain"),
                evcxr("never ended"),
                evcxr(END_CONTENT)
            ]
        );
        assert_eq!(
            sort(&[
                "see EVCXR_BEGIN_CONTENT for html",
                "EVCXR_BEGIN_CONTENT nomime"
            ]),
            vec![
                text("see EVCXR_BEGIN_CONTENT for html", true),
                text("EVCXR_BEGIN_CONTENT nomime", true)
            ]
        );
    }

    #[test]
    fn an_unfinished_line_inside_a_block_is_its_last_line() {
        let mut p = StdoutProtocol::default();
        let mut out = Vec::new();
        assert!(p.shows_partial_lines());
        p.line("EVCXR_BEGIN_CONTENT text/plain".into(), &mut out);
        assert!(!p.shows_partial_lines());
        p.finish(Some("half".into()), &mut out);
        assert_eq!(
            out,
            vec![
                evcxr("EVCXR_BEGIN_CONTENT text/plain"),
                evcxr("half"),
                evcxr(END_CONTENT)
            ]
        );
        assert!(p.shows_partial_lines());
    }

    #[test]
    fn load_and_run_lines() {
        assert_eq!(
            parse_load_and_run("LOAD_AND_RUN /tmp/x/libcode_3.so run_user_code_3"),
            Some(("/tmp/x/libcode_3.so", "run_user_code_3"))
        );
        assert_eq!(parse_load_and_run("LOAD_AND_RUN onlyone"), None);
        assert_eq!(parse_load_and_run("HELLO"), None);
        let abort = std::hint::black_box(ABORT_LINE);
        assert!(std::str::from_utf8(abort).is_err());
    }
}
