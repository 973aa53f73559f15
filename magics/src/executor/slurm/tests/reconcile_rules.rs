//! The watcher's rules ([`reconcile`]) on golden squeue and sacct outputs:
//! no IO, time passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::super::queue::{self, parse_sacct, parse_squeue};
use super::super::reconcile::{
    Change, LOST_AFTER, StatusFiles, Updates, accounted_spans, active_arrays, gone_elements, lost,
    reconcile, sacct_arrays,
};
use super::{fixture, job, jobs};
use crate::domain::{ElementState, JobId, SlurmJobId};
use crate::executor::Submitted;

fn finals(u: &Updates) -> BTreeMap<(JobId, usize), ElementState> {
    u.changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Final(s) => Some(((c.job, c.element), s.clone())),
            _ => None,
        })
        .collect()
}

fn gone(u: &Updates) -> Vec<(JobId, usize)> {
    u.changes
        .iter()
        .filter(|c| matches!(c.change, Change::Gone { .. }))
        .map(|c| (c.job, c.element))
        .collect()
}

fn ids(list: &[&str]) -> Vec<SlurmJobId> {
    list.iter().map(|s| SlurmJobId::from(*s)).collect()
}

#[test]
fn live_states_and_pending_reasons_come_from_one_squeue() {
    let mut downstream = job("4243", 1);
    downstream.has_deps = true;
    let jobs = jobs([(1, job("4242", 4)), (2, downstream)]);
    assert_eq!(active_arrays(&jobs), ids(&["4242", "4243"]));
    let rows = parse_squeue(&fixture("squeue-throttled.txt"));
    assert!(gone_elements(&jobs, &rows).is_empty());
    let u = reconcile(&jobs, &rows, &StatusFiles::new(), None, Instant::now());
    let live: Vec<(JobId, usize, ElementState, String)> = u
        .changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Live { state, reason } => {
                Some((c.job, c.element, state.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect();
    let want = |j, e, s: ElementState, r: &str| (j, e, s, r.to_string());
    assert_eq!(
        live,
        vec![
            want(1, 0, ElementState::Running, "None"),
            want(1, 1, ElementState::Running, "None"),
            want(1, 2, ElementState::Pending, "JobArrayTaskLimit"),
            want(1, 3, ElementState::Pending, "JobArrayTaskLimit"),
            want(2, 0, ElementState::Pending, "Dependency"),
        ]
    );
    assert!(u.changed, "two elements started");
    // The same answer again changes nothing.
    let mut seen = jobs.clone();
    if let Some(t) = seen.get_mut(&1) {
        t.states[0] = ElementState::Running;
        t.states[1] = ElementState::Running;
    }
    assert!(!reconcile(&seen, &rows, &StatusFiles::new(), None, Instant::now()).changed);
}

#[test]
fn sacct_lag_means_ask_again_then_the_record_arrives() {
    let t0 = Instant::now();
    let mut jobs = jobs([(1, job("4242", 4))]);
    let rows = parse_squeue(&fixture("squeue-draining.txt"));
    assert_eq!(gone_elements(&jobs, &rows).get(&1), Some(&vec![0, 1]));
    // First poll: 0 and 1 left the queue; accounting has nothing yet.
    let u = reconcile(&jobs, &rows, &StatusFiles::new(), Some(&[]), t0);
    assert_eq!(gone(&u), vec![(1, 0), (1, 1)]);
    assert!(finals(&u).is_empty());
    if let Some(t) = jobs.get_mut(&1) {
        t.gone.insert(0, t0);
        t.gone.insert(1, t0);
    }
    // Next poll, still no record: nothing changes (already noted as gone).
    let later = t0 + Duration::from_secs(2);
    let u = reconcile(&jobs, &rows, &StatusFiles::new(), Some(&[]), later);
    assert!(gone(&u).is_empty() && finals(&u).is_empty());
    // Then the records arrive.
    let acct = parse_sacct(&fixture("sacct-first-two.txt"));
    let u = reconcile(&jobs, &rows, &StatusFiles::new(), Some(&acct), later);
    assert_eq!(
        finals(&u),
        BTreeMap::from([
            ((1, 0), ElementState::Completed),
            ((1, 1), ElementState::Failed(1))
        ])
    );
    assert!(u.changed);
}

#[test]
fn an_element_with_no_trace_for_lost_after_is_cancelled() {
    let t0 = Instant::now();
    let mut jobs = jobs([(1, job("4242", 1))]);
    if let Some(t) = jobs.get_mut(&1) {
        t.gone.insert(0, t0);
    }
    let at = |d: Duration| reconcile(&jobs, &[], &StatusFiles::new(), Some(&[]), t0 + d);
    assert!(finals(&at(LOST_AFTER)).is_empty(), "not before LOST_AFTER");
    let u = at(LOST_AFTER + Duration::from_secs(1));
    assert_eq!(finals(&u).get(&(1, 0)), Some(&lost()));
    assert!(
        matches!(lost(), ElementState::Cancelled(r) if r.contains("no record") && r.contains("%slurm retry"))
    );
    // Without an answer from sacct (not asked, or unreachable) nobody is
    // declared lost.
    let u = reconcile(&jobs, &[], &StatusFiles::new(), None, t0 + 2 * LOST_AFTER);
    assert!(finals(&u).is_empty());
}

#[test]
fn status_files_win_over_sacct() {
    let jobs = jobs([(1, job("4242", 2))]);
    let status = StatusFiles::from([((1, 1), ElementState::Completed)]);
    let gone_now = gone_elements(&jobs, &[]);
    assert_eq!(sacct_arrays(&jobs, &gone_now, &status), ids(&["4242"]));
    let acct = parse_sacct(&fixture("sacct-first-two.txt"));
    let u = reconcile(&jobs, &[], &status, Some(&acct), Instant::now());
    assert_eq!(
        finals(&u),
        BTreeMap::from([
            ((1, 0), ElementState::Completed),
            ((1, 1), ElementState::Completed)
        ]),
        "sacct says 4242_1 FAILED; its status file says it completed"
    );
    // Every gone element has a status: no sacct at all.
    let all = StatusFiles::from([
        ((1, 0), ElementState::Failed(2)),
        ((1, 1), ElementState::Completed),
    ]);
    assert!(sacct_arrays(&jobs, &gone_now, &all).is_empty());
    let u = reconcile(&jobs, &[], &all, None, Instant::now());
    assert_eq!(finals(&u).get(&(1, 0)), Some(&ElementState::Failed(2)));
}

#[test]
fn limits_map_to_their_states() {
    let jobs = jobs([(1, job("5100", 8))]);
    let acct = parse_sacct(&fixture("sacct-limits.txt"));
    let u = reconcile(&jobs, &[], &StatusFiles::new(), Some(&acct), Instant::now());
    let states: Vec<ElementState> = finals(&u).into_values().collect();
    assert_eq!(
        states,
        vec![
            ElementState::Timeout,
            ElementState::OutOfMemory,
            ElementState::NodeFail,
            ElementState::Preempted,
            ElementState::Failed(3),
            ElementState::Completed,
            ElementState::Timeout,
            ElementState::NodeFail,
        ]
    );
}

#[test]
fn a_never_started_array_record_covers_each_element() {
    let mut t = job("4243", 3);
    t.has_deps = true;
    let jobs = jobs([(2, t)]);
    let acct = parse_sacct(&fixture("sacct-never-started.txt"));
    assert_eq!(acct.len(), 3, "4243_[0-2] is three elements");
    let u = reconcile(&jobs, &[], &StatusFiles::new(), Some(&acct), Instant::now());
    let f = finals(&u);
    assert_eq!(f.len(), 3);
    for e in 0..3 {
        assert_eq!(f.get(&(2, e)), Some(&queue::dependency_never_satisfied()));
    }
}

#[test]
fn dependency_reasons_make_dependency_never_satisfied() {
    let acct = parse_sacct(&fixture("sacct-scancel.txt"));
    // Submitted with dependencies: never-started CANCELLED elements were
    // cancelled for them (--kill-on-invalid-dep); one that ran was not.
    let mut with_deps = job("5200", 3);
    with_deps.has_deps = true;
    let u = reconcile(
        &jobs([(1, with_deps)]),
        &[],
        &StatusFiles::new(),
        Some(&acct),
        Instant::now(),
    );
    let f = finals(&u);
    assert_eq!(f.get(&(1, 0)), Some(&queue::scancelled()));
    assert_eq!(f.get(&(1, 1)), Some(&queue::dependency_never_satisfied()));
    // No dependency known, but the queue last said it waited for one.
    let mut waited = job("5200", 3);
    waited.reasons[2] = "Dependency".into();
    let u = reconcile(
        &jobs([(1, waited)]),
        &[],
        &StatusFiles::new(),
        Some(&acct),
        Instant::now(),
    );
    let f = finals(&u);
    assert_eq!(f.get(&(1, 1)), Some(&queue::scancelled()));
    assert_eq!(f.get(&(1, 2)), Some(&queue::dependency_never_satisfied()));
}

#[test]
fn after_scancel_everything_gone_is_cancelled() {
    let mut t = job("5200", 4);
    t.cancelled = true;
    t.has_deps = true;
    t.reasons = vec!["Dependency".into(); 4];
    let jobs = jobs([(1, t)]);
    // 5200_3 has no record at all: cancelled at once, not lost later.
    let acct = parse_sacct(&fixture("sacct-scancel.txt"));
    let u = reconcile(&jobs, &[], &StatusFiles::new(), Some(&acct), Instant::now());
    let f = finals(&u);
    assert_eq!(f.len(), 4);
    assert!(f.values().all(|s| *s == queue::scancelled()), "{f:?}");
}

#[test]
fn squeue_never_decides_how_an_element_ended() {
    let jobs = jobs([(1, job("4242", 1))]);
    let rows = parse_squeue("4242_0|COMPLETED|None\n");
    assert_eq!(gone_elements(&jobs, &rows).get(&1), Some(&vec![0]));
    let u = reconcile(&jobs, &rows, &StatusFiles::new(), Some(&[]), Instant::now());
    assert!(finals(&u).is_empty(), "waits for a status file or sacct");
}

#[test]
fn a_retry_is_looked_up_in_its_newest_array() {
    let mut t = job("4242", 3);
    t.states = vec![
        ElementState::Completed,
        ElementState::Pending,
        ElementState::Completed,
    ];
    t.slices.push(Submitted {
        array_id: SlurmJobId::from("4300"),
        offset: 0,
    });
    let jobs = jobs([(1, t)]);
    assert_eq!(active_arrays(&jobs), ids(&["4242", "4300"]));
    // The first array's record of element 1 (FAILED) is history.
    let acct = parse_sacct(
        "4242_1|FAILED|1:0|None|2026-11-29T12:00:01\n4300_1|COMPLETED|0:0|None|2026-11-29T12:05:01\n",
    );
    let gone_now = gone_elements(&jobs, &[]);
    assert_eq!(
        sacct_arrays(&jobs, &gone_now, &StatusFiles::new()),
        ids(&["4300"])
    );
    let u = reconcile(&jobs, &[], &StatusFiles::new(), Some(&acct), Instant::now());
    assert_eq!(finals(&u).get(&(1, 1)), Some(&ElementState::Completed));
}

#[test]
fn elements_killed_without_a_status_keep_the_span_sacct_gave_them() {
    let jobs = jobs([(1, job("5100", 8))]);
    let acct = parse_sacct(&fixture("sacct-limits.txt"));
    let mut status = StatusFiles::new();
    status.insert((1, 4), ElementState::Failed(3));
    let u = reconcile(&jobs, &[], &status, Some(&acct), Instant::now());
    let spans = accounted_spans(&jobs, &status, Some(&acct), &u);
    // 5100_0 ran 61 s to its time limit; 5100_4 has a status file (its
    // items' own clocks win); 5100_7 never started.
    assert_eq!(spans[0], (1, 0, (1795953601, 1795953662)));
    assert!(spans.iter().all(|&(_, e, _)| e != 4 && e != 7));
    assert_eq!(spans.len(), 6);
    assert!(accounted_spans(&jobs, &status, None, &u).is_empty());
}
