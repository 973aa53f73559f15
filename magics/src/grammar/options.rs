//! The options every cell magic shares, spelled as sbatch(1) spells them
//! (`--time`, `--mem`, `--cpus-per-task`, ...), parsed by clap into
//! [`JobOptions`] and turned into the domain's [`Resources`].

use clap::Args;

use crate::domain::{Backend, DependencyKind, Resources, parse_mem_mb, parse_time};

/// Options shared by the cell magics, spelled as `sbatch` spells them.
#[derive(Debug, Clone, PartialEq, Default, Args)]
pub struct JobOptions {
    /// Time limit per element: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub time: Option<u64>,
    /// Memory per element: 512M, 2G (default unit: megabytes).
    #[arg(long, value_parser = parse_mem_mb, allow_hyphen_values = true)]
    pub mem: Option<u64>,
    /// CPUs per element (also the threads a packed element uses).
    #[arg(long = "cpus-per-task", default_value_t = 1, value_parser = parse_cpus, allow_hyphen_values = true)]
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
    #[arg(long = "max-concurrent", value_parser = parse_max_concurrent, allow_hyphen_values = true)]
    pub max_concurrent: Option<usize>,
    /// Earlier jobs (names) this one waits for.
    #[arg(long, value_delimiter = ',')]
    pub after: Vec<String>,
    /// How `--after` jobs are waited for.
    #[arg(long, value_parser = parse_dependency, default_value = "afterok")]
    pub dependency: DependencyKind,
    /// Resubmit failed elements up to N times.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = parse_retries)]
    pub retries: u32,
    /// Items per array element (task packing); `auto` picks one.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_chunk)]
    pub chunk: Option<String>,
    /// Queue the job and return at once.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// Reuse kept results of unchanged items (the result cache).
    #[arg(long)]
    pub cache: bool,
    /// Where to run: local (default) or slurm.
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<Backend>,
    /// Where elements start: a directory (default: the submission
    /// directory — the notebook's, or the remote workdir over SSH).
    #[arg(long)]
    pub chdir: Option<String>,
    /// Environment variables of the elements: ALL (the notebook session's),
    /// NONE, or NAME[=value],... (optionally after ALL,).
    #[arg(long, value_parser = parse_export, default_value = "ALL")]
    pub export: crate::domain::Export,
    /// Job name shown in the queue.
    #[arg(long = "name")]
    pub job_name: Option<String>,
}

impl JobOptions {
    /// What each element asks for, from the options as given.
    pub fn resources(&self) -> Resources {
        Resources {
            cpus: self.cpus_per_task.max(1),
            mem_mb: self.mem,
            time_limit: self.time,
            max_concurrent: self.max_concurrent,
            job_name: self.job_name.clone(),
            partition: self.partition.clone(),
            account: self.account.clone(),
            qos: self.qos.clone(),
            gres: self.gres.clone(),
            chdir: self.chdir.clone(),
            export: self.export.clone(),
        }
    }
}

/// The most `--retries` a job may ask for: each retry is a whole
/// resubmission of the failed elements, so more than this is a loop.
pub const MAX_RETRIES: u64 = 100;

/// `value` of `option` as a whole number from `min` to `max`, or one line
/// naming the option and that range: a negative, a fraction, a word or a
/// number past `max` (however many digits) is refused, never wrapped.
pub(super) fn whole_number(option: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = value.trim().replace('_', "");
    let why = || format!("`{option}` takes a whole number from {min} to {max}, not `{value}`");
    let digits = t.strip_prefix('+').unwrap_or(&t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(why());
    }
    // Too many digits for a u64 is past any `max`.
    match digits.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(why()),
    }
}

/// `--cpus-per-task N`: 1 or more (sbatch refuses 0), at most a u32.
pub(super) fn parse_cpus(s: &str) -> Result<u32, String> {
    let n = whole_number("--cpus-per-task", s, 1, u64::from(u32::MAX))?;
    u32::try_from(n).map_err(|e| e.to_string())
}

/// `--max-concurrent K`: the array's `%K`, 1 or more (Slurm refuses `%0`).
fn parse_max_concurrent(s: &str) -> Result<usize, String> {
    let n = whole_number("--max-concurrent", s, 1, u64::from(u32::MAX))?;
    usize::try_from(n).map_err(|e| e.to_string())
}

/// `--retries N`: 0 to [`MAX_RETRIES`].
fn parse_retries(s: &str) -> Result<u32, String> {
    let n = whole_number("--retries", s, 0, MAX_RETRIES)?;
    u32::try_from(n).map_err(|e| e.to_string())
}

/// `--chunk K|auto`: items per element, 1 or more, or `auto`.
fn parse_chunk(s: &str) -> Result<String, String> {
    if s.trim() == "auto" {
        return Ok("auto".into());
    }
    whole_number("--chunk", s, 1, u64::from(u32::MAX))
        .map(|k| k.to_string())
        .map_err(|e| format!("{e} (or `auto`)"))
}

fn parse_export(s: &str) -> Result<crate::domain::Export, String> {
    s.parse()
        .map_err(|e: crate::domain::BadExport| e.to_string())
}

fn parse_dependency(s: &str) -> Result<DependencyKind, String> {
    s.parse()
        .map_err(|e: crate::domain::UnknownDependencyKind| e.to_string())
}

/// `local` or `slurm`, for `--backend`.
pub fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
        .map_err(|e: crate::domain::UnknownBackend| e.to_string())
}
