//! The whole Slurm executor, watcher thread included, on fake runners: the
//! golden batch script and sbatch argv, a refused slice, and a cancel that
//! completes while a fetch is still in progress.

use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::time::Duration;

use super::super::{SlurmError, SlurmExecutor};
use super::fixture;
use crate::cluster::fake::{FakeRunner, failed, ok};
use crate::domain::{Dependency, DependencyKind, Resources};
use crate::executor::{Executor, ExecutorError, JobSpec};
use crate::jobdir::JobDir;

const ROOT: &str = "/cluster/sluice";

/// A fake cluster answering what `start` asks (MaxArraySize `max`).
fn cluster(max: usize) -> (FakeRunner, FakeRunner) {
    let commands = FakeRunner::remote();
    commands.always(
        "scontrol",
        ok(&format!("MaxArraySize            = {max}\n")),
    );
    commands.always("sinfo", ok("0/2/0/2\n"));
    commands.always("uname", ok(&format!("{}\n", std::env::consts::ARCH)));
    (commands, FakeRunner::remote())
}

fn start(commands: &FakeRunner, transfers: &FakeRunner) -> SlurmExecutor {
    SlurmExecutor::start(
        Box::new(commands.clone()),
        Box::new(transfers.clone()),
        PathBuf::from(ROOT),
    )
    .expect("start")
}

/// A job of `items` items (one per element) with its local directory and
/// binary under `tmp`.
fn spec(tmp: &Path, id: u64, name: &str, items: usize) -> JobSpec {
    let dir = JobDir::new(tmp.join("jobs").join(id.to_string()));
    dir.create().expect("job dir");
    dir.write_shape(items, 1).expect("shape");
    std::fs::write(dir.items(), "1\n".repeat(items)).expect("items");
    let binary = tmp.join("bin").join("task-0123abcd");
    std::fs::create_dir_all(tmp.join("bin")).expect("bin dir");
    std::fs::write(&binary, b"\x7fELF").expect("binary");
    JobSpec {
        id,
        name: name.into(),
        binary,
        dir,
        items,
        chunk: 1,
        elements: items,
        run: (0..items).collect(),
        resources: Resources::default(),
        deps: Vec::new(),
        submit_dir: tmp.to_path_buf(),
        environment: Some(vec![("GREETING".into(), "it's \"here\"".into())]),
    }
}

#[test]
fn golden_batch_script_and_sbatch_argv() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (commands, transfers) = cluster(10001);
    commands.answer("sbatch", ok("4242\n"));
    commands.answer("sbatch", ok("4243;cluster-a\n"));
    let mut exec = start(&commands, &transfers);
    exec.submit(&spec(tmp.path(), 6, "squares", 4))
        .expect("submit squares");
    let mut total = spec(tmp.path(), 7, "total", 3);
    total.resources = Resources {
        cpus: 2,
        mem_mb: Some(512),
        time_limit: Some(90),
        max_concurrent: Some(2),
        partition: Some("debug".into()),
        ..Resources::default()
    };
    total.deps = vec![Dependency {
        job: 6,
        name: "squares".into(),
        kind: DependencyKind::Afterok,
    }];
    let placed = exec.submit(&total).expect("submit total").expect("placed");
    assert_eq!(placed.arrays[0].array_id.as_str(), "4243");
    assert_eq!(placed.remote_dir, Path::new(ROOT).join("jobs/7"));

    let script = commands
        .file(&Path::new(ROOT).join("jobs/7/job-0.sh"))
        .expect("the batch script was written");
    assert_eq!(String::from_utf8_lossy(&script), fixture("sbatch-job-0.sh"));
    let sbatches = commands.runs_of("sbatch");
    assert_eq!(sbatches.len(), 2);
    let golden: Vec<String> = fixture("sbatch-argv.txt")
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(sbatches[1], golden);
    // The binary went over once and was checked once.
    let checks = commands.runs_of(&format!("{ROOT}/bin/task-0123abcd"));
    assert_eq!(
        checks,
        vec![vec![
            format!("{ROOT}/bin/task-0123abcd"),
            "--describe".into()
        ]]
    );
    assert_eq!(
        exec.describe(),
        "ssh://fake@cluster:22 (1 SSH session for commands, 1 for transfers)"
    );
}

#[test]
fn a_refused_slice_cancels_the_slices_already_submitted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (commands, transfers) = cluster(2);
    commands.answer("sbatch", ok("4242\n"));
    commands.answer(
        "sbatch",
        failed(
            1,
            "sbatch: error: Batch job submission failed: Invalid partition name specified\n",
        ),
    );
    let mut exec = start(&commands, &transfers);
    let err = exec
        .submit(&spec(tmp.path(), 6, "wide", 4))
        .expect_err("the second slice is refused");
    assert!(
        matches!(&err, ExecutorError::Slurm(SlurmError::Sbatch(m)) if m.contains("Invalid partition")),
        "{err}"
    );
    assert_eq!(
        commands.runs_of("scancel"),
        vec![vec!["scancel".to_string(), "4242".into()]]
    );
    assert!(exec.snapshot(6).is_none(), "nothing is watched");
}

#[test]
fn cancel_completes_while_a_fetch_is_in_progress() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (commands, transfers) = cluster(10001);
    commands.answer("sbatch", ok("4242\n"));
    // squeue shows nothing: the element left the queue, so the watcher
    // fetches the job directory, and that fetch hangs.
    transfers.hold_fetches();
    let mut exec = start(&commands, &transfers);
    exec.submit(&spec(tmp.path(), 6, "slow", 1))
        .expect("submit");
    assert!(
        transfers.wait_for_held_fetch(Duration::from_secs(10)),
        "the watcher never fetched"
    );
    let (done, finished) = channel();
    let canceller = std::thread::spawn(move || {
        let r = exec.cancel(6);
        let _ = done.send(r.map_err(|e| e.to_string()));
        exec
    });
    let result = finished.recv_timeout(Duration::from_secs(5));
    let still_fetching = transfers.held_fetches();
    transfers.release_fetches();
    let exec = canceller.join().expect("the cancel thread");
    assert_eq!(
        result.expect("cancel waited behind the fetch"),
        Ok(()),
        "scancel failed"
    );
    assert_eq!(still_fetching, 1, "the fetch was still running");
    assert_eq!(
        commands.runs_of("scancel"),
        vec![vec!["scancel".to_string(), "4242".into()]]
    );
    drop(exec);
}
