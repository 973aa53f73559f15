//! The table of magics: names, sub-commands and options, for `%lsmagic`,
//! `%slurm help` and completion. The parsers in `grammar` are the authority
//! on what is accepted; this table is what is offered.

/// Options shared by every cell magic that submits jobs, spelled as `sbatch` spells them.
pub const SHARED_OPTIONS: &[&str] = &[
    "--time",
    "--mem",
    "--cpus-per-task",
    "--partition",
    "--account",
    "--gres",
    "--qos",
    "--max-concurrent",
    "--after",
    "--dependency",
    "--retries",
    "--chunk",
    "--no-wait",
    "--backend",
    "--name",
];

/// `%%slurm` sub-commands.
pub const SLURM_CELL: &[&str] = &["map", "run"];

/// `%slurm` line sub-commands.
pub const SLURM_LINE: &[&str] = &[
    "config", "jobs", "status", "wait", "cancel", "logs", "retry", "load", "graph", "report",
    "help",
];

/// `%%sweep` options beyond the shared ones.
pub const SWEEP_OPTIONS: &[&str] = &[
    "--maximize",
    "--minimize",
    "--random",
    "--seed",
    "--zip",
    "--save",
];

/// `%slurm config` options.
pub const CONFIG_OPTIONS: &[&str] = &[
    "--backend",
    "--host",
    "--identity",
    "--partition",
    "--account",
    "--workdir",
];

/// Completion candidates for `word` on a magic's first line `line`.
pub fn completions(line: &str, word: &str) -> Vec<String> {
    let mut words = line.split_whitespace();
    let magic = words.next().unwrap_or_default();
    let sub = words.next().unwrap_or_default();
    let pool: Vec<&str> = match magic {
        "%%slurm" if sub.is_empty() || sub == word => SLURM_CELL.to_vec(),
        "%%slurm" => SHARED_OPTIONS.to_vec(),
        "%%sweep" => SWEEP_OPTIONS
            .iter()
            .chain(SHARED_OPTIONS)
            .copied()
            .collect(),
        "%slurm" if sub.is_empty() || sub == word => SLURM_LINE.to_vec(),
        "%slurm" if sub == "config" => CONFIG_OPTIONS.to_vec(),
        _ => Vec::new(),
    };
    pool.into_iter()
        .filter(|c| c.starts_with(word))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_subcommands_then_options() {
        assert_eq!(completions("%%slurm m", "m"), vec!["map"]);
        assert_eq!(completions("%%slurm map xs --ti", "--ti"), vec!["--time"]);
        assert_eq!(completions("%slurm ca", "ca"), vec!["cancel"]);
        assert!(completions("%%sweep a in [1] --max", "--max").contains(&"--maximize".to_string()));
    }
}
