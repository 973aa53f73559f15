//! The `%slurm` line magics, one clap sub-command each.

use clap::{Args, Subcommand};

use super::options::parse_backend;
use crate::domain::Backend;

/// `%slurm` line magics.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum LineMagic {
    /// Show or change where jobs run.
    Config(ConfigArgs),
    /// List jobs of this notebook.
    Jobs,
    /// ElementState of a job (or all jobs).
    Status {
        /// Job name (default: this notebook's jobs).
        job: Option<String>,
        /// Every job of the folder's ledger, from every notebook.
        #[arg(long)]
        all: bool,
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
    /// Rerun only the failed elements of a job (with the resources it
    /// asked for, or new ones).
    Retry {
        /// Job name.
        job: String,
        /// New memory per element: 512M, 2G.
        #[arg(long, value_parser = crate::domain::parse_mem_mb, allow_hyphen_values = true)]
        mem: Option<u64>,
        /// New time limit per element (0: none).
        #[arg(long, value_parser = crate::domain::parse_time, allow_hyphen_values = true)]
        time: Option<u64>,
        /// New CPUs per element.
        #[arg(long = "cpus-per-task", value_parser = super::options::parse_cpus, allow_hyphen_values = true)]
        cpus_per_task: Option<u32>,
    },
    /// The result cache of this workdir: `cache clear`.
    Cache {
        /// What to do.
        #[arg(value_enum)]
        action: CacheAction,
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
    /// What the parallelism bought: a Gantt chart, speedup, efficiency,
    /// utilization, the critical path, and advice from the measurements.
    Report {
        /// Job names (default: every job of this notebook's session).
        jobs: Vec<String>,
        /// Print the figures as JSON instead.
        #[arg(long)]
        json: bool,
        /// Also write the JSON figures to FILE (relative to the workdir).
        #[arg(long, value_name = "FILE")]
        save: Option<String>,
    },
    /// Show usage, or the help of one magic: `help map`, `help sweep`.
    Help {
        /// A sub-command, or `sweep`.
        topic: Option<String>,
    },
}

/// `%slurm config` options.
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct ConfigArgs {
    /// local or slurm.
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<Backend>,
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
    /// The result cache for every map, run and sweep cell: on or off.
    #[arg(long, value_parser = crate::config::parse_switch)]
    pub cache: Option<bool>,
}

/// What `%slurm cache` does.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheAction {
    /// Delete every kept result of this workdir.
    Clear,
}
