//! `%slurm report`: what the parallelism bought. From each element's
//! accounting (the local executor's `usage/` records, or one sacct call on
//! a cluster) and the status files, it computes the guide's figures —
//! speedup, efficiency, utilization — per job and for the workflow, the
//! critical path, and advice from the measurements; then draws a Gantt
//! chart and tables, or prints the figures as JSON.
//!
//! - `timeline.rs`: the input (jobs, elements, the machine);
//! - `metrics.rs`, `critical.rs`, `advice.rs`: the figures, pure;
//! - `sacct.rs`: the sacct command and its lines, pure;
//! - `gantt.rs`, `tables.rs`: the SVG, the text and HTML, the JSON, pure;
//!   `job_fill.rs`: each job's fill in the chart (colour, then pattern);
//!   `time_axis.rs`: the chart's time ticks and their unit;
//! - `collect.rs`: the IO — job directories, the ledger, the executors.

pub mod advice;
pub mod collect;
pub mod critical;
pub mod gantt;
pub mod job_fill;
pub mod metrics;
pub mod sacct;
pub mod tables;
pub mod time_axis;
pub mod timeline;

pub use critical::CriticalPath;
pub use metrics::{Figures, JobFigures, Mark, figures};
pub use timeline::{ElementRun, JobTimeline, Machine};
