//! Tests of the local executor with real processes: each task is a small
//! shell script. One launcher (`#!/bin/sh`, written once per test run)
//! sources `task.sh` from the job directory, so no test writes an
//! executable while another test's executor forks (which could make exec
//! fail with ETXTBSY). Tests poll snapshots and files against generous
//! deadlines and never assert on durations.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use super::scheduler::Capacity;
use super::{LocalExecutor, process};
use crate::domain::{Dependency, DependencyKind, ElementState, Resources};
use crate::executor::{Executor, JobId, JobSnapshot, JobSpec};
use crate::jobdir::JobDir;

const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

/// The task binary of every test job: runs the job directory's `task.sh`.
fn launcher() -> &'static Path {
    static LAUNCHER: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = LAUNCHER.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("task");
        std::fs::write(&path, "#!/bin/sh\n. \"$SLUICE_JOB_DIR/task.sh\"\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        (dir, path)
    });
    path
}

/// A job of `elements` elements running `script` in `root/<id>`.
fn job(root: &Path, id: JobId, elements: usize, script: &str) -> JobSpec {
    let dir = JobDir::new(root.join(id.to_string()));
    dir.create().expect("job dir");
    std::fs::write(dir.path().join("task.sh"), script).expect("task.sh");
    JobSpec {
        id,
        name: format!("job{id}"),
        binary: launcher().to_path_buf(),
        items: elements,
        chunk: 1,
        elements,
        run: (0..elements).collect(),
        resources: Resources::default(),
        deps: Vec::new(),
        // The scripts write their files where they start.
        submit_dir: dir.path().to_path_buf(),
        environment: None,
        dir,
    }
}

fn depends(spec: JobSpec, kind: DependencyKind, on: JobId) -> JobSpec {
    JobSpec {
        deps: vec![Dependency {
            job: on,
            name: format!("job{on}"),
            kind,
        }],
        ..spec
    }
}

fn executor() -> LocalExecutor {
    LocalExecutor::with_capacity(Capacity {
        cpus: 16,
        mem_mb: 1 << 20,
    })
}

/// Polls `check` until it gives a value; panics with `what` at the deadline.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// The snapshot once every element is terminal.
fn finished(exec: &LocalExecutor, id: JobId) -> Vec<ElementState> {
    eventually(&format!("job {id} to finish"), || {
        let s = exec.snapshot(id)?;
        s.states
            .iter()
            .all(ElementState::is_terminal)
            .then_some(s.states)
    })
}

/// Waits for `path` and returns the PID written in it.
fn pid_in(path: &Path) -> u32 {
    eventually(&format!("{}", path.display()), || {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    })
}

/// Start time of process `pid` (field 22 of /proc/PID/stat), if it is a
/// live process (not a zombie): with the PID it names one process.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Waits until the process that `pid` and `started` named is gone.
fn assert_gone(pid: u32, started: u64) {
    eventually(&format!("process {pid} to end"), || {
        (start_time(pid) != Some(started)).then_some(())
    });
}

/// Writes the PID of a background `sleep` to `child.<element>`, atomically.
const SPAWN_CHILD: &str = "sleep 300 &\n\
    echo $! > child.tmp.$SLURM_ARRAY_TASK_ID\n\
    mv child.tmp.$SLURM_ARRAY_TASK_ID child.$SLURM_ARRAY_TASK_ID\n";

#[test]
fn cancel_kills_the_whole_process_group() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    let spec = job(root.path(), 1, 1, &format!("{SPAWN_CHILD}wait\n"));
    exec.submit(&spec).expect("submit");
    let child = pid_in(&spec.dir.path().join("child.0"));
    let started = start_time(child).expect("the task's child runs");
    exec.cancel(1).expect("cancel");
    assert_eq!(
        finished(&exec, 1),
        [ElementState::Cancelled("cancelled by the user".into())]
    );
    assert_gone(child, started);
    let status = spec.dir.read_status(0).expect("a kill status is written");
    assert_eq!(status.state.as_deref(), Some("CANCELLED"));
}

#[test]
fn a_finished_element_leaves_no_process_behind() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    // The task ends (successfully) when the test says so, its child still running.
    let wait_for_go =
        "n=0; while [ ! -e go ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done\n";
    let spec = job(
        root.path(),
        1,
        1,
        &format!("{SPAWN_CHILD}{wait_for_go}exit 0\n"),
    );
    exec.submit(&spec).expect("submit");
    let child = pid_in(&spec.dir.path().join("child.0"));
    let started = start_time(child).expect("the task's child runs");
    std::fs::write(spec.dir.path().join("go"), "").expect("go");
    assert_eq!(finished(&exec, 1), [ElementState::Completed]);
    assert_gone(child, started);
}

#[test]
fn a_reaped_process_is_never_signalled() {
    let root = tempfile::tempdir().expect("temp dir");
    for (script, expected) in [("exit 7\n", Some(7)), ("exec sleep 300\n", None)] {
        let spec = job(root.path(), 1, 1, script);
        let (tx, rx) = channel();
        let running = process::spawn(&spec, 0, move |reaped| {
            let _ = tx.send(reaped.code);
        })
        .expect("spawn");
        if expected.is_none() {
            assert!(running.kill(), "a live process is killed");
        }
        assert_eq!(rx.recv_timeout(DEADLINE).expect("exit reported"), expected);
        assert!(!running.kill(), "after the reap, nothing is signalled");
        assert_eq!(running.rss_kib(), None);
    }
}

#[test]
fn max_concurrent_is_honoured() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    // Each element counts the elements running beside it (itself included).
    let script = "mkdir -p running\n\
        touch running/$SLURM_ARRAY_TASK_ID\n\
        ls running | wc -l >> seen\n\
        sleep 0.2\n\
        rm running/$SLURM_ARRAY_TASK_ID\n";
    let mut spec = job(root.path(), 1, 6, script);
    spec.resources.max_concurrent = Some(2);
    exec.submit(&spec).expect("submit");
    let mut most = 0;
    let states = eventually("job 1 to finish", || {
        let JobSnapshot { states, .. } = exec.snapshot(1)?;
        let running = states.iter().filter(|s| **s == ElementState::Running);
        most = most.max(running.count());
        states
            .iter()
            .all(ElementState::is_terminal)
            .then_some(states)
    });
    assert_eq!(states, vec![ElementState::Completed; 6]);
    assert!(most <= 2, "{most} elements ran at once");
    let seen = std::fs::read_to_string(spec.dir.path().join("seen")).expect("seen");
    let counts: Vec<usize> = seen
        .lines()
        .map(|l| l.trim().parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), 6);
    assert!(counts.iter().all(|&c| c <= 2), "{counts:?}");
}

#[test]
fn time_limit_marks_timeout() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    let mut spec = job(root.path(), 1, 1, &format!("{SPAWN_CHILD}wait\n"));
    spec.resources.time_limit = Some(1);
    exec.submit(&spec).expect("submit");
    let child = pid_in(&spec.dir.path().join("child.0"));
    let started = start_time(child).expect("the task's child runs");
    assert_eq!(finished(&exec, 1), [ElementState::Timeout]);
    assert_gone(child, started);
    let status = spec.dir.read_status(0).expect("a kill status is written");
    assert_eq!(status.state.as_deref(), Some("TIMEOUT"));
}

#[test]
fn failed_upstream_cancels_an_afterok_dependent() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    let up = job(
        root.path(),
        1,
        2,
        "[ $SLURM_ARRAY_TASK_ID = 1 ] && exit 3\nexit 0\n",
    );
    let down = depends(
        job(root.path(), 2, 2, "touch ran\n"),
        DependencyKind::Afterok,
        1,
    );
    exec.submit(&up).expect("submit");
    exec.submit(&down).expect("submit");
    assert_eq!(
        finished(&exec, 1),
        [ElementState::Completed, ElementState::Failed(3)]
    );
    for state in finished(&exec, 2) {
        match state {
            ElementState::Cancelled(why) => {
                assert!(why.starts_with("DependencyNeverSatisfied"), "{why}");
            }
            other => panic!("expected CANCELLED, got {other:?}"),
        }
    }
    assert!(!down.dir.path().join("ran").exists());
}

#[test]
fn aftercorr_runs_element_i_after_element_i() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    // Element 2 upstream waits for the test (at most a minute); element 1 fails.
    let up = job(
        root.path(),
        1,
        3,
        "if [ $SLURM_ARRAY_TASK_ID = 2 ]; then\n\
           n=0; while [ ! -e release ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done\n\
         fi\n\
         [ $SLURM_ARRAY_TASK_ID = 1 ] && exit 1\n\
         touch done.$SLURM_ARRAY_TASK_ID\n",
    );
    // Each element fails unless its upstream element finished first.
    let down = depends(
        job(
            root.path(),
            2,
            3,
            "test -e ../1/done.$SLURM_ARRAY_TASK_ID\n",
        ),
        DependencyKind::Aftercorr,
        1,
    );
    exec.submit(&up).expect("submit");
    exec.submit(&down).expect("submit");
    let early = eventually("elements 0 and 1 downstream to end", || {
        let s = exec.snapshot(2)?.states;
        (s[0].is_terminal() && s[1].is_terminal()).then_some(s)
    });
    assert_eq!(early[0], ElementState::Completed);
    assert!(
        matches!(&early[1], ElementState::Cancelled(why) if why.starts_with("DependencyNeverSatisfied")),
        "{:?}",
        early[1]
    );
    // Element 2 upstream still runs, so element 2 downstream still waits.
    let up_states = exec.snapshot(1).expect("job 1").states;
    assert_eq!(up_states[2], ElementState::Running);
    assert_eq!(early[2], ElementState::Pending);
    std::fs::write(up.dir.path().join("release"), "").expect("release");
    assert_eq!(
        finished(&exec, 1),
        [
            ElementState::Completed,
            ElementState::Failed(1),
            ElementState::Completed
        ]
    );
    assert_eq!(finished(&exec, 2)[2], ElementState::Completed);
}

#[test]
fn a_retry_after_a_restart_keeps_the_elements_that_ended() {
    let root = tempfile::tempdir().expect("tempdir");
    // Elements 0 and 1 ended with an earlier kernel (their statuses say
    // how); this executor has never seen the job and reruns element 2.
    let mut spec = job(root.path(), 9, 3, "exit 0\n");
    spec.dir.write_shape(3, 1).expect("shape");
    for (item, exit) in [(0, 0), (1, 3)] {
        spec.dir.write_status_if_missing(&sluice_runtime::Status {
            index: item,
            exit,
            start: 1.0,
            end: 2.0,
            host: String::new(),
            peak_rss_kib: 0,
            error: None,
            state: None,
        });
    }
    spec.run = vec![2];
    let mut exec = executor();
    exec.submit(&spec).expect("submits");
    assert_eq!(
        finished(&exec, 9),
        vec![
            ElementState::Completed,
            ElementState::Failed(3),
            ElementState::Completed
        ]
    );
}

#[test]
fn every_element_that_ran_has_an_accounting_record() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut exec = executor();
    // Busy in the shell (CPU time), then asleep (wall time only).
    let script = "i=0\nwhile [ $i -lt 20000 ]; do i=$((i+1)); done\nsleep 0.2\n";
    let spec = job(root.path(), 1, 2, script);
    exec.submit(&spec).expect("submit");
    assert_eq!(finished(&exec, 1), vec![ElementState::Completed; 2]);
    for e in 0..2 {
        let u = spec.dir.read_usage(e).expect("a usage record");
        assert_eq!(u.element, e);
        assert!(
            u.submit > 0.0 && u.submit <= u.start && u.start < u.end,
            "{u:?}"
        );
        assert!(u.run_s() >= 0.2, "it slept 0.2 s: {u:?}");
        assert!(u.cpu_s > 0.0 && u.cpu_s < u.run_s(), "{u:?}");
        assert!(u.max_rss_kib > 0, "{u:?}");
    }
}
