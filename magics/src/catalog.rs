//! The table of magics — names, sub-commands and options — for `%lsmagic`,
//! `%slurm help` and completion, read from the clap definitions in
//! `grammar`, so nothing is offered that the parsers do not accept.

use clap::Command;

use crate::grammar;

/// The `--long` names of a command's options.
fn longs(cmd: &Command) -> Vec<String> {
    cmd.get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| *l != "help")
        .map(|l| format!("--{l}"))
        .collect()
}

fn names(cmd: &Command) -> Vec<String> {
    cmd.get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// `%%slurm` sub-commands (`map`, `run`).
pub fn cell_subcommands() -> Vec<String> {
    names(&grammar::cell_command())
}

/// `%slurm` line sub-commands.
pub fn line_subcommands() -> Vec<String> {
    names(&grammar::line_command())
}

/// Options of `%%slurm SUB` or `%slurm SUB`.
fn options_of(cmd: Command, sub: &str) -> Vec<String> {
    cmd.get_subcommands()
        .find(|c| c.get_name() == sub)
        .map(longs)
        .unwrap_or_default()
}

/// Completion candidates for `word` on a magic's first line `line`.
pub fn completions(line: &str, word: &str) -> Vec<String> {
    let mut words = line.split_whitespace();
    let magic = words.next().unwrap_or_default();
    let sub = words.next().unwrap_or_default();
    let pool: Vec<String> = match magic {
        "%%slurm" if sub.is_empty() || sub == word => cell_subcommands(),
        "%%slurm" => options_of(grammar::cell_command(), sub),
        "%%sweep" => longs(&grammar::sweep::command()),
        "%slurm" if sub.is_empty() || sub == word => line_subcommands(),
        "%slurm" => options_of(grammar::line_command(), sub),
        _ => Vec::new(),
    };
    pool.into_iter().filter(|c| c.starts_with(word)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_subcommands_then_options() {
        assert_eq!(completions("%%slurm m", "m"), vec!["map"]);
        assert_eq!(completions("%%slurm map xs --ti", "--ti"), vec!["--time"]);
        assert_eq!(completions("%slurm ca", "ca"), vec!["cancel", "cache"]);
        assert!(completions("%%sweep a in [1] --max", "--max").contains(&"--maximize".to_string()));
        assert!(completions("%%sweep a in [1] --ti", "--ti").contains(&"--time".to_string()));
        assert!(completions("%slurm config --ho", "--ho").contains(&"--host".to_string()));
        assert!(completions("%slurm retry x --m", "--m").contains(&"--mem".to_string()));
    }

    #[test]
    fn offers_only_what_exists() {
        let subs = line_subcommands();
        for s in [
            "config", "jobs", "status", "wait", "cancel", "logs", "retry", "load", "graph",
            "report", "help", "cache",
        ] {
            assert!(subs.contains(&s.to_string()), "{s} in {subs:?}");
        }
        for s in &subs {
            let line =
                if ["config", "jobs", "graph", "help", "status", "report"].contains(&s.as_str()) {
                    format!("%slurm {s}")
                } else if s == "cache" {
                    "%slurm cache clear".to_string()
                } else {
                    format!("%slurm {s} x")
                };
            assert!(crate::grammar::parse(&line).is_ok(), "{line}");
        }
    }
}
