//! The critical path: the longest chain of run times through the
//! dependency graph, the time the workflow needs however many workers it
//! gets. Jobs linked by `aftercorr` are followed element by element
//! (element i waits only for element i upstream); any other dependency
//! waits for the whole upstream job, so such a job counts as one step of
//! its wall time (first start to last end). Built on petgraph; no IO.

use std::collections::{HashMap, HashSet};

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use super::timeline::JobTimeline;
use crate::domain::{DependencyKind, JobId};

/// The critical path (the `critical_path` of `--json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CriticalPath {
    /// The jobs along it, first to last.
    pub jobs: Vec<String>,
    /// Its length: the run times along it, seconds.
    pub seconds: f64,
    /// The steps along it: a job's element, or (None) the whole job.
    #[serde(skip)]
    pub steps: Vec<(JobId, Option<usize>)>,
}

impl CriticalPath {
    /// True if element `element` of job `job` is on the path (every
    /// element is, for a job the path takes whole).
    pub fn holds(&self, job: JobId, element: usize) -> bool {
        self.steps
            .iter()
            .any(|&(j, e)| j == job && e.is_none_or(|e| e == element))
    }
}

/// A node of the graph: a job's start or end (no time), the whole job, or
/// one of its elements.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Gate,
    Job(JobId),
    Element(JobId, usize),
}

/// The critical path through `jobs` (dependencies on jobs not in `jobs`
/// are left out).
pub fn critical_path(jobs: &[JobTimeline]) -> CriticalPath {
    let ids: HashSet<JobId> = jobs.iter().map(|j| j.id).collect();
    // Jobs on either end of an aftercorr edge are followed element-wise.
    let mut element_wise: HashSet<JobId> = HashSet::new();
    for j in jobs {
        for d in &j.deps {
            if d.kind == DependencyKind::Aftercorr && ids.contains(&d.job) {
                element_wise.extend([j.id, d.job]);
            }
        }
    }
    let mut g: DiGraph<(Step, f64), ()> = DiGraph::new();
    let mut gates: HashMap<JobId, (NodeIndex, NodeIndex)> = HashMap::new();
    let mut elements: HashMap<(JobId, usize), NodeIndex> = HashMap::new();
    for j in jobs {
        let (start, end) = (g.add_node((Step::Gate, 0.0)), g.add_node((Step::Gate, 0.0)));
        gates.insert(j.id, (start, end));
        if element_wise.contains(&j.id) {
            for (i, e) in j.elements.iter().enumerate() {
                let n = g.add_node((Step::Element(j.id, i), e.usage.run_s()));
                elements.insert((j.id, i), n);
                g.add_edge(start, n, ());
                g.add_edge(n, end, ());
            }
        } else {
            let wall = j.span().map(|(a, b)| b - a).unwrap_or(0.0);
            let n = g.add_node((Step::Job(j.id), wall));
            g.add_edge(start, n, ());
            g.add_edge(n, end, ());
        }
    }
    for j in jobs {
        for d in j.deps.iter().filter(|d| ids.contains(&d.job)) {
            if d.kind == DependencyKind::Aftercorr {
                for i in 0..j.elements.len() {
                    if let (Some(&up), Some(&down)) =
                        (elements.get(&(d.job, i)), elements.get(&(j.id, i)))
                    {
                        g.add_edge(up, down, ());
                    }
                }
            } else if let (Some(&(_, up_end)), Some(&(down_start, _))) =
                (gates.get(&d.job), gates.get(&j.id))
            {
                g.add_edge(up_end, down_start, ());
            }
        }
    }
    longest(&g, jobs)
}

/// The heaviest path of a DAG whose nodes carry the weights.
fn longest(g: &DiGraph<(Step, f64), ()>, jobs: &[JobTimeline]) -> CriticalPath {
    let Ok(order) = toposort(g, None) else {
        return CriticalPath::default();
    };
    let mut best: HashMap<NodeIndex, (f64, Option<NodeIndex>)> = HashMap::new();
    for &n in &order {
        let from = g
            .neighbors_directed(n, petgraph::Direction::Incoming)
            .filter_map(|p| best.get(&p).map(|&(d, _)| (d, p)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let (before, prev) = match from {
            Some((d, p)) => (d, Some(p)),
            None => (0.0, None),
        };
        best.insert(n, (before + g[n].1, prev));
    }
    let Some((&last, &(seconds, _))) = best.iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0)) else {
        return CriticalPath::default();
    };
    let mut steps = Vec::new();
    let mut at = Some(last);
    while let Some(n) = at {
        match g[n].0 {
            Step::Gate => {}
            Step::Job(j) => steps.push((j, None)),
            Step::Element(j, i) => steps.push((j, Some(i))),
        }
        at = best.get(&n).and_then(|&(_, p)| p);
    }
    steps.reverse();
    let name = |id: JobId| jobs.iter().find(|j| j.id == id).map(|j| j.name.clone());
    let mut names: Vec<String> = Vec::new();
    for &(j, _) in &steps {
        if let Some(n) = name(j)
            && names.last() != Some(&n)
        {
            names.push(n);
        }
    }
    CriticalPath {
        jobs: names,
        seconds,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Dependency;
    use crate::report::metrics::tests::{el, job};

    fn dep(on: u64, name: &str, kind: DependencyKind) -> Dependency {
        Dependency {
            job: on,
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn the_longer_branch_of_a_diamond() {
        // A (1 s) and B (3 s) in parallel, then C (2 s) after both.
        let a = job(1, "A", vec![el(0, 0.0, 0.0, 1.0, 0.0)]);
        let b = job(2, "B", vec![el(0, 0.0, 0.0, 3.0, 0.0)]);
        let mut c = job(3, "C", vec![el(0, 0.0, 3.0, 5.0, 0.0)]);
        c.deps = vec![
            dep(1, "A", DependencyKind::Afterok),
            dep(2, "B", DependencyKind::Afterok),
        ];
        let p = critical_path(&[a, b, c]);
        assert_eq!(p.jobs, ["B", "C"]);
        assert_eq!(p.seconds, 5.0);
        assert!(p.holds(2, 0) && !p.holds(1, 0));
    }

    #[test]
    fn a_whole_job_counts_its_wall_time() {
        // Two elements one after the other (one worker): 0–2 and 2–3.
        let a = job(
            1,
            "A",
            vec![el(0, 0.0, 0.0, 2.0, 0.0), el(1, 0.0, 2.0, 3.0, 0.0)],
        );
        let mut b = job(2, "B", vec![el(0, 0.0, 3.0, 4.0, 0.0)]);
        b.deps = vec![dep(1, "A", DependencyKind::Afterany)];
        let p = critical_path(&[a, b]);
        assert_eq!(
            (p.jobs.clone(), p.seconds),
            (vec!["A".to_string(), "B".into()], 4.0)
        );
        assert!(p.holds(1, 0) && p.holds(1, 1), "the whole of A is on it");
    }

    #[test]
    fn aftercorr_is_followed_element_by_element() {
        // up: 1 s and 5 s; down (aftercorr): 4 s and 1 s. Whole jobs would
        // give 5 + 4 = 9 s; element by element it is max(1+4, 5+1) = 6 s.
        let up = job(
            1,
            "up",
            vec![el(0, 0.0, 0.0, 1.0, 0.0), el(1, 0.0, 0.0, 5.0, 0.0)],
        );
        let mut down = job(
            2,
            "down",
            vec![el(0, 0.0, 1.0, 5.0, 0.0), el(1, 0.0, 5.0, 6.0, 0.0)],
        );
        down.deps = vec![dep(1, "up", DependencyKind::Aftercorr)];
        let p = critical_path(&[up, down]);
        assert_eq!(p.seconds, 6.0);
        assert_eq!(p.steps, vec![(1, Some(1)), (2, Some(1))]);
        assert_eq!(p.jobs, ["up", "down"]);
    }

    #[test]
    fn a_dependency_outside_the_report_is_left_out() {
        let mut b = job(2, "B", vec![el(0, 0.0, 0.0, 2.0, 0.0)]);
        b.deps = vec![dep(9, "gone", DependencyKind::Afterok)];
        let p = critical_path(&[b]);
        assert_eq!((p.jobs.clone(), p.seconds), (vec!["B".to_string()], 2.0));
    }
}
