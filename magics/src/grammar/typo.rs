//! A word of a magic line clap does not know, read as a typo: which kind
//! of word it is (a `%%slurm` mode, a `%slurm` sub-command, an option of
//! one, a value), how the error names it, and the word of that kind one or
//! two edits away (Damerau-Levenshtein, a swap of two letters counting as
//! one) that was meant.

/// What kind of word a typo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Typo {
    /// `%%slurm mpa`, `%slurm stauts`.
    Subcommand,
    /// `--dto`.
    Option,
    /// `%slurm cache clera`.
    Value,
}

impl Typo {
    /// `unknown %%slurm mode `mpa``, `unknown option `--dto` of `%slurm graph``.
    pub(super) fn unknown(self, typed: &str, family: &str, command: Option<&str>) -> String {
        match (self, command) {
            (Typo::Subcommand, _) if family == "%%slurm" => {
                format!("unknown %%slurm mode `{typed}`")
            }
            (Typo::Subcommand, _) => format!("unknown {family} sub-command `{typed}`"),
            (Typo::Option, Some(c)) => format!("unknown option `{typed}` of `{c}`"),
            (Typo::Option, None) => format!("unknown option `{typed}`"),
            (Typo::Value, Some(c)) => format!("unknown value `{typed}` of `{c}`"),
            (Typo::Value, None) => format!("unknown value `{typed}`"),
        }
    }

    /// The words a typo of this kind may have meant.
    pub(super) fn candidates(self, family: &str, command: Option<&str>) -> Vec<String> {
        let of = if family == "%%slurm" {
            super::cell_command()
        } else {
            super::line_command()
        };
        match self {
            Typo::Subcommand => of
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect(),
            Typo::Option | Typo::Value => {
                let Some(cmd) = command.and_then(super::hints::clap_command) else {
                    return Vec::new();
                };
                let args = cmd.get_arguments().filter(|a| a.get_id() != "help");
                if self == Typo::Option {
                    args.filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                        .collect()
                } else {
                    args.flat_map(|a| a.get_possible_values())
                        .map(|v| v.get_name().to_string())
                        .collect()
                }
            }
        }
    }
}

/// The candidate `typed` most likely meant: one edit away (a swap of two
/// letters counting as one), or two in a word of five letters or more.
pub(super) fn closest(typed: &str, candidates: &[String]) -> Option<String> {
    let letters = typed.trim_start_matches('-').chars().count();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(typed, c), c))
        .filter(|(d, _)| *d == 1 || (*d == 2 && letters >= 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// The values an option's own parser takes (`domain::Backend`,
/// `domain::DependencyKind`, `config::parse_switch`): clap does not know
/// them, so they are listed here for the typo check.
const CHOICES: &[(&str, &[&str])] = &[
    ("--backend", &["local", "slurm"]),
    (
        "--dependency",
        &["afterok", "afterany", "afternotok", "aftercorr"],
    ),
    ("--cache", &["on", "off"]),
];

/// The value of `option` that `typed` most likely meant, for an option
/// whose values [`CHOICES`] lists.
pub(super) fn choice(option: &str, typed: &str) -> Option<String> {
    let (_, values) = CHOICES.iter().find(|(o, _)| *o == option)?;
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    closest(typed, &values)
}
