//! Job identities and kinds: the ledger's [`JobId`], Slurm's own
//! [`SlurmJobId`] and the [`JobKind`] of the magic that made the job.

use std::fmt;
use std::str::FromStr;

/// A job's id, unique within a notebook's ledger (also the name of its job
/// directory, `.sluice/jobs/<id>`).
pub type JobId = u64;

/// What made a job, which decides how its results are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// `%%slurm map`: one element per item, bound as `Vec<R>`.
    Map,
    /// `%%slurm run`: one element, bound as `R`.
    Run,
    /// `%%sweep`: one element per configuration, bound as
    /// `Vec<(params, R)>` with `NAME_best`.
    Sweep,
}

impl JobKind {
    /// The name as the ledger and `%slurm jobs` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Map => "map",
            JobKind::Run => "run",
            JobKind::Sweep => "sweep",
        }
    }

    /// Whether each element's result belongs to one item of a list that a
    /// later map can consume element-wise (`aftercorr`).
    pub fn is_array_of_items(self) -> bool {
        matches!(self, JobKind::Map | JobKind::Sweep)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A job kind the ledger does not know (a newer sluice wrote it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job kind `{0}`")]
pub struct UnknownJobKind(pub String);

impl FromStr for JobKind {
    type Err = UnknownJobKind;

    fn from_str(s: &str) -> Result<JobKind, UnknownJobKind> {
        match s {
            "map" => Ok(JobKind::Map),
            "run" => Ok(JobKind::Run),
            "sweep" => Ok(JobKind::Sweep),
            _ => Err(UnknownJobKind(s.to_string())),
        }
    }
}

/// The job id Slurm gave an array (`sbatch --parsable` prints it; `squeue`
/// and `sacct` show its elements as `<id>_<task>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlurmJobId(pub String);

impl SlurmJobId {
    /// The id as Slurm prints it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SlurmJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl From<&str> for SlurmJobId {
    fn from(s: &str) -> SlurmJobId {
        SlurmJobId(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [JobKind::Map, JobKind::Run, JobKind::Sweep] {
            assert_eq!(k.to_string().parse::<JobKind>(), Ok(k));
        }
        assert!("Map".parse::<JobKind>().is_err());
    }
}
