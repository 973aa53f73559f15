//! What a running sweep has found so far, for its progress display: the
//! best configuration by the objective among the finished ones and how
//! many have finished. Reads each configuration's result and status files
//! once, as they appear.

use crate::jobdir::JobDir;
use crate::numfmt::sig;
use crate::sweep::{Objective, SweepSpec, expand, objective_of};

/// The best-so-far of one running sweep.
#[derive(Debug)]
pub struct SweepProgress {
    spec: SweepSpec,
    configs: Vec<Vec<usize>>,
    /// Configurations whose status file was seen (they have ended).
    ended: Vec<bool>,
    finished: usize,
    /// (configuration, objective, the objective's exact integer text when
    /// it is an integer) of the best one so far.
    best: Option<(usize, f64, Option<String>)>,
    /// The finished configurations' objectives, for the digits that tell
    /// them apart (as the sweep's table shows them).
    seen: Vec<f64>,
}

impl SweepProgress {
    /// For the sweep whose job directory is `dir` (its `sweep.spec`); None
    /// if the spec cannot be read or has no objective.
    pub fn of(dir: &JobDir, items: usize) -> Option<SweepProgress> {
        let text = std::fs::read_to_string(dir.sweep_spec()).ok()?;
        let spec: SweepSpec = serde_json::from_str(&text).ok()?;
        spec.objective.as_ref()?;
        let mut configs = expand(&spec).ok()?;
        configs.truncate(items);
        Some(SweepProgress {
            ended: vec![false; configs.len()],
            configs,
            spec,
            finished: 0,
            best: None,
            seen: Vec::new(),
        })
    }

    /// Reads what ended since the last call; returns the line for the
    /// progress display: `8 of 12 configurations finished; best so far:
    /// accuracy 0.8747 at lr=0.1, batch_size=32, seed=0 (configuration 8)`.
    pub fn refresh(&mut self, dir: &JobDir) -> String {
        let (field, maximize) = match &self.spec.objective {
            Some(Objective::Maximize(f)) => (f.clone(), true),
            Some(Objective::Minimize(f)) => (f.clone(), false),
            None => return String::new(),
        };
        for i in 0..self.configs.len() {
            if self.ended[i] || !dir.status(i).exists() {
                continue;
            }
            self.ended[i] = true;
            self.finished += 1;
            let text = std::fs::read_to_string(dir.result(i)).unwrap_or_default();
            let value = crate::crossing::display_value(&text)
                .and_then(|r| objective_of(&r, &field).ok())
                .filter(|v| v.is_finite());
            if let Some(v) = value {
                self.seen.push(v);
                let better = self
                    .best
                    .as_ref()
                    .is_none_or(|&(_, b, _)| if maximize { v > b } else { v < b });
                if better {
                    self.best = Some((i, v, crate::crossing::integer_at(&text, &field)));
                }
            }
        }
        let count = format!(
            "{} of {} configurations finished",
            self.finished,
            self.configs.len()
        );
        match &self.best {
            Some((i, v, exact)) => {
                let i = *i;
                // An integer exactly; a float to the digits that tell the
                // finished ones apart.
                let objective = exact.clone().unwrap_or_else(|| {
                    sig(
                        *v,
                        crate::numfmt::ValueDigits::new(self.seen.iter().copied(), 4).of(*v),
                    )
                });
                let params: Vec<String> = self.configs[i]
                    .iter()
                    .enumerate()
                    .map(|(p, &k)| {
                        let param = &self.spec.params[p];
                        let text = param.shown(k);
                        let shown = text.parse::<f64>().ok().filter(|_| text.contains('.'));
                        // As many digits as tell the parameter's values apart.
                        let digits = crate::numfmt::distinguishing_digits(
                            (0..param.values.len())
                                .filter_map(|j| param.shown(j).parse::<f64>().ok()),
                            4,
                        );
                        format!("{}={}", param.name, shown.map_or(text, |f| sig(f, digits)))
                    })
                    .collect();
                format!(
                    "{count}; best so far: `{field}` {objective} at {} (configuration {i})",
                    params.join(", ")
                )
            }
            None => count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_so_far_among_the_finished() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = sweep_dir(
            tmp.path(),
            "lr in [0.001, 0.1], seed in 0..2 -> s --maximize acc",
        );
        let mut p = SweepProgress::of(&dir, 4).expect("a sweep with an objective");
        assert_eq!(p.refresh(&dir), "0 of 4 configurations finished");
        let end = |i: usize, acc: &str| {
            std::fs::write(dir.result(i), format!("{{\"acc\":{acc}}}")).expect("result");
            std::fs::write(dir.status(i), "{}").expect("status");
        };
        end(1, "0.5");
        end(2, "0.87471234");
        assert_eq!(
            p.refresh(&dir),
            "2 of 4 configurations finished; best so far: `acc` 0.8747 at lr=0.1, seed=0 (configuration 2)"
        );
        // A failed configuration (status, no result) counts as finished.
        std::fs::write(dir.status(3), "{}").expect("status");
        assert!(
            p.refresh(&dir)
                .starts_with("3 of 4 configurations finished; best so far: `acc` 0.8747")
        );
    }

    /// A job directory at `root` holding the sweep spec of `line`, with
    /// empty `results/` and `status/`.
    fn sweep_dir(root: &std::path::Path, line: &str) -> JobDir {
        let dir = JobDir::new(root);
        let spec = crate::grammar::sweep::parse(line).expect("parses").spec;
        std::fs::write(
            dir.sweep_spec(),
            serde_json::to_string(&spec).expect("json"),
        )
        .expect("spec");
        std::fs::create_dir_all(dir.results_dir()).expect("results");
        std::fs::create_dir_all(dir.status_dir()).expect("status");
        dir
    }

    fn progress_of(objective: &str, results: &[&str]) -> String {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = sweep_dir(tmp.path(), &format!("seed in 0..4 -> s {objective}"));
        let mut p = SweepProgress::of(&dir, 4).expect("a sweep with an objective");
        for (i, r) in results.iter().enumerate() {
            std::fs::write(dir.result(i), r).expect("result");
            std::fs::write(dir.status(i), "{}").expect("status");
        }
        p.refresh(&dir)
    }

    #[test]
    fn integers_read_exactly_and_floats_by_the_digits_that_tell_them_apart() {
        let best = |o: &str, r: &[&str]| {
            let line = progress_of(o, r);
            line.split("best so far: ")
                .nth(1)
                .and_then(|b| b.split(" at ").next())
                .map(str::to_string)
                .unwrap_or(line)
        };
        assert_eq!(
            best(
                "--maximize loss",
                &["{\"loss\":308641975308}", "{\"loss\":7}"]
            ),
            "`loss` 308641975308"
        );
        assert_eq!(
            best(
                "--minimize value",
                &["18446744073709551615", "-9223372036854775807"]
            ),
            "`value` -9223372036854775807"
        );
        let big = u128::MAX.to_string();
        assert_eq!(
            best("--maximize value", &[&big, "3"]),
            format!("`value` {big}")
        );
        assert_eq!(
            best("--maximize value", &["1.00012", "1.00011"]),
            "`value` 1.00012"
        );
        assert_eq!(best("--maximize value", &["0.87471234"]), "`value` 0.8747");
    }
}
