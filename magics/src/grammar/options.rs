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

/// `--cpus-per-task N`: a positive count (sbatch refuses 0).
pub(super) fn parse_cpus(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err("--cpus-per-task must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a CPU count (1, 2, ...)")),
    }
}

/// `--max-concurrent K`: the array's `%K`, a positive count (Slurm refuses `%0`).
fn parse_max_concurrent(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(
            "--max-concurrent must be at least 1 (Slurm refuses an array throttle of %0)".into(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a count of elements (1, 2, ...)")),
    }
}

/// `--retries N`: a count, 0 or more.
fn parse_retries(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{s}` is not a number of retries (0, 1, 2, ...)"))
}

/// `--chunk K|auto`: a positive count of items per element, or `auto`.
fn parse_chunk(s: &str) -> Result<String, String> {
    match s.trim() {
        "auto" => Ok("auto".into()),
        k if k.parse::<usize>().is_ok_and(|k| k > 0) => Ok(k.to_string()),
        _ => Err(format!(
            "`{s}` is not a chunk: use a positive number of items or auto"
        )),
    }
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
