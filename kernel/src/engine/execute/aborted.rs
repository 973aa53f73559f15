//! The errors of cells that did not end on their own: interrupted, or
//! their process died. With a snapshot the session was restored to the
//! state before the cell; without one (snapshots off, other threads alive,
//! the process died between cells) evcxr started a new process and the
//! variables are listed as lost, with their types.

use jupyter_protocol::ErrorOutput;

use crate::runtime::record::NoSnapshot;

/// `Interrupted` for an interrupt, `ProcessDied` for everything else.
fn ename(cause: &str) -> &'static str {
    if cause == "interrupted" {
        "Interrupted"
    } else {
        "ProcessDied"
    }
}

/// The snapshot took over: nothing the cell did remains.
pub(super) fn restored(cause: &str, ran: bool) -> ErrorOutput {
    let ename = ename(cause);
    if !ran {
        let evalue =
            format!("{cause} before the cell ran; the session is as it was before this cell");
        return ErrorOutput {
            ename: ename.into(),
            traceback: vec![format!("{ename}: {evalue}")],
            evalue,
        };
    }
    let evalue = format!("{cause}; the session was restored to the state before this cell");
    let what = if cause == "interrupted" {
        "the cell was interrupted".to_string()
    } else {
        format!("the process running the cell ended: {cause}")
    };
    ErrorOutput {
        ename: ename.into(),
        traceback: vec![
            format!("{ename}: {what}."),
            "The session was restored to the state before this cell: every variable holds its value from before it, and names it defined do not exist.".into(),
        ],
        evalue,
    }
}

/// Why no snapshot could take over, in words.
pub(super) fn why(no: &NoSnapshot) -> String {
    match no {
        NoSnapshot::Off => "snapshots are off (SLUICE_SNAPSHOT=0)".into(),
        NoSnapshot::Threads { count, names } => format!(
            "the session held {count} other thread{} ({}), and a snapshot copies only one thread",
            if *count == 1 { "" } else { "s" },
            names.join(", ")
        ),
        NoSnapshot::Failed { error } => format!("there was no snapshot: {error}"),
    }
}

/// What the kernel knows about a process that ended with no snapshot to
/// take over.
pub(super) struct Lost<'a> {
    /// evcxr's termination text.
    pub evcxr_text: &'a str,
    /// The runtime's account: cause and why nothing took over.
    pub lost: Option<(&'a str, &'a NoSnapshot)>,
    /// The session had died between cells, before this one: why.
    pub died_before: Option<&'a str>,
    /// An interrupt was asked for during the cell.
    pub interrupted: bool,
    /// Variables (name, type) before the cell.
    pub vars: &'a [(String, String)],
}

/// evcxr started a new process: the variables are gone.
pub(super) fn lost(l: &Lost<'_>) -> ErrorOutput {
    let lost = lost_list(l.vars);
    let (ename, first) = match (l.lost, l.died_before) {
        (Some((cause, no)), _) => (
            ename(cause),
            format!(
                "{cause}; the session could not be restored because {}",
                why(no)
            ),
        ),
        (None, Some(cause)) => (
            "ProcessDied",
            format!("the session process ended while no cell was running ({cause})"),
        ),
        (None, None) if l.interrupted => (
            "Interrupted",
            "the cell was stopped by ending the process that ran it".into(),
        ),
        (None, None) => (
            "ProcessDied",
            "the evaluation process ended unexpectedly".into(),
        ),
    };
    let mut traceback = vec![format!("{ename}: {first}; a new process was started.")];
    if l.lost.is_none() && l.died_before.is_none() && !l.interrupted {
        traceback.push(l.evcxr_text.trim().to_string());
    }
    traceback.push(lost_detail(l.vars));
    traceback.push(
        "Functions, types, `use`s and `:dep`s are kept; re-run the cells that defined the lost variables."
            .into(),
    );
    ErrorOutput {
        ename: ename.into(),
        evalue: format!("{first}; {lost}"),
        traceback,
    }
}

fn lost_list(vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        "no variables were defined, so none were lost".into()
    } else {
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        format!("variables lost: {}", names.join(", "))
    }
}

fn lost_detail(vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        "No variables were defined, so none were lost.".into()
    } else {
        let list: Vec<String> = vars.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        format!("Variables lost: {}", list.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_and_lost_say_what_happened() {
        let e = restored("killed by SIGSEGV (segmentation fault)", true);
        assert_eq!(e.ename, "ProcessDied");
        assert_eq!(
            e.evalue,
            "killed by SIGSEGV (segmentation fault); the session was restored to the state before this cell"
        );
        assert_eq!(restored("interrupted", true).ename, "Interrupted");
        assert!(
            restored("interrupted", false)
                .evalue
                .contains("before the cell ran")
        );
        let threads = NoSnapshot::Threads {
            count: 2,
            names: vec!["tokio-rt-worker".into(), "pool".into()],
        };
        let vars = [("data".to_string(), "Vec<u8>".to_string())];
        let e = lost(&Lost {
            evcxr_text: "",
            lost: Some(("interrupted", &threads)),
            died_before: None,
            interrupted: true,
            vars: &vars,
        });
        assert_eq!(e.ename, "Interrupted");
        assert!(
            e.evalue.contains("2 other threads (tokio-rt-worker, pool)"),
            "{}",
            e.evalue
        );
        assert!(e.evalue.ends_with("variables lost: data"), "{}", e.evalue);
        assert!(
            e.traceback
                .iter()
                .any(|l| l == "Variables lost: data: Vec<u8>")
        );
    }
}
