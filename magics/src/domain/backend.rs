//! Where a job runs: the embedded local executor or a Slurm cluster.

use std::fmt;
use std::str::FromStr;

/// An executor backend, as `--backend` and `%slurm config --backend` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// The embedded executor: task processes on this machine with Slurm's
    /// semantics.
    #[default]
    Local,
    /// A real Slurm cluster, on this login node or over SSH.
    Slurm,
}

impl Backend {
    /// The name as written in options and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Slurm => "slurm",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A backend name that is neither `local` nor `slurm`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}`: use local or slurm")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    /// `local` or `slurm` (case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Backend::Local),
            "slurm" => Ok(Backend::Slurm),
            _ => Err(UnknownBackend(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for b in [Backend::Local, Backend::Slurm] {
            assert_eq!(b.to_string().parse::<Backend>(), Ok(b));
        }
        assert_eq!(" Slurm ".parse::<Backend>(), Ok(Backend::Slurm));
        assert!("pbs".parse::<Backend>().is_err());
    }
}
