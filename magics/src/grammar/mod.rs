//! Parsing magic lines like a command line (clap), with no IO.
//!
//! `%%slurm map ITEMS [-> NAME] [OPTIONS]`, `%%slurm run [-> NAME] [OPTIONS]`
//! and `%slurm SUBCOMMAND ...`. The words are split shell-style (shlex); the
//! `-> NAME` arrow is taken out before clap sees the rest. An error is one
//! line: what is wrong and a correct line to copy (`hints.rs`), never
//! clap's usage text.

mod hints;
mod line;
mod options;
pub mod sweep;
mod typo;

use clap::{CommandFactory, Parser, Subcommand};
use typo::{Typo, closest};

pub use line::{CacheAction, ConfigArgs, LineMagic};
pub use options::{JobOptions, parse_backend};
pub use sweep::SweepMagic;

/// A parsed magic.
#[derive(Debug, Clone, PartialEq)]
pub enum Magic {
    /// `%%slurm map`.
    Map(MapMagic),
    /// `%%slurm run`.
    Run(RunMagic),
    /// `%slurm ...`.
    Line(LineMagic),
    /// `%lsmagic`.
    LsMagic,
    /// Help text asked for (`--help`, `%slurm help [TOPIC]`): shown as
    /// normal output.
    Help(String),
    /// `%%sweep`.
    Sweep(SweepMagic),
}

/// `%%slurm map ITEMS [-> NAME] [OPTIONS]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapMagic {
    /// The ITEMS word as written: a variable, a range or a job name.
    pub items: String,
    /// `-> NAME`, if given.
    pub name: Option<String>,
    /// Shared job options.
    pub options: JobOptions,
}

/// `%%slurm run [-> NAME[: TYPE]] [OPTIONS]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMagic {
    /// `-> NAME`, if given.
    pub name: Option<String>,
    /// `-> NAME: TYPE`: the result's type, if the user spelled it.
    pub result_type: Option<String>,
    /// Shared job options.
    pub options: JobOptions,
}

#[derive(Parser, Debug)]
#[command(
    name = "%%slurm",
    no_binary_name = true,
    disable_help_subcommand = true
)]
struct SlurmCell {
    #[command(subcommand)]
    cmd: CellCmd,
}

#[derive(Subcommand, Debug)]
enum CellCmd {
    /// One array element per item: `%%slurm map ITEMS [-> NAME] [OPTIONS]`.
    Map {
        /// A Rust expression of the notebook that iterates over Serialize
        /// values (a variable, 0..n, v.iter().filter(..), &v[..10]), or an
        /// earlier map job's NAME (element-wise, aftercorr).
        #[arg(allow_hyphen_values = true)]
        items: String,
        #[command(flatten)]
        options: JobOptions,
    },
    /// One job: `%%slurm run [-> NAME] [OPTIONS]`.
    Run {
        #[command(flatten)]
        options: JobOptions,
    },
}

#[derive(Parser, Debug)]
#[command(name = "%slurm", no_binary_name = true, disable_help_subcommand = true)]
struct SlurmLine {
    #[command(subcommand)]
    cmd: LineMagic,
}

/// The `%%slurm` cell magics as clap defines them (help, completion).
pub fn cell_command() -> clap::Command {
    SlurmCell::command()
}

/// The `%slurm` line magics as clap defines them (help, completion).
pub fn line_command() -> clap::Command {
    SlurmLine::command()
}

/// Help for `%slurm help [TOPIC]`: a line or cell sub-command, `sweep`, or
/// (without a topic) the usage of every magic.
///
/// # Errors
/// A [`GrammarError`] naming the topics that exist.
pub fn help(topic: Option<&str>) -> Result<String, GrammarError> {
    let Some(topic) = topic else {
        return Ok(USAGE.to_string());
    };
    let topic = topic.trim_start_matches('%');
    if topic == "sweep" {
        return Ok(sweep::command().render_long_help().to_string());
    }
    for mut cmd in [cell_command(), line_command()] {
        if let Some(sub) = cmd.find_subcommand_mut(topic) {
            return Ok(sub.render_long_help().to_string());
        }
    }
    let mut topics: Vec<String> = cell_command()
        .get_subcommands()
        .chain(line_command().get_subcommands())
        .map(|c| c.get_name().to_string())
        .collect();
    topics.push("sweep".into());
    let message = match typo::closest(topic, &topics) {
        Some(near) => format!("no help on `{topic}`; did you mean `{near}`?"),
        None => format!("no help on `{topic}`; topics: {}", topics.join(", ")),
    };
    Err(err(message).at(topic))
}

/// A magic line that could not be parsed; `message` includes the usage.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct GrammarError {
    /// What went wrong, with the usage line.
    pub message: String,
    /// Where in the magic line (the cell's first line, byte offsets) the
    /// offending word is, when one is to blame.
    pub span: Option<std::ops::Range<usize>>,
    /// The offending word, located in the line by [`parse`].
    culprit: Option<String>,
}

impl GrammarError {
    /// An error with no particular word to blame.
    pub fn new(message: impl Into<String>) -> GrammarError {
        GrammarError {
            message: message.into(),
            span: None,
            culprit: None,
        }
    }

    /// Blames `word` of the line (its span is found by [`parse`]).
    pub fn at(mut self, word: impl Into<String>) -> GrammarError {
        self.culprit = Some(word.into());
        self
    }

    /// Sets the span from the culprit's first place in `line`.
    fn locate(mut self, line: &str, line_start: usize) -> GrammarError {
        if let Some(w) = self.culprit.as_deref().filter(|w| !w.is_empty())
            && let Some(at) = line.find(w)
        {
            self.span = Some(line_start + at..line_start + at + w.len());
        }
        self
    }
}

fn err(message: impl Into<String>) -> GrammarError {
    GrammarError::new(message)
}

/// A clap error of `command` (`%slurm wait`, `%%slurm map`, `%%sweep`;
/// `family` alone, `%slurm`, when the sub-command is not one) in one line,
/// blaming the argument clap names.
fn clap_err(e: clap::Error, family: &str, command: Option<&str>) -> GrammarError {
    use clap::error::{ContextKind, ContextValue};
    let culprit = [
        ContextKind::InvalidArg,
        ContextKind::InvalidValue,
        ContextKind::InvalidSubcommand,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    });
    let e = err(clap_message(e, family, command));
    match culprit {
        Some(c) => e.at(c
            .split('=')
            .next()
            .unwrap_or(&c)
            .split(' ')
            .next()
            .unwrap_or(&c)
            .to_string()),
        None => e,
    }
}

/// Usage of the cell magics, shown with errors and by `%slurm help`.
pub const USAGE: &str = "\
%%slurm map ITEMS [-> NAME] [OPTIONS]   one array element per item; body: fn f(item: T) -> R { ... }
%%slurm run [-> NAME[: TYPE]] [OPTIONS] one job; body: a Rust expression or block using earlier jobs by name
%%sweep P in VALUES, ... [-> NAME] [--maximize F | --minimize F] [--random N --seed S] [--zip] [--save FILE] [OPTIONS]
%slurm config|jobs|status [JOB]|wait JOB|cancel JOB|logs JOB[IDX]|retry JOB|load JOB|graph [--dot] [--all]|cache clear
       report [JOB ...] [--json] [--save FILE]|help
OPTIONS: --time T --mem M --cpus-per-task N --max-concurrent K --after JOB[,JOB]
         --dependency afterok|afterany|afternotok|aftercorr --chunk K|auto --no-wait --cache
         --partition P --account A --gres G --qos Q --retries N --backend local|slurm --name N";

/// True if the cell is a magic cell or line.
pub fn is_magic(code: &str) -> bool {
    let t = code.trim_start();
    t.starts_with("%%") || t.starts_with('%')
}

/// Parses a magic from the whole cell text; returns the magic and the body:
/// the cell after the magic's line, preceded by an empty line for each
/// empty line before the magic, so that line L of the body is always line
/// L + 1 of the cell (task builds and panics name cell lines that way).
pub fn parse(code: &str) -> Result<(Magic, String), GrammarError> {
    let trimmed = code.trim_start_matches(['\n', '\r']);
    let (first, body) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let line_start = code.len() - trimmed.len() + (first.len() - first.trim_start().len());
    let blank = code[..code.len() - trimmed.len()].matches('\n').count();
    let first = first.trim();
    parse_line(first)
        .map(|m| (m, format!("{}{body}", "\n".repeat(blank))))
        .map_err(|e| e.locate(first, line_start))
}

/// The cell line (1-based) a magic's body starts on: the line after the
/// magic line, as [`parse`] splits the cell.
pub fn body_first_line(code: &str) -> usize {
    let blank = code.len() - code.trim_start_matches(['\n', '\r']).len();
    code[..blank].matches('\n').count() + 2
}

fn parse_line(first: &str) -> Result<Magic, GrammarError> {
    let words =
        shlex::split(first).ok_or_else(|| err(format!("unbalanced quotes in `{first}`")))?;
    let Some((magic, rest)) = words.split_first() else {
        return Err(err(USAGE));
    };
    let parsed = match magic.as_str() {
        "%%slurm" if rest.first().is_some_and(|w| w == "map") => {
            // ITEMS is a Rust expression and may hold spaces and brackets:
            // it runs to the first ` ->` or ` --` outside them.
            let after = first
                .trim_start_matches("%%slurm")
                .trim_start()
                .trim_start_matches("map");
            let (items, options) = split_at_options(after);
            let mut words = vec!["map".to_string()];
            if !items.trim().is_empty() {
                words.push(items.trim().to_string());
            }
            words.extend(
                shlex::split(options)
                    .ok_or_else(|| err(format!("unbalanced quotes in `{first}`")))?,
            );
            parse_cell(&words)?
        }
        // A cell magic with no mode: one line, as for any missing part.
        "%%slurm" if rest.is_empty() => {
            return Err(err(
                "`%%slurm` needs a mode, `map` or `run`; for example `%%slurm map 0..4 -> squares`",
            ));
        }
        "%%slurm" => parse_cell(rest)?,
        "%slurm" => {
            // `%slurm`, `%slurm --help`: the usage of every magic.
            let rest: Vec<String> = if rest.is_empty() || rest == ["--help"] || rest == ["-h"] {
                vec!["help".into()]
            } else {
                rest.to_vec()
            };
            match SlurmLine::try_parse_from(&rest) {
                Ok(SlurmLine {
                    cmd: LineMagic::Help { topic },
                }) => Magic::Help(help(topic.as_deref())?),
                Ok(line) => Magic::Line(line.cmd),
                Err(e) if is_help(&e) => Magic::Help(e.render().to_string()),
                Err(e) => {
                    let command =
                        known_subcommand(&line_command(), &rest).map(|s| format!("%slurm {s}"));
                    return Err(clap_err(e, "%slurm", command.as_deref()));
                }
            }
        }
        "%lsmagic" => Magic::LsMagic,
        "%%sweep" => {
            // Values like `[1e-3, 1e-2]` hold spaces: the sweep grammar reads the raw line.
            let spec = first.strip_prefix("%%sweep").unwrap_or("");
            if rest.iter().any(|w| w == "--help" || w == "-h") {
                Magic::Help(sweep::command().render_long_help().to_string())
            } else {
                Magic::Sweep(sweep::parse(spec)?)
            }
        }
        other => {
            return Err(err(format!(
                "unknown magic `{other}`; the magics are %%slurm, %%sweep, %slurm and %lsmagic (`%slurm help` shows them)"
            ))
            .at(other));
        }
    };
    Ok(parsed)
}

/// The sub-command `words` start with, if `command` has it.
fn known_subcommand<'a>(command: &clap::Command, words: &'a [String]) -> Option<&'a str> {
    let first = words.first()?;
    command.find_subcommand(first).map(|_| first.as_str())
}

/// clap's `--help` (and help for a bare command) is output, not an error.
fn is_help(e: &clap::Error) -> bool {
    matches!(
        e.kind(),
        clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            | clap::error::ErrorKind::DisplayVersion
    )
}

fn parse_cell(words: &[String]) -> Result<Magic, GrammarError> {
    let (words, target) = take_arrow(words)?;
    let cell = match SlurmCell::try_parse_from(&words) {
        Ok(cell) => cell,
        Err(e) if is_help(&e) => return Ok(Magic::Help(e.render().to_string())),
        Err(e) => {
            let command = known_subcommand(&cell_command(), &words).map(|s| format!("%%slurm {s}"));
            return Err(clap_err(e, "%%slurm", command.as_deref()));
        }
    };
    let (name, result_type) = match target {
        Some(t) => match t.split_once(':') {
            Some((n, ty)) => (Some(n.trim().to_string()), Some(ty.trim().to_string())),
            None => (Some(t), None),
        },
        None => (None, None),
    };
    if let Some(n) = &name
        && let Some(why) = binding_name_problem(n)
    {
        return Err(err(format!("`-> {n}`: {why}")).at(n.as_str()));
    }
    Ok(match cell.cmd {
        CellCmd::Map { items, options } => Magic::Map(MapMagic {
            items,
            name,
            options,
        }),
        CellCmd::Run { options } => Magic::Run(RunMagic {
            name,
            result_type,
            options,
        }),
    })
}

/// Splits a magic line's text at the first ` ->` or ` --` that stands
/// outside brackets and double quotes: the leading Rust text (ITEMS, sweep
/// parameters) and the options after it.
pub(crate) fn split_at_options(line: &str) -> (&str, &str) {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else {
            match c {
                '"' => quoted = true,
                '[' | '(' | '{' => depth += 1,
                ']' | ')' | '}' => depth -= 1,
                '-' if depth <= 0
                    && prev.is_whitespace()
                    && (line[i..].starts_with("->") || line[i..].starts_with("--")) =>
                {
                    return line.split_at(i);
                }
                _ => {}
            }
        }
        prev = c;
    }
    (line, "")
}

/// Removes `-> NAME` (or `->NAME`, `-> NAME: TYPE`) from the words.
fn take_arrow(words: &[String]) -> Result<(Vec<String>, Option<String>), GrammarError> {
    let mut out = Vec::new();
    let mut target = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let start = if w == "->" {
            i += 1;
            Some(
                words
                    .get(i)
                    .ok_or_else(|| {
                        err("`->` needs a NAME after it; for example `%%slurm map 0..4 -> out`")
                    })?
                    .clone(),
            )
        } else {
            w.strip_prefix("->").map(str::to_string)
        };
        let Some(mut t) = start else {
            out.push(w.clone());
            i += 1;
            continue;
        };
        i += 1;
        // `-> name: Type` is split at the space after the colon, and a type
        // (`Result<i32, String>`) at its own spaces: join until it closes.
        while let Some(next) = words.get(i) {
            let open = unclosed(&t);
            if !(t.ends_with(':') || open > 0) || next.starts_with("--") && open == 0 {
                break;
            }
            if !t.ends_with(':') {
                t.push(' ');
            }
            t.push_str(next);
            i += 1;
        }
        target = Some(t);
    }
    Ok((out, target))
}

/// Brackets (`<`, `(`, `[`) opened in `s` and not closed yet.
fn unclosed(s: &str) -> i32 {
    s.chars().fold(0, |depth, c| match c {
        '<' | '(' | '[' => depth + 1,
        '>' | ')' | ']' => depth - 1,
        _ => depth,
    })
}

/// clap's error in one line. With a suggestion (a typo of a sub-command,
/// an option or a value) that line says what was meant and nothing more:
/// `unrecognized subcommand 'statu'; did you mean `status`?`. Without one,
/// it names what is wrong and gives a correct line of `command`
/// ([`hints::one_line`]); a word that is no sub-command of `family` points
/// to the help. Never clap's usage text.
fn clap_message(e: clap::Error, family: &str, command: Option<&str>) -> String {
    use clap::error::{ContextKind, ContextValue};
    let typed = [
        ContextKind::InvalidSubcommand,
        ContextKind::InvalidArg,
        ContextKind::InvalidValue,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    })
    .unwrap_or_default();
    // clap may offer several; the one fewest edits away (a swap of two
    // letters counting as one) is what was meant.
    let suggestion = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(vec![s.clone()]),
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    })
    .and_then(|candidates| {
        candidates
            .into_iter()
            .min_by_key(|c| strsim::damerau_levenshtein(&typed, c))
    });
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    let typo = match e.kind() {
        clap::error::ErrorKind::InvalidSubcommand => Some(Typo::Subcommand),
        clap::error::ErrorKind::UnknownArgument if typed.starts_with('-') => Some(Typo::Option),
        clap::error::ErrorKind::InvalidValue if matches!(e.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if !v.is_empty()) => {
            Some(Typo::Value)
        }
        _ => None,
    };
    let typed = match (typo, e.get(ContextKind::InvalidValue)) {
        (Some(Typo::Value), Some(ContextValue::String(v))) => v.clone(),
        _ => typed.split('=').next().unwrap_or(&typed).to_string(),
    };
    let suggestion =
        suggestion.or_else(|| typo.and_then(|t| closest(&typed, &t.candidates(family, command))));
    // A value an option's own parser refused, one typo from one it takes.
    if e.kind() == clap::error::ErrorKind::ValueValidation
        && let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
            e.get(ContextKind::InvalidArg),
            e.get(ContextKind::InvalidValue),
        )
    {
        let option = arg.split_whitespace().next().unwrap_or(arg);
        if let Some(meant) = typo::choice(option, value) {
            return format!("unknown value `{value}` of `{option}`; did you mean `{meant}`?");
        }
    }
    match (typo, suggestion) {
        (Some(t), Some(s)) => format!(
            "{}; did you mean `{s}`?",
            t.unknown(&typed, family, command)
        ),
        (_, Some(s)) => format!("{first}; did you mean `{s}`?"),
        (Some(Typo::Subcommand), None) => {
            let of = if family == "%%slurm" {
                cell_command()
            } else {
                line_command()
            };
            let names: Vec<&str> = of.get_subcommands().map(clap::Command::get_name).collect();
            format!(
                "{}; {family} takes {} (`%slurm help NAME` for one)",
                Typo::Subcommand.unknown(&typed, family, command),
                names.join(", ")
            )
        }
        _ => hints::one_line(&e, command, &first),
    }
}

/// Rust's strict and reserved keywords (the Reference, "Keywords"; 2024
/// edition): not names a notebook can bind, except written raw (`r#fn`).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Why `s` cannot name a variable the magics bind (`-> NAME`, a sweep
/// parameter), or None if it can: a Rust identifier that is not a keyword
/// and not `_`, or a raw identifier (`r#fn`) of one that may be raw.
pub fn binding_name_problem(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix("r#") {
        return if is_identifier(raw) && !matches!(raw, "crate" | "self" | "super" | "Self" | "_") {
            None
        } else {
            Some(format!("`{s}` is not a raw identifier Rust accepts"))
        };
    }
    if !is_identifier(s) {
        return Some(format!("`{s}` is not a Rust identifier"));
    }
    if s == "_" {
        return Some("`_` binds nothing; choose a name".into());
    }
    if KEYWORDS.contains(&s) {
        return Some(format!(
            "`{s}` is a Rust keyword; choose another name, or write it raw: `r#{s}`"
        ));
    }
    None
}

/// A Rust identifier: Unicode XID as rustc reads names (`数据_x`,
/// `élément`), not starting with a digit; `_` alone is none.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if unicode_ident::is_xid_start(c) || c == '_')
        && chars.all(unicode_ident::is_xid_continue)
        && s != "_"
}

#[cfg(test)]
mod tests;
