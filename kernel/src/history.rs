//! The input history of this kernel session, answering `history_request`
//! (tail, range and glob search), as IPython's history does for one session.

use jupyter_protocol::{HistoryEntry, HistoryRequest};

/// Executed inputs of this session, in order; line numbers are execution counts.
#[derive(Debug, Default)]
pub struct History {
    entries: Vec<(usize, String, String)>,
}

/// Session number reported for this kernel's entries.
const SESSION: usize = 1;

impl History {
    /// Records an executed cell and the text form of its result.
    pub fn record(&mut self, line: usize, input: &str, output: &str) {
        self.entries
            .push((line, input.to_string(), output.to_string()));
    }

    /// Answers a history request.
    pub fn query(&self, req: &HistoryRequest) -> Vec<HistoryEntry> {
        let (picked, output): (Vec<&(usize, String, String)>, bool) = match req {
            HistoryRequest::Tail { n, output, .. } => {
                let n = usize::try_from(*n).unwrap_or(0);
                let skip = self.entries.len().saturating_sub(n);
                (self.entries.iter().skip(skip).collect(), *output)
            }
            HistoryRequest::Range {
                start,
                stop,
                output,
                ..
            } => {
                let start = usize::try_from(*start).unwrap_or(0);
                let stop = usize::try_from(*stop).unwrap_or(0);
                let all = stop == 0;
                (
                    self.entries
                        .iter()
                        .filter(|(line, _, _)| *line >= start && (all || *line < stop))
                        .collect(),
                    *output,
                )
            }
            HistoryRequest::Search {
                pattern,
                unique,
                output,
                n,
                ..
            } => {
                let mut seen = std::collections::HashSet::new();
                let mut hits: Vec<&(usize, String, String)> = self
                    .entries
                    .iter()
                    .rev()
                    .filter(|(_, input, _)| glob_match(pattern, input))
                    .filter(|(_, input, _)| !*unique || seen.insert(input.clone()))
                    .collect();
                if let Ok(n) = usize::try_from(*n)
                    && n > 0
                {
                    hits.truncate(n);
                }
                hits.reverse();
                (hits, *output)
            }
        };
        picked
            .into_iter()
            .map(|(line, input, out)| {
                if output {
                    HistoryEntry::InputOutput(SESSION, *line, (input.clone(), out.clone()))
                } else {
                    HistoryEntry::Input(SESSION, *line, input.clone())
                }
            })
            .collect()
    }
}

/// Glob match with `*` and `?`, as IPython's history search uses.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> History {
        let mut h = History::default();
        h.record(1, "let a = 1;", "");
        h.record(2, "a + 1", "2");
        h.record(3, "let b = a * 10;", "");
        h
    }

    #[test]
    fn tail_returns_last_n() {
        let h = filled();
        let got = h.query(&HistoryRequest::Tail {
            n: 2,
            output: false,
            raw: true,
        });
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], HistoryEntry::Input(1, 2, s) if s == "a + 1"));
    }

    #[test]
    fn search_globs() {
        let h = filled();
        let got = h.query(&HistoryRequest::Search {
            pattern: "let*".into(),
            unique: true,
            output: true,
            raw: true,
            n: 10,
        });
        assert_eq!(got.len(), 2);
        assert!(glob_match("a?+*", "a + 1") || glob_match("a*1", "a + 1"));
        assert!(!glob_match("b*", "a + 1"));
    }

    #[test]
    fn range_is_half_open() {
        let h = filled();
        let got = h.query(&HistoryRequest::Range {
            session: None,
            start: 1,
            stop: 3,
            output: false,
            raw: true,
        });
        assert_eq!(got.len(), 2);
    }
}
