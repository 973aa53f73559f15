//! The watcher's IO layer ([`Watcher::poll`]) on fake runners and a manual
//! clock: which calls a poll makes, and that it applies what reconcile
//! decided.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::backoff::Polled;
use super::super::clock::{Clock, ManualClock};
use super::super::queue::parse_sacct;
use super::super::reconcile::{LOST_AFTER, StatusFiles, lost, reconcile};
use super::super::tracked::{Tracked, Watched};
use super::super::watcher::Watcher;
use super::super::{SharedRunner, Stats};
use super::{fixture, job, place};
use crate::cluster::CommandRunner;
use crate::cluster::fake::{Call, FakeRunner, failed, ok};
use crate::domain::{ElementState, JobId};
use crate::jobdir::JobDir;

struct Rig {
    watcher: Watcher,
    commands: FakeRunner,
    transfers: FakeRunner,
    clock: Arc<ManualClock>,
}

fn shared(r: &FakeRunner) -> SharedRunner {
    let boxed: Box<dyn CommandRunner> = Box::new(r.clone());
    Arc::new(Mutex::new(boxed))
}

fn rig(transfers: FakeRunner, watched: Vec<(JobId, Tracked)>) -> Rig {
    let commands = FakeRunner::local();
    let clock = Arc::new(ManualClock::new());
    let mut w = Watched::default();
    w.jobs.extend(watched);
    let watcher = Watcher {
        commands: shared(&commands),
        transfers: shared(&transfers),
        watched: Arc::new(Mutex::new(w)),
        stats: Arc::new(Stats::default()),
        clock: clock.clone(),
    };
    Rig {
        watcher,
        commands,
        transfers,
        clock,
    }
}

impl Rig {
    fn states(&self, id: JobId) -> Vec<ElementState> {
        let w = self.watcher.watched.lock().expect("watched");
        w.jobs
            .get(&id)
            .map(|t| t.states.clone())
            .unwrap_or_default()
    }

    fn poll(&self) -> Polled {
        self.watcher.poll().expect("poll")
    }
}

#[test]
fn one_squeue_and_one_sacct_for_every_job() {
    let r = rig(
        FakeRunner::local(),
        vec![
            (1, job("4242", 4)),
            (2, job("5100", 8)),
            (3, job("4243", 1)),
        ],
    );
    r.commands
        .always("squeue", ok(&fixture("squeue-draining.txt")));
    r.commands.always("sacct", ok(&fixture("sacct-limits.txt")));
    assert_eq!(r.poll(), Polled::Changed);
    let squeues = r.commands.runs_of("squeue");
    let saccts = r.commands.runs_of("sacct");
    assert_eq!(squeues.len(), 1);
    assert_eq!(
        squeues[0].last().map(String::as_str),
        Some("4242,4243,5100")
    );
    assert_eq!(saccts.len(), 1, "one sacct for every gone element");
    assert_eq!(saccts[0].last().map(String::as_str), Some("4242,4243,5100"));
    assert_eq!(r.states(1)[2], ElementState::Running);
    assert_eq!(r.states(2)[1], ElementState::OutOfMemory);
    assert!(
        r.transfers.fetches().is_empty(),
        "nothing to fetch on the login node"
    );
    let stats = &r.watcher.stats;
    assert_eq!(stats.squeue.load(Ordering::Relaxed), 1);
    assert_eq!(stats.sacct.load(Ordering::Relaxed), 1);
}

#[test]
fn lost_after_sixty_seconds_on_the_injected_clock() {
    let r = rig(FakeRunner::local(), vec![(1, job("4242", 1))]);
    // Gone from the queue, no status, no record: wait...
    assert_eq!(r.poll(), Polled::Unchanged);
    r.clock.advance(LOST_AFTER);
    assert_eq!(r.poll(), Polled::Unchanged);
    assert_eq!(r.states(1), vec![ElementState::Pending]);
    // ...until it has been gone for longer than LOST_AFTER.
    r.clock.advance(Duration::from_secs(1));
    assert_eq!(r.poll(), Polled::Changed);
    assert_eq!(r.states(1), vec![lost()]);
    assert_eq!(r.poll(), Polled::Idle, "nothing active: the watcher sleeps");
    assert_eq!(r.commands.runs_of("sacct").len(), 3);
}

#[test]
fn status_files_are_fetched_then_read_and_sacct_is_not_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = JobDir::new(tmp.path());
    dir.create().expect("create");
    dir.write_shape(2, 1).expect("shape");
    std::fs::write(dir.status(0), r#"{"index":0,"exit":0}"#).expect("status");
    std::fs::write(dir.status(1), r#"{"index":1,"exit":4}"#).expect("status");
    let mut t = job("4242", 2);
    t.place = place(tmp.path(), 2);
    let r = rig(FakeRunner::remote(), vec![(1, t)]);
    r.transfers.set_fetch_newest(Some(1_000));
    assert_eq!(r.poll(), Polled::Changed);
    assert_eq!(
        r.states(1),
        vec![ElementState::Completed, ElementState::Failed(4)]
    );
    assert!(r.commands.runs_of("sacct").is_empty());
    assert_eq!(r.transfers.fetches(), vec![None]);
    assert!(
        r.commands
            .calls()
            .iter()
            .all(|c| !matches!(c, Call::Fetch(..))),
        "no transfer on the command runner"
    );
}

#[test]
fn later_fetches_ask_only_for_newer_files_with_a_margin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = JobDir::new(tmp.path());
    dir.create().expect("create");
    let mut t = job("4242", 1);
    t.place = place(tmp.path(), 1);
    let r = rig(FakeRunner::remote(), vec![(1, t)]);
    r.transfers.set_fetch_newest(Some(1_000));
    r.poll();
    r.transfers.set_fetch_newest(Some(1_010));
    r.poll();
    r.poll();
    assert_eq!(r.transfers.fetches(), vec![None, Some(998), Some(1_008)]);
    assert_eq!(r.watcher.stats.fetches.load(Ordering::Relaxed), 3);
}

#[test]
fn a_forgotten_id_is_an_empty_queue_and_other_failures_are_trouble() {
    let r = rig(FakeRunner::local(), vec![(1, job("4242", 1))]);
    r.commands
        .answer("squeue", failed(1, &fixture("squeue-forgotten.stderr")));
    r.commands.answer(
        "sacct",
        ok("4242_0|COMPLETED|0:0|None|2026-11-29T12:00:01\n"),
    );
    assert_eq!(r.poll(), Polled::Changed);
    assert_eq!(r.states(1), vec![ElementState::Completed]);

    let r = rig(FakeRunner::local(), vec![(1, job("4242", 1))]);
    r.commands.answer(
        "squeue",
        failed(
            1,
            "slurm_load_jobs error: Unable to contact slurm controller",
        ),
    );
    let e = r.watcher.poll().expect_err("squeue failed");
    assert!(e.to_string().contains("Unable to contact"), "{e}");
    assert_eq!(r.states(1), vec![ElementState::Pending]);
}

#[test]
fn updates_to_a_job_changed_meanwhile_wait_for_the_next_poll() {
    let r = rig(FakeRunner::local(), vec![(1, job("4242", 1))]);
    r.commands
        .always("sacct", ok(&fixture("sacct-first-two.txt")));
    // What a poll copied and concluded...
    let seen = r.watcher.watched.lock().expect("watched").active();
    let acct = parse_sacct(&fixture("sacct-first-two.txt"));
    let updates = reconcile(&seen, &[], &StatusFiles::new(), Some(&acct), r.clock.now());
    assert!(!updates.changes.is_empty());
    // ...while the executor changed the job (a cancel, a retry).
    r.watcher.watched.lock().expect("watched").touch(1);
    let again_soon = r.watcher.apply(&seen, updates).expect("apply");
    assert!(
        again_soon,
        "counted as a change, so the next poll comes soon"
    );
    assert_eq!(r.states(1), vec![ElementState::Pending], "nothing applied");
    assert_eq!(r.poll(), Polled::Changed);
    assert_eq!(r.states(1), vec![ElementState::Completed]);
}
