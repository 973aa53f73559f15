//! The workflow graph behind `%slurm graph`: jobs as nodes (name, kind,
//! element counts, state), dependencies as edges labelled with their kind,
//! built with petgraph and rendered as SVG (layered, left to right), as text
//! and as Graphviz DOT (through `petgraph::dot`).

use std::collections::HashMap;
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::dot::{Config, Dot, RankDir};
use petgraph::graph::{DiGraph, EdgeReference, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::domain::{Counts, DependencyKind, JobKind, JobState};
use crate::ledger::JobRecord;
use crate::render::esc;
use crate::theme::{INK, PAPER, svg_paper};

/// One job in the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct JobNode {
    /// The job's NAME.
    pub name: String,
    /// map, run or sweep.
    pub kind: JobKind,
    /// Element counts per state.
    pub counts: Counts,
}

impl JobNode {
    /// The job's overall state, as the graph colours it.
    pub fn state(&self) -> JobState {
        self.counts.job_state()
    }

    fn total(&self) -> usize {
        let c = &self.counts;
        c.pending + c.running + c.completed + c.failed + c.cancelled
    }
}

/// The workflow: an edge `a -> b` labelled `afterok` means b waits for a.
pub struct Workflow {
    graph: DiGraph<JobNode, DependencyKind>,
}

impl Workflow {
    /// Builds the graph from ledger jobs (oldest first). A NAME submitted
    /// again replaces its earlier node; a dependency points at the newest
    /// job of that NAME submitted before the dependent.
    pub fn build(jobs: &[(JobRecord, Counts)]) -> Workflow {
        let mut graph = DiGraph::new();
        let mut by_name: HashMap<String, NodeIndex> = HashMap::new();
        let mut edges: Vec<(NodeIndex, DependencyKind, String)> = Vec::new();
        for (job, counts) in jobs {
            let node = JobNode {
                name: job.name.clone(),
                kind: job.kind,
                counts: counts.clone(),
            };
            let idx = match by_name.get(&job.name) {
                Some(&i) => {
                    graph[i] = node;
                    edges.retain(|(to, _, _)| *to != i);
                    i
                }
                None => graph.add_node(node),
            };
            by_name.insert(job.name.clone(), idx);
            for dep in &job.deps {
                edges.push((idx, dep.kind, dep.name.clone()));
            }
        }
        for (to, kind, name) in edges {
            if let Some(&from) = by_name.get(&name) {
                graph.add_edge(from, to, kind);
            }
        }
        Workflow { graph }
    }

    /// Jobs in the graph.
    pub fn nodes(&self) -> impl Iterator<Item = &JobNode> {
        self.graph.node_weights()
    }

    /// Edges as (from, to, kind).
    pub fn edges(&self) -> Vec<(&str, &str, DependencyKind)> {
        self.graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].name.as_str(),
                    self.graph[e.target()].name.as_str(),
                    *e.weight(),
                )
            })
            .collect()
    }

    /// Layer of each node: the longest dependency path reaching it.
    fn layers(&self) -> Vec<usize> {
        let mut layer = vec![0usize; self.graph.node_count()];
        match petgraph::algo::toposort(&self.graph, None) {
            Ok(order) => {
                for n in order {
                    for pred in self.graph.neighbors_directed(n, Direction::Incoming) {
                        layer[n.index()] = layer[n.index()].max(layer[pred.index()] + 1);
                    }
                }
            }
            // A cycle cannot come from sluice's own dependencies; lay it out flat.
            Err(_) => layer.iter_mut().enumerate().for_each(|(i, l)| *l = i),
        }
        layer
    }

    /// Graphviz DOT text, written by `petgraph::dot`: nodes are numbered
    /// and labelled with the job's name, kind, state and progress (filled
    /// with its state's colour); edges are labelled with the dependency
    /// kind, element-wise (aftercorr) ones dashed. Labels are escaped by
    /// petgraph, which turns each line break into `\l` (left-justified).
    pub fn dot(&self) -> String {
        let labels = self.graph.map(|_, n| node_label(n), |_, k| edge_label(*k));
        let node_attributes = |_, (n, _): (NodeIndex, &String)| {
            format!(
                "shape = box, style = \"rounded,filled\", fillcolor = \"{}\"",
                colour(self.graph[n].state())
            )
        };
        let edge_attributes = |_, e: EdgeReference<'_, String>| {
            if self.graph[e.id()].is_element_wise() {
                "style = dashed".to_string()
            } else {
                String::new()
            }
        };
        Dot::with_attr_getters(
            &labels,
            &[Config::RankDir(RankDir::LR)],
            &edge_attributes,
            &node_attributes,
        )
        .to_string()
    }

    /// A text form: one line per job with what it waits for.
    pub fn text(&self) -> String {
        if self.graph.node_count() == 0 {
            return "no jobs yet".into();
        }
        let layers = self.layers();
        let mut order: Vec<NodeIndex> = self.graph.node_indices().collect();
        order.sort_by_key(|n| (layers[n.index()], n.index()));
        let mut out = String::new();
        for n in order {
            let j = &self.graph[n];
            let _ = write!(
                out,
                "{} [{}] {} {}/{} done",
                j.name,
                j.kind,
                j.state(),
                j.counts.completed,
                j.total()
            );
            let deps: Vec<String> = self
                .graph
                .edges_directed(n, Direction::Incoming)
                .map(|e| {
                    format!(
                        "{} {}",
                        edge_label(*e.weight()),
                        self.graph[e.source()].name
                    )
                })
                .collect();
            if !deps.is_empty() {
                let _ = write!(out, "  <- {}", deps.join(", "));
            }
            out.push('\n');
        }
        out.trim_end().to_string()
    }

    /// An SVG picture: layers left to right, nodes coloured by state.
    pub fn svg(&self) -> String {
        const W: usize = 170;
        const H: usize = 54;
        const GAP_Y: usize = 28;
        // The gap between layers fits the longest edge label (about 6 px
        // per character at 10 px) with room for the arrow at both ends.
        let longest = self
            .graph
            .edge_references()
            .map(|e| edge_label(*e.weight()).chars().count())
            .max()
            .unwrap_or(0);
        let gap_x = (longest * 6 + 40).max(90);
        let layers = self.layers();
        let mut rows: HashMap<usize, usize> = HashMap::new();
        let mut pos = vec![(0usize, 0usize); self.graph.node_count()];
        for n in self.graph.node_indices() {
            let l = layers[n.index()];
            let r = rows.entry(l).or_insert(0);
            pos[n.index()] = (20 + l * (W + gap_x), 20 + *r * (H + GAP_Y));
            *r += 1;
        }
        let width = 40 + (layers.iter().max().map_or(0, |m| m + 1)) * (W + gap_x) - gap_x;
        let height = 40 + rows.values().max().copied().unwrap_or(1) * (H + GAP_Y) - GAP_Y;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>{}",
            svg_paper(width, height)
        );
        for e in self.graph.edge_references() {
            let (fx, fy) = pos[e.source().index()];
            let (tx, ty) = pos[e.target().index()];
            let (x1, y1, x2, y2) = (fx + W, fy + H / 2, tx, ty + H / 2);
            let kind = *e.weight();
            let dash = if kind.is_element_wise() {
                " stroke-dasharray=\"5,3\""
            } else {
                ""
            };
            let _ = write!(
                s,
                "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\"><title>{} -> {}</title>\
<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#555\" stroke-width=\"1.5\"{dash} marker-end=\"url(#arrow)\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\" font-size=\"10\" stroke=\"{PAPER}\" stroke-width=\"3\" paint-order=\"stroke\">{}</text></g>",
                esc(&self.graph[e.source()].name),
                esc(&self.graph[e.target()].name),
                kind,
                esc(&self.graph[e.source()].name),
                esc(&self.graph[e.target()].name),
                (x1 + x2) / 2,
                (y1 + y2) / 2 - 4,
                esc(&edge_label(kind))
            );
        }
        for n in self.graph.node_indices() {
            let j = &self.graph[n];
            let (x, y) = pos[n.index()];
            let _ = write!(
                s,
                "<g class=\"node\" data-name=\"{full}\" data-kind=\"{kind}\" data-state=\"{state}\"><title>{full}</title>\
<rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"8\" fill=\"{fill}\" stroke=\"#333\"/>\
<text x=\"{tx}\" y=\"{ty1}\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"#111\">{name}</text>\
<text x=\"{tx}\" y=\"{ty2}\" text-anchor=\"middle\" fill=\"#111\">{kind} · {done}/{total} · {state}</text></g>",
                name = esc(&fit(&j.name, 24)),
                full = esc(&j.name),
                kind = j.kind,
                state = j.state(),
                fill = colour(j.state()),
                tx = x + W / 2,
                ty1 = y + 22,
                ty2 = y + 40,
                done = j.counts.completed,
                total = j.total(),
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// `s` cut to `n` characters from the middle (`…` marks the cut), so it
/// fits a node and names that differ at their end still read apart.
fn fit(s: &str, n: usize) -> String {
    crate::label_fit::fit(s, n)
}

/// A node's DOT label: name, then kind, state and progress (each line ends
/// with a break, so Graphviz left-justifies both).
fn node_label(n: &JobNode) -> String {
    format!(
        "{}\n{} · {} · {}/{} done\n",
        n.name,
        n.kind,
        n.state(),
        n.counts.completed,
        n.total()
    )
}

fn edge_label(kind: DependencyKind) -> String {
    if kind.is_element_wise() {
        format!("{kind} (element-wise)")
    } else {
        kind.to_string()
    }
}

fn colour(state: JobState) -> &'static str {
    match state {
        JobState::Completed => "#c8e6c9",
        JobState::Running => "#bbdefb",
        JobState::Pending => "#eeeeee",
        JobState::Failed => "#ffcdd2",
        JobState::Cancelled => "#ffe0b2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, kind: JobKind, deps: &[(DependencyKind, &str)]) -> (JobRecord, Counts) {
        let record = JobRecord {
            id: 1,
            name: name.into(),
            kind,
            backend: crate::domain::Backend::Local,
            items: 3,
            result_type: "i64".into(),
            dir: crate::jobdir::JobDir::new("/nonexistent"),
            binary: "/nonexistent".into(),
            state: JobState::Completed,
            created: 0.0,
            deps: deps
                .iter()
                .map(|(kind, name)| crate::domain::Dependency {
                    job: 0,
                    name: name.to_string(),
                    kind: *kind,
                })
                .collect(),
            notebook: String::new(),
        };
        let counts = Counts {
            completed: 3,
            ..Counts::default()
        };
        (record, counts)
    }

    #[test]
    fn pipeline_layers_and_edge_kinds() {
        let jobs = vec![
            job("a", JobKind::Map, &[]),
            job("b", JobKind::Map, &[(DependencyKind::Aftercorr, "a")]),
            job("c", JobKind::Run, &[(DependencyKind::Afterok, "b")]),
            job("s", JobKind::Sweep, &[]),
        ];
        let w = Workflow::build(&jobs);
        assert_eq!(w.nodes().count(), 4);
        assert_eq!(
            w.edges(),
            vec![
                ("a", "b", DependencyKind::Aftercorr),
                ("b", "c", DependencyKind::Afterok)
            ]
        );
        assert_eq!(w.layers(), vec![0, 1, 2, 0]);
        let text = w.text();
        assert!(
            text.contains("b [map] COMPLETED 3/3 done  <- aftercorr (element-wise) a"),
            "{text}"
        );
        let svg = w.svg();
        assert_eq!(svg.matches("class=\"node\"").count(), 4);
        assert_eq!(svg.matches("class=\"edge\"").count(), 2);
        // The layers are far enough apart for "aftercorr (element-wise)"
        // (24 characters) between two nodes: 184 px, label about 144 px.
        assert!(svg.contains("<rect x=\"374\" y=\"20\""), "{svg}");
        assert_eq!(fit("a_rather_long_job_name_indeed", 10), "a_rat…deed");
        assert_ne!(
            fit("an_extremely_long_job_name_for_testing_alpha", 24),
            fit("an_extremely_long_job_name_for_testing_omega", 24)
        );
        // A name cut to fit its node is whole in its hover title and data.
        let long = "a_really_quite_long_job_name_for_the_graph";
        let svg = Workflow::build(&[job(long, JobKind::Map, &[])]).svg();
        assert!(svg.contains(&format!("data-name=\"{long}\"")), "{svg}");
        assert!(svg.contains(&format!("<title>{long}</title>")), "{svg}");
        assert!(svg.contains(&format!(">{}</text>", fit(long, 24))), "{svg}");
    }

    #[test]
    fn resubmitted_name_keeps_one_node() {
        let jobs = vec![
            job("a", JobKind::Map, &[]),
            job("b", JobKind::Run, &[(DependencyKind::Afterok, "a")]),
            job("a", JobKind::Map, &[]),
        ];
        let w = Workflow::build(&jobs);
        assert_eq!(w.nodes().count(), 2);
        assert_eq!(w.edges(), vec![("a", "b", DependencyKind::Afterok)]);
        assert_eq!(Workflow::build(&[]).text(), "no jobs yet");
    }

    #[test]
    fn dot_labels_nodes_and_edges() {
        let jobs = vec![
            job("a", JobKind::Map, &[]),
            job("b", JobKind::Map, &[(DependencyKind::Aftercorr, "a")]),
            job("c", JobKind::Run, &[(DependencyKind::Afterok, "b")]),
            job("say \"hi\"", JobKind::Sweep, &[]),
        ];
        let dot = Workflow::build(&jobs).dot();
        let lines: Vec<&str> = dot.lines().map(str::trim).collect();
        let node = "shape = box, style = \"rounded,filled\", fillcolor = \"#c8e6c9\"]";
        assert_eq!(
            lines,
            [
                "digraph {".to_string(),
                "rankdir=\"LR\"".into(),
                format!("0 [ label = \"a\\lmap · COMPLETED · 3/3 done\\l\" {node}"),
                format!("1 [ label = \"b\\lmap · COMPLETED · 3/3 done\\l\" {node}"),
                format!("2 [ label = \"c\\lrun · COMPLETED · 3/3 done\\l\" {node}"),
                format!("3 [ label = \"say \\\"hi\\\"\\lsweep · COMPLETED · 3/3 done\\l\" {node}"),
                "0 -> 1 [ label = \"aftercorr (element-wise)\" style = dashed]".into(),
                "1 -> 2 [ label = \"afterok\" ]".into(),
                "}".into(),
            ]
        );
        assert_valid_for_graphviz(&dot);
    }

    /// Lays `dot` out with Graphviz's `dot` (installed by `tests/run.sh`;
    /// not a dependency of sluice itself).
    fn assert_valid_for_graphviz(dot: &str) {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = child.expect("graphviz `dot` runs (tests/run.sh installs graphviz)");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(dot.as_bytes())
            .expect("dot reads its input");
        let out = child.wait_with_output().expect("dot runs");
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(svg.contains("aftercorr (element&#45;wise)"), "{svg}");
        assert!(svg.contains("stroke-dasharray"), "{svg}");
    }
}
