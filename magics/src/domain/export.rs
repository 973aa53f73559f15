//! [`Export`]: which environment variables array elements get, as sbatch's
//! `--export` spells it: `ALL` (the default: the submitting environment),
//! `NONE`, or `NAME[=value],...` (only those), optionally after `ALL,`.
//! (sbatch(1), `--export`.)

use std::fmt;
use std::str::FromStr;

/// What `--export` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The whole submitting environment.
    pub all: bool,
    /// Variables named: with a value, or (None) with the value they have in
    /// the submitting environment.
    pub vars: Vec<(String, Option<String>)>,
}

impl Default for Export {
    fn default() -> Export {
        Export {
            all: true,
            vars: Vec::new(),
        }
    }
}

impl Export {
    /// Whether the submitting environment (the notebook session's) is
    /// needed to know the elements' variables.
    pub fn needs_session_env(&self) -> bool {
        self.all || self.vars.iter().any(|(_, v)| v.is_none())
    }

    /// The variables the elements get besides Slurm's own: from `session`
    /// (the submitting environment) when `all` and `include_all` (a
    /// cluster over SSH gives `ALL` its login node's environment instead),
    /// then the named ones, in order.
    pub fn resolve(
        &self,
        session: &[(String, String)],
        include_all: bool,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = if self.all && include_all {
            session.to_vec()
        } else {
            Vec::new()
        };
        for (name, value) in &self.vars {
            let value = match value {
                Some(v) => Some(v.clone()),
                None => session
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
            };
            if let Some(v) = value {
                out.retain(|(k, _)| k != name);
                out.push((name.clone(), v));
            }
        }
        out
    }
}

/// The longest `NAME=value` string Linux passes to a program, with its
/// terminating NUL: `MAX_ARG_STRLEN`, 32 pages of 4 KiB (execve(2),
/// "Limits on size of arguments and environment"). A longer one makes
/// every exec fail with E2BIG ("Argument list too long").
pub const MAX_ENV_STRING: usize = 32 * 4096;

/// Environment variables split by [`within_exec_limit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFit {
    /// Those a program can be started with, in order.
    pub kept: Vec<(String, String)>,
    /// The names of the others, with their `NAME=value` size in bytes.
    pub too_long: Vec<(String, usize)>,
}

/// `vars` split into those a program can be started with and those longer
/// than [`MAX_ENV_STRING`].
pub fn within_exec_limit(vars: Vec<(String, String)>) -> ExecFit {
    let mut too_long = Vec::new();
    let kept = vars
        .into_iter()
        .filter(|(k, v)| {
            let size = k.len().saturating_add(v.len()).saturating_add(2);
            let fits = size <= MAX_ENV_STRING;
            if !fits {
                too_long.push((k.clone(), size));
            }
            fits
        })
        .collect();
    ExecFit { kept, too_long }
}

/// An `--export` value sbatch would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--export {0}: use ALL, NONE, or NAME[=value],... (names are letters, digits and _)")]
pub struct BadExport(pub String);

impl FromStr for Export {
    type Err = BadExport;

    fn from_str(s: &str) -> Result<Export, BadExport> {
        let bad = || BadExport(s.to_string());
        let mut e = Export {
            all: false,
            vars: Vec::new(),
        };
        for (i, part) in s.split(',').map(str::trim).enumerate() {
            match part {
                "ALL" if i == 0 => e.all = true,
                "NONE" if i == 0 && !s.contains(',') => return Ok(e),
                "ALL" | "NONE" => return Err(bad()),
                _ => {
                    let (name, value) = match part.split_once('=') {
                        Some((n, v)) => (n, Some(v.to_string())),
                        None => (part, None),
                    };
                    let ok = name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !ok {
                        return Err(bad());
                    }
                    e.vars.push((name.to_string(), value));
                }
            }
        }
        Ok(e)
    }
}

impl fmt::Display for Export {
    /// The value as sbatch spells it (values are written too; sbatch itself
    /// gets only ALL or NONE, see `executor::slurm::sbatch`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.all {
            parts.push("ALL".into());
        }
        for (n, v) in &self.vars {
            parts.push(match v {
                Some(v) => format!("{n}={v}"),
                None => n.clone(),
            });
        }
        if parts.is_empty() {
            parts.push("NONE".into());
        }
        f.pad(&parts.join(","))
    }
}

impl serde::Serialize for Export {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Export {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Export, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_longer_than_linux_takes_is_left_out() {
        let vars = vec![
            ("SMALL".to_string(), "x".to_string()),
            ("BIG".to_string(), "y".repeat(200_000)),
            ("EDGE".to_string(), "z".repeat(MAX_ENV_STRING - 6)),
            ("OVER".to_string(), "z".repeat(MAX_ENV_STRING - 5)),
        ];
        let fit = within_exec_limit(vars);
        let names: Vec<&str> = fit.kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["SMALL", "EDGE"]);
        assert_eq!(
            fit.too_long,
            [
                ("BIG".to_string(), 200_005),
                ("OVER".to_string(), MAX_ENV_STRING + 1)
            ]
        );
    }

    #[test]
    fn sbatch_spellings() {
        assert_eq!("ALL".parse::<Export>(), Ok(Export::default()));
        let none: Export = "NONE".parse().expect("NONE");
        assert!(!none.all && none.vars.is_empty());
        let named: Export = "A=1,B".parse().expect("named");
        assert!(!named.all);
        assert_eq!(
            named.vars,
            vec![("A".into(), Some("1".into())), ("B".into(), None)]
        );
        let plus: Export = "ALL,X=a=b".parse().expect("all plus");
        assert!(plus.all);
        assert_eq!(plus.vars, vec![("X".into(), Some("a=b".into()))]);
        for bad in ["", "1A", "A-B=1", "NONE,A", "A,ALL", "$(x)"] {
            assert!(bad.parse::<Export>().is_err(), "{bad}");
        }
        for e in ["ALL", "NONE", "A=1,B", "ALL,X=a=b"] {
            assert_eq!(e.parse::<Export>().expect(e).to_string(), e);
        }
    }

    #[test]
    fn resolution() {
        let session = vec![
            ("HOME".into(), "/h".into()),
            ("B".into(), "from session".into()),
        ];
        let all = Export::default();
        assert_eq!(all.resolve(&session, true), session);
        assert!(all.resolve(&session, false).is_empty());
        let named: Export = "A=1,B,MISSING".parse().expect("named");
        assert_eq!(
            named.resolve(&session, true),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "from session".into())
            ]
        );
        assert!(!"A=1".parse::<Export>().expect("a").needs_session_env());
    }
}
