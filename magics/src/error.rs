//! [`MagicError`]: the errors a magic cell can end with, each with the
//! `ename` and traceback the notebook shows, and the error it came from
//! kept as its `source`.

use crate::body::BodyError;
use crate::config::ConfigError;
use crate::diagnostic::Diagnostic;
use crate::executor::ExecutorError;
use crate::grammar::GrammarError;
use crate::ledger::LedgerError;
use crate::session::EvalError;
use crate::task_build::BuildError;

/// One failed item of a job, for the error report.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedItem {
    /// Item index.
    pub index: usize,
    /// State name and detail (`FAILED (exit 1)`, `TIMEOUT ...`).
    pub state: String,
    /// Last lines of its stderr.
    pub stderr_tail: String,
}

/// Why a magic cell failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MagicError {
    /// The magic line did not parse.
    #[error("{0}")]
    Grammar(#[from] GrammarError),
    /// The body is not what the magic needs.
    #[error("{0}")]
    Body(#[from] BodyError),
    /// ITEMS could not be used.
    #[error("{0}")]
    Items(String),
    /// Evaluating the items (or a captured variable) in the session failed.
    #[error("{what}: {}", .source.headline())]
    ItemsEval {
        /// What could not be done, for the notebook.
        what: String,
        /// What the session said.
        #[source]
        source: EvalError,
    },
    /// The task does not compile (diagnostics against the cell).
    #[error("the task does not compile: {}", .0.first().map(|d| d.message.as_str()).unwrap_or("error"))]
    Compile(Vec<Diagnostic>),
    /// cargo itself failed, or the built task cannot be used.
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The ledger failed.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// A file of a job could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// An executor refused or failed the job.
    #[error("{0}")]
    Executor(#[from] ExecutorError),
    /// A `SLUICE_*` setting cannot be used.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Something that should have been opened is not there (the ledger,
    /// an executor); names it.
    #[error("{0} could not be opened")]
    NotOpen(&'static str),
    /// No job has this name: why, in one line ([`MagicError::unknown_job`]).
    #[error("{0}")]
    UnknownJob(String),
    /// A dependency can never be satisfied.
    #[error("{0}")]
    Dependency(String),
    /// The job cannot be submitted as asked (still running, wrong kind).
    #[error("{0}")]
    Refused(String),
    /// Some items failed; the others' results are bound as `partial`.
    #[error("{}", items_failed(.name, *.total, (*.failed, *.cancelled), *.ok, .partial))]
    TaskFailed {
        /// Job name.
        name: String,
        /// Items in the job.
        total: usize,
        /// Items without a result (failed or cancelled).
        failed: usize,
        /// Of those, the items whose element was cancelled.
        cancelled: usize,
        /// Succeeded items.
        ok: usize,
        /// The `NAME_partial` variable.
        partial: String,
        /// Details of (at most the first few) failures.
        items: Vec<FailedItem>,
    },
    /// Some configurations of a sweep failed; the others are bound.
    #[error("{}", configurations_failed(.name, *.total, *.failed))]
    SweepFailed {
        /// Sweep name.
        name: String,
        /// Configurations in the sweep.
        total: usize,
        /// Failed configurations.
        failed: usize,
    },
    /// The user interrupted the wait; the job goes on.
    #[error(
        "stopped waiting for `{0}`; the job keeps running. `%slurm wait {0}` binds its results later, `%slurm cancel {0}` stops it"
    )]
    Interrupted(String),
    /// The user interrupted the task build: cargo was stopped, nothing was
    /// submitted.
    #[error(
        "interrupted while the task was being built: cargo was stopped and nothing was submitted"
    )]
    BuildInterrupted,
    /// Results could not be bound in the session.
    #[error("{what}: {}", .source.headline())]
    Bind {
        /// What could not be bound, for the notebook.
        what: String,
        /// What the session said.
        #[source]
        source: EvalError,
    },
    /// A result could not be read back (a file is missing or malformed).
    #[error("{0}")]
    Results(String),
    /// A feature the magic line asked for is not available.
    #[error("{0}")]
    Unsupported(String),
    /// A bug in sluice: a magic panicked. Caught at the seam; the session
    /// and its variables are intact.
    #[error(
        "sluice failed inside this magic ({0}); your session and its variables are intact. Please report this with the cell's first line."
    )]
    Internal(String),
}

/// What every line magic says when no job has run yet: an output for the
/// ones that list or measure jobs (`jobs`, `status`, `graph`, `report`),
/// the start of the error of the ones that name a job (`wait`, `logs`, ...).
pub const NO_JOB_YET: &str = "no job has run yet in this notebook: run a `%%slurm map`, `%%slurm run` or `%%sweep` cell first";

impl MagicError {
    /// Why `name` names no job: none has run yet; `name` is an element
    /// (`fit[2]`) of a job; a job name one typo away; or none of the
    /// `known` job names.
    pub fn unknown_job(name: &str, known: &[String]) -> MagicError {
        if known.is_empty() {
            return MagicError::UnknownJob(format!("no job named `{name}`: {NO_JOB_YET}"));
        }
        if let Some((job, _)) = name.split_once('[')
            && known.iter().any(|k| k == job)
        {
            return MagicError::UnknownJob(format!(
                "`{name}` is one element of `{job}`; this magic takes the whole job: `{job}`"
            ));
        }
        let close = known
            .iter()
            .map(|k| (strsim::damerau_levenshtein(name, k), k))
            .filter(|(d, _)| *d == 1 || (*d == 2 && name.chars().count() >= 5))
            .min_by_key(|(d, _)| *d);
        match close {
            Some((_, k)) => MagicError::UnknownJob(format!(
                "no job named `{name}` in this notebook; did you mean `{k}`?"
            )),
            None => MagicError::UnknownJob(format!(
                "no job named `{name}` in this notebook (see `%slurm jobs`)"
            )),
        }
    }
}

impl MagicError {
    /// The error's name in the notebook.
    pub fn ename(&self) -> &'static str {
        match self {
            MagicError::Grammar(_) => "MagicSyntaxError",
            MagicError::Body(_) => "MagicBodyError",
            MagicError::Items(_) | MagicError::ItemsEval { .. } => "ItemsError",
            MagicError::Compile(_) => "CompileError",
            MagicError::Build(_) => "BuildError",
            MagicError::Ledger(_) => "LedgerError",
            MagicError::Io { .. } => "IoError",
            MagicError::Executor(ExecutorError::Slurm(_)) => "ClusterError",
            MagicError::Executor(_) | MagicError::Refused(_) => "SubmitError",
            MagicError::Config(_) => "ConfigError",
            MagicError::NotOpen(_) => "InternalError",
            MagicError::UnknownJob(_) => "UnknownJob",
            MagicError::Dependency(_) => "DependencyNeverSatisfied",
            MagicError::TaskFailed { .. } => "TaskFailed",
            MagicError::SweepFailed { .. } => "SweepFailed",
            MagicError::Interrupted(_) | MagicError::BuildInterrupted => "Interrupted",
            MagicError::Bind { .. } | MagicError::Results(_) => "BindError",
            MagicError::Unsupported(_) => "Unsupported",
            MagicError::Internal(_) => "InternalError",
        }
    }

    /// The traceback lines; `cell` is the whole cell (spans are cell lines).
    pub fn traceback(&self, cell: &str) -> Vec<String> {
        match self {
            MagicError::Compile(diags) => diags.iter().map(|d| d.render(cell)).collect(),
            MagicError::Body(BodyError::SyntaxAt {
                message,
                line,
                column,
            }) => {
                // On the cell's own line, as a compile error is shown; no usage.
                let at = crate::grammar::body_first_line(cell) + line - 1;
                let span = crate::diagnostic::CellSpan {
                    start_line: at,
                    start_column: *column,
                    end_line: at,
                    end_column: column + 1,
                };
                let d = crate::diagnostic::Diagnostic {
                    level: "error".into(),
                    message: format!("the body is not valid Rust: {message}"),
                    labels: vec![crate::diagnostic::Label {
                        span,
                        text: String::new(),
                        primary: true,
                    }],
                    ..Default::default()
                };
                vec![d.render(cell)]
            }
            // The message says what the body should be, with an example.
            MagicError::Body(e) => vec![format!("{}: {e}", self.ename())],
            MagicError::TaskFailed { items, failed, .. } => {
                let mut lines =
                    crate::prose::wrap(&format!("{}: {self}", self.ename()), WIDTH, "  ");
                for it in items {
                    lines.push(format!("  item {}: {}", it.index, it.state));
                    for l in without_repeated_panic(&it.stderr_tail) {
                        lines.push(format!("      {l}"));
                    }
                }
                if *failed > items.len() {
                    lines.push(format!("  ... and {} more", failed - items.len()));
                }
                lines
            }
            MagicError::SweepFailed { .. } => {
                crate::prose::wrap(&format!("{}: {self}", self.ename()), WIDTH, "  ")
            }
            _ => {
                let text = self.to_string();
                let mut lines = vec![format!(
                    "{}: {}",
                    self.ename(),
                    text.lines().next().unwrap_or("")
                )];
                lines.extend(text.lines().skip(1).map(str::to_string));
                lines
            }
        }
    }
}

/// The columns a report sentence of a traceback is wrapped to, at word
/// boundaries (a front end would otherwise break it where the window
/// ends, inside a name).
const WIDTH: usize = 100;

/// `3 of 4 items of `flaky` failed; `flaky_partial` ... holds the 1 that
/// succeeded; ...`, in the right number for 0, 1 and many. `missing` is
/// the items without a result and, of those, how many were cancelled:
/// all of them "were cancelled", some "did not finish".
fn items_failed(
    name: &str,
    total: usize,
    (failed, cancelled): (usize, usize),
    ok: usize,
    partial: &str,
) -> String {
    use crate::prose::count;
    let verb = match (cancelled, failed) {
        (0, _) => "failed",
        (1, 1) => "was cancelled",
        (c, f) if c == f => "were cancelled",
        _ => "did not finish",
    };
    let what = match (failed == total, total) {
        (true, 1) => format!("the only item of `{name}` {verb}"),
        (true, _) => format!("all {} of `{name}` {verb}", count(total, "item", "items")),
        (false, _) => format!(
            "{failed} of {} of `{name}` {verb}",
            count(total, "item", "items")
        ),
    };
    let what = if cancelled > 0 && cancelled < failed {
        format!(
            "{what} ({} failed, {cancelled} cancelled)",
            failed - cancelled
        )
    } else {
        what
    };
    let holds = match ok {
        0 => "holds `None` for each (none succeeded)".to_string(),
        1 => "holds the 1 that succeeded".to_string(),
        n => format!("holds the {n} that succeeded"),
    };
    let rerun = match (ok, failed) {
        (0, 1) => "reruns it",
        (0, _) => "reruns them",
        (_, 1) if cancelled == failed => "reruns only the cancelled one",
        (_, _) if cancelled == failed => "reruns only the cancelled ones",
        (_, 1) => "reruns only the failed one",
        _ => "reruns only the failed ones",
    };
    format!(
        "{what}; `{partial}` (Vec<Option<_>>, index-aligned) {holds}; `%slurm retry {name}` {rerun}"
    )
}

/// `2 of 6 configurations of `s` failed (shown in the table); ...`, in the
/// right number for 0, 1 and many.
fn configurations_failed(name: &str, total: usize, failed: usize) -> String {
    use crate::prose::count;
    let ok = total.saturating_sub(failed);
    let what = if failed == total {
        match total {
            1 => format!("the only configuration of `{name}` failed"),
            _ => format!(
                "all {} of `{name}` failed",
                count(total, "configuration", "configurations")
            ),
        }
    } else {
        format!(
            "{failed} of {} of `{name}` failed",
            count(total, "configuration", "configurations")
        )
    };
    let holds = match ok {
        0 => format!("`{name}` is empty"),
        1 => format!("`{name}` holds the 1 that succeeded"),
        n => format!("`{name}` holds the {n} that succeeded"),
    };
    let rerun = match (ok, failed) {
        (0, 1) => "reruns it",
        (0, _) => "reruns them",
        (_, 1) => "reruns only the failed one",
        _ => "reruns only the failed ones",
    };
    format!("{what} (shown in the table); {holds}; `%slurm retry {name}` {rerun}")
}

/// An item's stderr tail without the runtime's one-line summary of a panic
/// (`sluice: item 1: panicked at cell:3:14: msg`) when the panic hook's
/// report of that same panic (`thread 'main' panicked at cell:3:14:` and
/// `msg`) is already there: the message once, as Rust prints it.
fn without_repeated_panic(tail: &str) -> Vec<&str> {
    let lines: Vec<&str> = tail.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // `sluice: item 1: panicked at P: m` (a map element) or
        // `sluice: panicked at P: m` (a run job).
        let summary = line
            .strip_prefix("sluice: ")
            .map(|rest| {
                rest.strip_prefix("item ")
                    .and_then(|r| r.split_once(": "))
                    .map_or(rest, |(_, r)| r)
            })
            .and_then(|rest| rest.strip_prefix("panicked at "))
            .and_then(|rest| rest.split_once(": "));
        if let Some((place, first)) = summary {
            // The hook's report: its header, then the message's lines.
            let header = format!("panicked at {place}:");
            let reported = kept
                .iter()
                .rposition(|l| l.starts_with("thread '") && l.ends_with(&header));
            if let Some(at) = reported {
                let message = &kept[at + 1..];
                let n = message.len().max(1);
                let repeated = message.first() == Some(&first)
                    && lines
                        .get(i + 1..i + n)
                        .is_some_and(|more| more == &message[1..]);
                if repeated {
                    i += n;
                    continue;
                }
            }
        }
        kept.push(line);
        i += 1;
    }
    without_repeated_reports(kept)
}

/// `lines` with a panic report (`thread '…' panicked at P:` and the lines
/// up to the next report) that repeats an earlier one word for word left
/// out — the same panic in each attempt of a retried element — and a line
/// saying how many attempts it was.
fn without_repeated_reports(lines: Vec<&str>) -> Vec<&str> {
    let is_header = |l: &str| l.starts_with("thread '") && l.contains("' panicked at ");
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in lines {
        match blocks.last_mut() {
            Some(b) if !is_header(line) => b.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    let mut kept: Vec<Vec<&str>> = Vec::new();
    let mut repeats = 0usize;
    for b in blocks {
        if is_header(b[0]) && kept.contains(&b) {
            repeats += 1;
        } else {
            kept.push(b);
        }
    }
    let mut out: Vec<&str> = kept.into_iter().flatten().collect();
    if repeats > 0 {
        out.push(if repeats == 1 {
            "(the same panic again in a later attempt)"
        } else {
            "(the same panic again in later attempts)"
        });
    }
    out
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MagicError {
    let what = what.into();
    move |source| MagicError::Io { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_job_says_why() {
        let msg = |name: &str, known: &[&str]| {
            let known: Vec<String> = known.iter().map(|k| k.to_string()).collect();
            MagicError::unknown_job(name, &known).to_string()
        };
        assert_eq!(msg("fit", &[]), format!("no job named `fit`: {NO_JOB_YET}"));
        assert_eq!(
            msg("m3[2]", &["m3"]),
            "`m3[2]` is one element of `m3`; this magic takes the whole job: `m3`"
        );
        assert_eq!(
            msg("m3x", &["m3", "other"]),
            "no job named `m3x` in this notebook; did you mean `m3`?"
        );
        assert_eq!(
            msg("zzz", &["m3"]),
            "no job named `zzz` in this notebook (see `%slurm jobs`)"
        );
    }

    /// A body's syntax error is drawn on the cell's line, with no usage.
    #[test]
    fn a_body_syntax_error_is_drawn_on_the_cell_line() {
        let e = MagicError::Body(BodyError::SyntaxAt {
            message: "expected an expression".into(),
            line: 2,
            column: 9,
        });
        let tb = e.traceback("\n%%sweep a in [1]\nlet b = a;\nlet x = ;\nx");
        assert_eq!(tb.len(), 1, "{tb:?}");
        assert!(
            tb[0].starts_with("error: the body is not valid Rust: expected an expression\n"),
            "{}",
            tb[0]
        );
        assert!(tb[0].contains(" --> cell:4:9\n"), "{}", tb[0]);
        assert!(tb[0].contains("4 | let x = ;\n  |         ^"), "{}", tb[0]);
        assert!(!tb[0].contains("OPTIONS"), "{}", tb[0]);
    }

    #[test]
    fn failure_sentences_count_zero_one_and_many() {
        assert_eq!(
            items_failed("allbad", 2, (2, 0), 0, "allbad_partial"),
            "all 2 items of `allbad` failed; `allbad_partial` (Vec<Option<_>>, index-aligned) holds `None` for each (none succeeded); `%slurm retry allbad` reruns them"
        );
        assert_eq!(
            items_failed("one", 1, (1, 0), 0, "one_partial"),
            "the only item of `one` failed; `one_partial` (Vec<Option<_>>, index-aligned) holds `None` for each (none succeeded); `%slurm retry one` reruns it"
        );
        assert_eq!(
            items_failed("flaky", 6, (1, 0), 5, "flaky_partial"),
            "1 of 6 items of `flaky` failed; `flaky_partial` (Vec<Option<_>>, index-aligned) holds the 5 that succeeded; `%slurm retry flaky` reruns only the failed one"
        );
        assert!(
            items_failed("f", 4, (3, 0), 1, "f_partial").contains("holds the 1 that succeeded")
        );
        assert_eq!(
            items_failed("doomed", 2, (2, 2), 0, "doomed_partial"),
            "all 2 items of `doomed` were cancelled; `doomed_partial` (Vec<Option<_>>, index-aligned) holds `None` for each (none succeeded); `%slurm retry doomed` reruns them"
        );
        assert!(
            items_failed("one", 1, (1, 1), 0, "p")
                .starts_with("the only item of `one` was cancelled;")
        );
        assert!(
            items_failed("mix", 6, (3, 2), 3, "p")
                .starts_with("3 of 6 items of `mix` did not finish (1 failed, 2 cancelled);")
        );
        assert!(items_failed("c", 6, (2, 2), 4, "p").ends_with("reruns only the cancelled ones"));
        assert_eq!(
            configurations_failed("s", 3, 3),
            "all 3 configurations of `s` failed (shown in the table); `s` is empty; `%slurm retry s` reruns them"
        );
        assert_eq!(
            configurations_failed("s", 4, 1),
            "1 of 4 configurations of `s` failed (shown in the table); `s` holds the 3 that succeeded; `%slurm retry s` reruns only the failed one"
        );
    }

    #[test]
    fn a_panic_message_is_shown_once() {
        let tail = "thread 'main' panicked at cell:3:14:\nitem three is bad\nsluice: item 1: panicked at cell:3:14: item three is bad";
        assert_eq!(
            without_repeated_panic(tail),
            ["thread 'main' panicked at cell:3:14:", "item three is bad"]
        );
        let multi = "thread 'main' panicked at cell:2:5:\nfirst\nsecond\nsluice: item 0: panicked at cell:2:5: first\nsecond";
        assert_eq!(
            without_repeated_panic(multi),
            ["thread 'main' panicked at cell:2:5:", "first", "second"]
        );
        // The summary alone (the hook's lines were cut from the tail) stays.
        let alone = "sluice: item 0: panicked at cell:2:5: boom";
        assert_eq!(without_repeated_panic(alone), [alone]);
        // Other output is kept as it is.
        assert_eq!(without_repeated_panic("a\nb"), ["a", "b"]);
        // A run job's summary has no item number.
        let run = "thread 'main' panicked at cell:3:2:\nboom\nsluice: panicked at cell:3:2: boom";
        assert_eq!(
            without_repeated_panic(run),
            ["thread 'main' panicked at cell:3:2:", "boom"]
        );
        // A retried element's log holds each attempt's report.
        let retried = "thread 'main' panicked at cell[3]:1:43:\nalways fails on 2\nthread 'main' panicked at cell[3]:1:43:\nalways fails on 2";
        assert_eq!(
            without_repeated_panic(retried),
            [
                "thread 'main' panicked at cell[3]:1:43:",
                "always fails on 2",
                "(the same panic again in a later attempt)"
            ]
        );
    }

    #[test]
    fn the_report_wraps_between_words() {
        let e = MagicError::TaskFailed {
            name: "a_rather_long_job_name_for_wrapping".into(),
            total: 4,
            failed: 3,
            cancelled: 0,
            ok: 1,
            partial: "a_rather_long_job_name_for_wrapping_partial".into(),
            items: Vec::new(),
        };
        let lines = e.traceback("");
        assert!(lines.len() > 1, "{lines:?}");
        let words: Vec<String> = e.to_string().split(' ').map(str::to_string).collect();
        assert_eq!(lines.last().map(String::as_str), Some("  ... and 3 more"));
        for l in &lines[..lines.len() - 1] {
            assert!(l.chars().count() <= WIDTH, "{l}");
            // Every piece of every line is a whole word of the sentence.
            for w in l.trim_start().split(' ') {
                assert!(
                    words.iter().any(|x| x == w) || w.starts_with("TaskFailed"),
                    "{w:?} in {lines:?}"
                );
            }
        }
    }
}
