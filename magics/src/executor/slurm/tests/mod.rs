//! Tests of the Slurm executor without a cluster: the reconcile rules on
//! golden squeue and sacct outputs (`../fixtures/`), the watcher's IO layer
//! on fake runners with a manual clock, and the whole executor (watcher
//! thread included) on fake runners: the golden sbatch script and argv, and
//! a cancel that must not wait behind a fetch.

mod executor_fake;
mod reconcile_rules;
mod watcher_io;

use std::collections::BTreeMap;
use std::path::Path;

use super::tracked::{Placement, Tracked};
use crate::domain::{ElementState, JobId, SlurmJobId};
use crate::executor::Submitted;
use crate::jobdir::JobDir;

/// The text of `fixtures/<name>`.
fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/executor/slurm/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A placement whose local and remote directories are `dir`, one item per
/// element.
fn place(dir: &Path, items: usize) -> Placement {
    Placement {
        local_dir: JobDir::new(dir),
        remote_dir: JobDir::new(dir),
        items,
        chunk: 1,
    }
}

/// A job of `elements` pending elements submitted as one array.
fn job(array: &str, elements: usize) -> Tracked {
    let mut t = Tracked::new(place(Path::new("/nonexistent"), elements), elements, false);
    t.states = vec![ElementState::Pending; elements];
    t.slices.push(Submitted {
        array_id: SlurmJobId::from(array),
        offset: 0,
    });
    t
}

fn jobs<const N: usize>(list: [(JobId, Tracked); N]) -> BTreeMap<JobId, Tracked> {
    list.into_iter().collect()
}
