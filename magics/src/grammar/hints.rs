//! What a magic line's error says when clap rejects it: one line naming
//! what is wrong (the argument that is missing, the option without its
//! value, the word that is not expected) and a correct line to copy, in
//! place of clap's usage text.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// A correct line of each magic, its required arguments filled in.
const COMMANDS: &[(&str, &str)] = &[
    ("%slurm config", "%slurm config"),
    ("%slurm jobs", "%slurm jobs"),
    ("%slurm status", "%slurm status NAME"),
    ("%slurm wait", "%slurm wait NAME"),
    ("%slurm cancel", "%slurm cancel NAME"),
    ("%slurm logs", "%slurm logs NAME[3]"),
    ("%slurm retry", "%slurm retry NAME"),
    ("%slurm cache", "%slurm cache clear"),
    ("%slurm load", "%slurm load NAME"),
    ("%slurm graph", "%slurm graph"),
    ("%slurm report", "%slurm report NAME"),
    ("%slurm help", "%slurm help map"),
    ("%%slurm map", "%%slurm map 0..4 -> out"),
    ("%%slurm run", "%%slurm run -> out"),
    ("%%sweep", "%%sweep lr in [0.1, 0.01] -> fit"),
];

/// A value for each option that takes one, as a user would write it.
const VALUES: &[(&str, &str)] = &[
    ("--backend", "slurm"),
    ("--host", "ssh://me@login.example.org"),
    ("--identity", "~/.ssh/id_ed25519"),
    ("--partition", "debug"),
    ("--account", "myproject"),
    ("--workdir", "jobs"),
    ("--remote-workdir", "/scratch/me/jobs"),
    ("--cache", "on"),
    ("--save", "results.json"),
    ("--mem", "2G"),
    ("--time", "1:30:00"),
    ("--cpus-per-task", "4"),
    ("--max-concurrent", "8"),
    ("--after", "prep"),
    ("--dependency", "afterany"),
    ("--retries", "2"),
    ("--chunk", "auto"),
    ("--gres", "gpu:1"),
    ("--qos", "normal"),
    ("--chdir", "data"),
    ("--export", "ALL,OMP_NUM_THREADS=4"),
    ("--name", "fit"),
    ("--maximize", "score"),
    ("--minimize", "loss"),
    ("--random", "20"),
    ("--seed", "7"),
];

/// `command` (`%slurm retry`, `%%slurm map`, `%%sweep`): a correct line of
/// it, using `option` (`--mem`, or a flag such as `--all`) when given.
/// None for a command or option the tables do not know.
pub fn example(command: &str, option: Option<&str>) -> Option<String> {
    let base = COMMANDS.iter().find(|(c, _)| *c == command)?.1;
    let Some(option) = option.filter(|o| o.starts_with("--")) else {
        return Some(base.to_string());
    };
    if !takes_value(command, option)? {
        return Some(format!("{base} {option}"));
    }
    let value = VALUES.iter().find(|(o, _)| *o == option)?.1;
    Some(format!("{base} {option} {value}"))
}

/// The clap definition of `command` (`%slurm graph`, `%%slurm map`,
/// `%%sweep`). None for a sub-command clap does not have.
pub fn clap_command(command: &str) -> Option<clap::Command> {
    match command.split_once(' ') {
        Some(("%slurm", sub)) => super::line_command().find_subcommand(sub).cloned(),
        Some(("%%slurm", sub)) => super::cell_command().find_subcommand(sub).cloned(),
        _ if command == "%%sweep" => Some(super::sweep::command()),
        _ => None,
    }
}

/// Whether `option` of `command` takes a value, as clap defines it (`--cache`
/// does in `%slurm config`, is a flag in the cell magics). None: no such option.
fn takes_value(command: &str, option: &str) -> Option<bool> {
    let clap_command = clap_command(command)?;
    let long = option.trim_start_matches("--");
    let arg = clap_command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?;
    Some(arg.get_action().takes_values())
}

/// The error in one line: what is wrong, then `; for example `LINE``.
/// `command` is the magic as written (`%slurm wait`); None when its
/// sub-command is not known (say, a word that is none of them).
pub fn one_line(e: &clap::Error, command: Option<&str>, first: &str) -> String {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    // `--mem <MEM>` → `--mem`; `<JOB>` → `JOB`.
    let arg_name = arg.as_deref().map(|a| {
        a.split_whitespace()
            .next()
            .unwrap_or(a)
            .trim_matches(['<', '>'])
            .trim_end_matches("...")
            .to_string()
    });
    let what = match (e.kind(), command, arg_name.as_deref()) {
        (ErrorKind::MissingRequiredArgument, Some(c), Some(a)) => {
            format!("`{c}` needs {a}{}", meaning(a))
        }
        (ErrorKind::InvalidValue, _, Some(a))
            if a.starts_with("--") && first.contains("none was supplied") =>
        {
            format!("`{a}` needs a value")
        }
        (ErrorKind::TooManyValues, _, Some(a)) if a.starts_with("--") => {
            format!("`{a}` takes no value")
        }
        // A value parser's own line that names the option says it all.
        (ErrorKind::ValueValidation, _, Some(a)) if first.contains(&format!(": `{a}` ")) => first
            .split_once(&format!(": `{a}` "))
            .map_or_else(|| first.to_string(), |(_, why)| format!("`{a}` {why}")),
        _ => first.to_string(),
    };
    let option = arg_name.filter(|a| a.starts_with("--") && e.kind() != ErrorKind::UnknownArgument);
    match command.and_then(|c| example(c, option.as_deref())) {
        Some(line) => format!("{what}; for example `{line}`"),
        None => what,
    }
}

/// What a positional argument is, in words.
fn meaning(arg: &str) -> &'static str {
    match arg {
        "JOB" => ", a job name",
        "ACTION" => ", what to do (clear)",
        "ITEMS" => ", a Rust expression giving the items",
        _ => "",
    }
}
