//! Dependencies between jobs, with Slurm's kinds and rules: whether a
//! dependent can start, must wait, or can never run
//! (`DependencyNeverSatisfied`). The rules follow sbatch(1), `--dependency`.

use std::fmt;
use std::str::FromStr;

use super::job::JobId;
use super::state::{Counts, ElementState};

/// Dependency types, as sbatch's `--dependency` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DependencyKind {
    /// Start after the dependency completed successfully.
    #[default]
    Afterok,
    /// Start after the dependency ended, however it ended.
    Afterany,
    /// Start only if the dependency failed.
    Afternotok,
    /// Element i starts after element i of the dependency succeeded.
    Aftercorr,
}

impl DependencyKind {
    /// Every kind, in the order help lists them.
    pub const ALL: [DependencyKind; 4] = [
        DependencyKind::Afterok,
        DependencyKind::Afterany,
        DependencyKind::Afternotok,
        DependencyKind::Aftercorr,
    ];

    /// Slurm's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Afterok => "afterok",
            DependencyKind::Afterany => "afterany",
            DependencyKind::Afternotok => "afternotok",
            DependencyKind::Aftercorr => "aftercorr",
        }
    }

    /// Element-wise (element i waits for element i) rather than whole-job.
    pub fn is_element_wise(self) -> bool {
        self == DependencyKind::Aftercorr
    }
}

impl fmt::Display for DependencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A dependency kind sbatch does not have (or sluice does not run).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dependency `{0}`: use afterok, afterany, afternotok or aftercorr")]
pub struct UnknownDependencyKind(pub String);

impl FromStr for DependencyKind {
    type Err = UnknownDependencyKind;

    fn from_str(s: &str) -> Result<DependencyKind, UnknownDependencyKind> {
        DependencyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownDependencyKind(s.to_string()))
    }
}

/// A dependency of a job on an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dependency {
    /// The job depended on.
    pub job: JobId,
    /// Its name (for messages and the graph).
    pub name: String,
    /// How.
    #[serde(with = "kind_text")]
    pub kind: DependencyKind,
}

/// Serializes a [`DependencyKind`] as its Slurm name.
mod kind_text {
    use super::DependencyKind;

    pub fn serialize<S: serde::Serializer>(k: &DependencyKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DependencyKind, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a dependency says about a dependent right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// May start.
    Ready,
    /// Must wait.
    Wait,
    /// Can never start (Slurm: DependencyNeverSatisfied); the reason.
    Never(String),
}

/// Job-level rule: `upstream` are all elements of the job depended on.
pub fn job_readiness(kind: DependencyKind, upstream: &[ElementState], up_name: &str) -> Readiness {
    let c = Counts::of(upstream.iter());
    let unsuccessful = c.failed + c.cancelled > 0;
    match kind {
        DependencyKind::Afterok | DependencyKind::Aftercorr => {
            if unsuccessful {
                Readiness::Never(format!(
                    "DependencyNeverSatisfied: {up_name} did not complete successfully"
                ))
            } else if c.done() {
                Readiness::Ready
            } else {
                Readiness::Wait
            }
        }
        DependencyKind::Afterany if c.done() => Readiness::Ready,
        DependencyKind::Afterany => Readiness::Wait,
        DependencyKind::Afternotok if !c.done() => Readiness::Wait,
        DependencyKind::Afternotok if unsuccessful => Readiness::Ready,
        DependencyKind::Afternotok => Readiness::Never(format!(
            "DependencyNeverSatisfied: {up_name} succeeded (afternotok)"
        )),
    }
}

/// Element-wise rule (aftercorr): element i waits for element i upstream.
pub fn element_readiness(
    upstream: Option<&ElementState>,
    up_name: &str,
    index: usize,
) -> Readiness {
    match upstream {
        Some(ElementState::Completed) => Readiness::Ready,
        Some(s) if s.is_terminal() => Readiness::Never(format!(
            "DependencyNeverSatisfied: {up_name}[{index}] ended {}",
            s.name()
        )),
        Some(_) => Readiness::Wait,
        None => Readiness::Never(format!(
            "DependencyNeverSatisfied: {up_name} has no element {index}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ElementState as S;

    #[test]
    fn afterok_semantics() {
        let ok = [S::Completed, S::Completed];
        let running = [S::Completed, S::Running];
        let failed = [S::Completed, S::Failed(1)];
        assert_eq!(
            job_readiness(DependencyKind::Afterok, &ok, "a"),
            Readiness::Ready
        );
        assert_eq!(
            job_readiness(DependencyKind::Afterok, &running, "a"),
            Readiness::Wait
        );
        assert!(matches!(
            job_readiness(DependencyKind::Afterok, &failed, "a"),
            Readiness::Never(_)
        ));
        assert_eq!(
            job_readiness(DependencyKind::Afterany, &failed, "a"),
            Readiness::Ready
        );
        assert_eq!(
            job_readiness(DependencyKind::Afternotok, &failed, "a"),
            Readiness::Ready
        );
        assert!(matches!(
            job_readiness(DependencyKind::Afternotok, &ok, "a"),
            Readiness::Never(_)
        ));
    }

    #[test]
    fn aftercorr_is_per_element() {
        assert_eq!(
            element_readiness(Some(&S::Completed), "a", 0),
            Readiness::Ready
        );
        assert_eq!(
            element_readiness(Some(&S::Running), "a", 0),
            Readiness::Wait
        );
        assert!(matches!(
            element_readiness(Some(&S::Timeout), "a", 0),
            Readiness::Never(_)
        ));
    }

    #[test]
    fn kinds_and_dependencies_round_trip() {
        for k in DependencyKind::ALL {
            assert_eq!(k.to_string().parse::<DependencyKind>(), Ok(k));
        }
        assert!("after".parse::<DependencyKind>().is_err());
        let d = Dependency {
            job: 3,
            name: "parts".into(),
            kind: DependencyKind::Aftercorr,
        };
        let text = serde_json::to_string(&d).expect("serializes");
        assert!(text.contains("\"aftercorr\""), "{text}");
        assert_eq!(
            serde_json::from_str::<Dependency>(&text).expect("parses"),
            d
        );
    }
}
