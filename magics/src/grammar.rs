//! Parsing magic lines like a command line (clap), with no IO.
//!
//! `%%slurm map ITEMS [-> NAME] [OPTIONS]`, `%%slurm run [-> NAME] [OPTIONS]`
//! and `%slurm SUBCOMMAND ...`. The words are split shell-style (shlex); the
//! `-> NAME` arrow is taken out before clap sees the rest. Errors carry the
//! usage line so the notebook can show it.

use clap::{Args, Parser, Subcommand};

use crate::resources::{parse_mem_mb, parse_time};

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
    /// `%%sweep`.
    Sweep(crate::sweep::SweepMagic),
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

/// Dependency types, as Slurm spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DependencyKind {
    /// Start after the dependency completed successfully.
    #[default]
    Afterok,
    /// Start after the dependency ended, however it ended.
    Afterany,
    /// Start only if the dependency failed.
    Afternotok,
    /// Element i starts after element i of the dependency succeeded.
    Aftercorr,
}

impl std::fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DependencyKind::Afterok => "afterok",
            DependencyKind::Afterany => "afterany",
            DependencyKind::Afternotok => "afternotok",
            DependencyKind::Aftercorr => "aftercorr",
        })
    }
}

/// Options shared by the cell magics, spelled as `sbatch` spells them.
#[derive(Debug, Clone, PartialEq, Default, Args)]
pub struct JobOptions {
    /// Time limit per element: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S.
    #[arg(long, value_parser = parse_time)]
    pub time: Option<u64>,
    /// Memory per element: 512M, 2G (default unit: megabytes).
    #[arg(long, value_parser = parse_mem_mb)]
    pub mem: Option<u64>,
    /// CPUs per element (also the threads a packed element uses).
    #[arg(long = "cpus-per-task", default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm account.
    #[arg(long)]
    pub account: Option<String>,
    /// Generic resources, e.g. gpu:1.
    #[arg(long)]
    pub gres: Option<String>,
    /// Quality of service.
    #[arg(long)]
    pub qos: Option<String>,
    /// At most K elements of the array at once (Slurm's `%K`).
    #[arg(long = "max-concurrent")]
    pub max_concurrent: Option<usize>,
    /// Earlier jobs (names) this one waits for.
    #[arg(long, value_delimiter = ',')]
    pub after: Vec<String>,
    /// How `--after` jobs are waited for.
    #[arg(long, value_enum, default_value_t = DependencyKind::Afterok)]
    pub dependency: DependencyKind,
    /// Resubmit failed elements up to N times.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Items per array element (task packing); `auto` picks one.
    #[arg(long)]
    pub chunk: Option<String>,
    /// Queue the job and return at once.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// Where to run: local (default) or slurm.
    #[arg(long)]
    pub backend: Option<String>,
    /// Job name shown in the queue.
    #[arg(long = "name")]
    pub job_name: Option<String>,
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
        /// A notebook variable, a range like 0..100, or an earlier map job's NAME.
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

/// `%slurm` line magics.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum LineMagic {
    /// Show or change where jobs run.
    Config(ConfigArgs),
    /// List jobs of this notebook.
    Jobs,
    /// State of a job (or all jobs).
    Status {
        /// Job name.
        job: Option<String>,
    },
    /// Wait for a job and bind its results.
    Wait {
        /// Job name.
        job: String,
    },
    /// Cancel a job's pending and running elements.
    Cancel {
        /// Job name.
        job: String,
    },
    /// Show an element's stdout and stderr: `logs NAME[IDX]`.
    Logs {
        /// `NAME` or `NAME[IDX]`.
        job: String,
    },
    /// Rerun only the failed elements of a job.
    Retry {
        /// Job name.
        job: String,
    },
    /// Bind a finished job's results again (e.g. after a kernel restart).
    Load {
        /// Job name.
        job: String,
    },
    /// The workflow so far as a graph (SVG and text; `--dot` for Graphviz).
    Graph {
        /// Print the Graphviz DOT text instead.
        #[arg(long)]
        dot: bool,
        /// Every job in the ledger, not only this session's.
        #[arg(long)]
        all: bool,
    },
    /// Show usage.
    Help,
}

/// `%slurm config` options.
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct ConfigArgs {
    /// local or slurm.
    #[arg(long)]
    pub backend: Option<String>,
    /// ssh://user@host[:port] for a remote cluster.
    #[arg(long)]
    pub host: Option<String>,
    /// SSH private key.
    #[arg(long)]
    pub identity: Option<String>,
    /// Default partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Default account.
    #[arg(long)]
    pub account: Option<String>,
    /// Working directory for job files.
    #[arg(long)]
    pub workdir: Option<String>,
    /// Job root on the cluster when working over SSH.
    #[arg(long = "remote-workdir")]
    pub remote_workdir: Option<String>,
}

#[derive(Parser, Debug)]
#[command(name = "%slurm", no_binary_name = true, disable_help_subcommand = true)]
struct SlurmLine {
    #[command(subcommand)]
    cmd: LineMagic,
}

/// A magic line that could not be parsed; `message` includes the usage.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct GrammarError {
    /// What went wrong, with the usage line.
    pub message: String,
}

fn err(message: impl Into<String>) -> GrammarError {
    GrammarError {
        message: message.into(),
    }
}

/// Usage of the cell magics, shown with errors and by `%slurm help`.
pub const USAGE: &str = "\
%%slurm map ITEMS [-> NAME] [OPTIONS]   one array element per item; body: fn f(item: T) -> R { ... }
%%slurm run [-> NAME[: TYPE]] [OPTIONS] one job; body: a Rust expression or block using earlier jobs by name
%%sweep P in VALUES, ... [-> NAME] [--maximize F | --minimize F] [--random N --seed S] [--zip] [--save FILE] [OPTIONS]
%slurm config|jobs|status [JOB]|wait JOB|cancel JOB|logs JOB[IDX]|retry JOB|load JOB|graph [--dot] [--all]|help
OPTIONS: --time T --mem M --cpus-per-task N --max-concurrent K --after JOB[,JOB]
         --dependency afterok|afterany|afternotok|aftercorr --chunk K|auto --no-wait
         --partition P --account A --gres G --qos Q --retries N --backend local|slurm --name N";

/// True if the cell is a magic cell or line.
pub fn is_magic(code: &str) -> bool {
    let t = code.trim_start();
    t.starts_with("%%") || t.starts_with('%')
}

/// Parses a magic from the whole cell text; returns the magic and the body
/// (the cell after its first line) with the body's first line number (1-based).
pub fn parse(code: &str) -> Result<(Magic, String), GrammarError> {
    let code = code.trim_start_matches(['\n', '\r']);
    let (first, body) = code.split_once('\n').unwrap_or((code, ""));
    let first = first.trim();
    let words = shlex::split(first)
        .ok_or_else(|| err(format!("unbalanced quotes in `{first}`\n\n{USAGE}")))?;
    let Some((magic, rest)) = words.split_first() else {
        return Err(err(USAGE));
    };
    let parsed = match magic.as_str() {
        "%%slurm" => parse_cell(rest)?,
        "%slurm" => {
            let rest: Vec<String> = if rest.is_empty() {
                vec!["help".into()]
            } else {
                rest.to_vec()
            };
            let line = SlurmLine::try_parse_from(rest).map_err(|e| err(clap_message(e)))?;
            Magic::Line(line.cmd)
        }
        "%lsmagic" => Magic::LsMagic,
        "%%sweep" => {
            // Values like `[1e-3, 1e-2]` hold spaces: the sweep grammar reads the raw line.
            let spec = first.strip_prefix("%%sweep").unwrap_or("");
            Magic::Sweep(crate::sweep::parse(spec)?)
        }
        other => {
            return Err(err(format!(
                "unknown magic `{other}`; the magics are %%slurm, %slurm and %lsmagic\n\n{USAGE}"
            )));
        }
    };
    Ok((parsed, body.to_string()))
}

fn parse_cell(words: &[String]) -> Result<Magic, GrammarError> {
    let (words, target) = take_arrow(words)?;
    let cell = SlurmCell::try_parse_from(words).map_err(|e| err(clap_message(e)))?;
    let (name, result_type) = match target {
        Some(t) => match t.split_once(':') {
            Some((n, ty)) => (Some(n.trim().to_string()), Some(ty.trim().to_string())),
            None => (Some(t), None),
        },
        None => (None, None),
    };
    if let Some(n) = &name
        && !is_identifier(n)
    {
        return Err(err(format!("`-> {n}`: NAME must be a Rust identifier")));
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

/// Removes `-> NAME` (or `->NAME`, `-> NAME: TYPE`) from the words.
fn take_arrow(words: &[String]) -> Result<(Vec<String>, Option<String>), GrammarError> {
    let mut out = Vec::new();
    let mut target = None;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "->" {
            let name = words
                .get(i + 1)
                .ok_or_else(|| err(format!("`->` needs a NAME after it\n\n{USAGE}")))?;
            let mut t = name.clone();
            i += 2;
            // `-> name: Type` may have been split at the space after the colon.
            if t.ends_with(':')
                && let Some(ty) = words.get(i)
            {
                t.push_str(ty);
                i += 1;
            }
            target = Some(t);
            continue;
        }
        if let Some(name) = w.strip_prefix("->") {
            target = Some(name.to_string());
        } else {
            out.push(w.clone());
        }
        i += 1;
    }
    Ok((out, target))
}

fn clap_message(e: clap::Error) -> String {
    let text = e.render().to_string();
    format!("{}\n\n{USAGE}", text.trim_end())
}

/// A plain Rust identifier (ASCII, not starting with a digit).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_with_arrow_and_options() {
        let (m, body) = parse("%%slurm map chunks -> partial --time 0:30 --max-concurrent 2\nfn f(x: i32) -> i32 { x }").expect("parses");
        let Magic::Map(m) = m else {
            panic!("not a map")
        };
        assert_eq!(m.items, "chunks");
        assert_eq!(m.name.as_deref(), Some("partial"));
        assert_eq!(m.options.time, Some(30));
        assert_eq!(m.options.max_concurrent, Some(2));
        assert_eq!(body, "fn f(x: i32) -> i32 { x }");
    }

    #[test]
    fn run_with_typed_arrow() {
        let (m, _) = parse("%%slurm run -> total: i64 --after a,b\nmerge(&a)").expect("parses");
        let Magic::Run(r) = m else {
            panic!("not a run")
        };
        assert_eq!(r.name.as_deref(), Some("total"));
        assert_eq!(r.result_type.as_deref(), Some("i64"));
        assert_eq!(r.options.after, vec!["a", "b"]);
    }

    #[test]
    fn bad_lines_give_usage() {
        let e = parse("%%slurm frobnicate").expect_err("fails");
        assert!(e.message.contains("%%slurm map ITEMS"), "{}", e.message);
        let e = parse("%%slurm map xs --tiem 5").expect_err("fails");
        assert!(e.message.contains("--tiem"), "{}", e.message);
        let e = parse("%%bogus").expect_err("fails");
        assert!(e.message.contains("unknown magic"));
        let e = parse("%%slurm map xs -> 9bad").expect_err("fails");
        assert!(e.message.contains("identifier"));
        let e = parse("%%slurm map xs --time never").expect_err("fails");
        assert!(e.message.contains("never"), "{}", e.message);
    }

    #[test]
    fn line_magics() {
        assert_eq!(
            parse("%slurm jobs").expect("parses").0,
            Magic::Line(LineMagic::Jobs)
        );
        assert_eq!(
            parse("%slurm").expect("parses").0,
            Magic::Line(LineMagic::Help)
        );
        assert_eq!(
            parse("%slurm logs partial[3]").expect("parses").0,
            Magic::Line(LineMagic::Logs {
                job: "partial[3]".into()
            })
        );
        assert_eq!(parse("%lsmagic").expect("parses").0, Magic::LsMagic);
    }
}
