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
    let near = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(typed, c), c))
        .filter(|(d, _)| *d == 1 || (*d == 2 && letters >= 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone());
    // A word written without some of its letters (`clr`, `stts`): the one
    // candidate that holds them in order.
    near.or_else(|| {
        let mut held = candidates
            .iter()
            .filter(|c| letters >= 3 && c.len() <= typed.len() + 3 && in_order(typed, c));
        match (held.next(), held.next()) {
            (Some(c), None) => Some(c.clone()),
            _ => None,
        }
    })
}

/// True if every character of `short` appears in `long`, in order.
fn in_order(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
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

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_word_missing_letters_finds_the_one_that_holds_them() {
        let c = |typed: &str, all: &[&str]| {
            closest(
                typed,
                &all.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(c("clr", &["clear"]), Some("clear".into()));
        assert_eq!(
            c("stts", &["status", "jobs", "logs"]),
            Some("status".into())
        );
        assert_eq!(c("clera", &["clear"]), Some("clear".into()));
        // Two candidates hold the letters: no guess; too short: no guess.
        assert_eq!(c("st", &["status", "stop"]), None);
        assert_eq!(c("sts", &["status", "stats"]), None);
        assert_eq!(c("xyz", &["clear"]), None);
    }
}
