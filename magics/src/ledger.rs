//! The job ledger: `.sluice/ledger.sqlite` beside the notebook, the durable
//! record of every job (name, kind, paths, types, states) and its elements,
//! so a restarted kernel can list, reload and retry earlier jobs. The only
//! module that touches SQLite. Schema version in `PRAGMA user_version`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::executor::JobId;
use crate::state::State;

const SCHEMA_VERSION: i32 = 2;

/// Ledger failures.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite said no.
    #[error("job ledger {path}: {source}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// The error.
        #[source]
        source: rusqlite::Error,
    },
}

/// One job as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Id (also the job directory's name).
    pub id: JobId,
    /// The NAME results are bound to.
    pub name: String,
    /// `map` or `run`.
    pub kind: String,
    /// `local` or `slurm`.
    pub backend: String,
    /// Number of items (map) or 1 (run).
    pub items: usize,
    /// Rust type of one result.
    pub result_type: String,
    /// The job directory.
    pub dir: PathBuf,
    /// The task binary.
    pub binary: PathBuf,
    /// Last known overall state.
    pub state: String,
    /// Unix time of submission.
    pub created: f64,
    /// Names of the jobs it depends on, with the kind (`afterok:a,...`).
    pub deps: String,
}

/// The Slurm side of a job: its arrays and where its files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmPlacement {
    /// `(array job id, index offset)` of every sbatch, oldest first.
    pub arrays: Vec<(String, usize)>,
    /// `ssh://...`, or empty on the login node.
    pub host: String,
    /// The job directory on the cluster.
    pub remote_dir: PathBuf,
}

/// An open ledger.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let sql = |source| LedgerError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version < SCHEMA_VERSION {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS jobs (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                    backend TEXT NOT NULL, items INTEGER NOT NULL, result_type TEXT NOT NULL,
                    dir TEXT NOT NULL, binary TEXT NOT NULL, state TEXT NOT NULL,
                    created REAL NOT NULL, deps TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS elements (
                    job INTEGER NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
                    exit INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (job, idx));
                 CREATE TABLE IF NOT EXISTS slurm_arrays (
                    job INTEGER NOT NULL, array_id TEXT NOT NULL, offset INTEGER NOT NULL,
                    host TEXT NOT NULL, remote_dir TEXT NOT NULL, PRIMARY KEY (job, array_id));
                 PRAGMA journal_mode = WAL;",
            )
            .map_err(sql)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql)?;
        }
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        |source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// The next free job id.
    pub fn next_id(&self) -> Result<JobId, LedgerError> {
        let max: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM jobs", [], |r| r.get(0))
            .map_err(self.sql())?;
        Ok(max.map_or(1, |m| m as JobId + 1))
    }

    /// Records a new job.
    pub fn insert(&self, j: &JobRecord) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO jobs (id, name, kind, backend, items, result_type, dir, binary, state, created, deps)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    j.id as i64,
                    j.name,
                    j.kind,
                    j.backend,
                    j.items as i64,
                    j.result_type,
                    j.dir.to_string_lossy(),
                    j.binary.to_string_lossy(),
                    j.state,
                    j.created,
                    j.deps
                ],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Records the final (or current) element states of a job and its overall state.
    pub fn record_states(
        &mut self,
        job: JobId,
        overall: &str,
        states: &[State],
    ) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let sql = |source| LedgerError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare("INSERT OR REPLACE INTO elements (job, idx, state, exit, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for (i, s) in states.iter().enumerate() {
                let (exit, reason) = match s {
                    State::Failed(c) => (*c, String::new()),
                    State::Cancelled(r) => (0, r.clone()),
                    _ => (0, String::new()),
                };
                stmt.execute(params![job as i64, i as i64, s.name(), exit, reason])
                    .map_err(sql)?;
            }
            tx.execute(
                "UPDATE jobs SET state = ?1 WHERE id = ?2",
                params![overall, job as i64],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Records Slurm array ids of a job (appended: a retry adds arrays).
    pub fn record_slurm(
        &self,
        job: JobId,
        arrays: &[(String, usize)],
        host: &str,
        remote_dir: &Path,
    ) -> Result<(), LedgerError> {
        for (id, offset) in arrays {
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO slurm_arrays (job, array_id, offset, host, remote_dir) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![job as i64, id, *offset as i64, host, remote_dir.to_string_lossy()],
                )
                .map_err(self.sql())?;
        }
        Ok(())
    }

    /// The Slurm arrays of a job, if it ran on Slurm.
    pub fn slurm(&self, job: JobId) -> Result<Option<SlurmPlacement>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT array_id, offset, host, remote_dir FROM slurm_arrays WHERE job = ?1 ORDER BY rowid")
            .map_err(self.sql())?;
        let rows: Vec<(String, i64, String, String)> = stmt
            .query_map(params![job as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(SlurmPlacement {
            host: first.2.clone(),
            remote_dir: PathBuf::from(&first.3),
            arrays: rows.iter().map(|r| (r.0.clone(), r.1 as usize)).collect(),
        }))
    }

    /// Element states as recorded.
    pub fn states(&self, job: JobId) -> Result<Vec<State>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, exit, reason FROM elements WHERE job = ?1 ORDER BY idx")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![job as i64], |r| {
                Ok(State::from_parts(
                    &r.get::<_, String>(0)?,
                    r.get(1)?,
                    &r.get::<_, String>(2)?,
                ))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, kind, backend, items, result_type, dir, binary, state, created, deps FROM jobs ORDER BY id")
            .map_err(self.sql())?;
        let rows = stmt.query_map([], row_to_job).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The latest job with this name.
    pub fn find(&self, name: &str) -> Result<Option<JobRecord>, LedgerError> {
        self.conn
            .query_row(
                "SELECT id, name, kind, backend, items, result_type, dir, binary, state, created, deps
                 FROM jobs WHERE name = ?1 ORDER BY id DESC LIMIT 1",
                params![name],
                row_to_job,
            )
            .optional()
            .map_err(self.sql())
    }
}

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: r.get::<_, i64>(0)? as JobId,
        name: r.get(1)?,
        kind: r.get(2)?,
        backend: r.get(3)?,
        items: r.get::<_, i64>(4)? as usize,
        result_type: r.get(5)?,
        dir: PathBuf::from(r.get::<_, String>(6)?),
        binary: PathBuf::from(r.get::<_, String>(7)?),
        state: r.get(8)?,
        created: r.get(9)?,
        deps: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: JobId, name: &str) -> JobRecord {
        JobRecord {
            id,
            name: name.into(),
            kind: "map".into(),
            backend: "local".into(),
            items: 3,
            result_type: "i64".into(),
            dir: PathBuf::from(format!("/j/{id}")),
            binary: PathBuf::from("/b"),
            state: "PENDING".into(),
            created: 1.0,
            deps: String::new(),
        }
    }

    #[test]
    fn jobs_and_states_round_trip_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        {
            let mut l = Ledger::open(&path).expect("open");
            assert_eq!(l.next_id().expect("id"), 1);
            l.insert(&record(1, "parts")).expect("insert");
            l.insert(&record(2, "parts")).expect("insert");
            l.record_states(
                2,
                "FAILED",
                &[
                    State::Completed,
                    State::Failed(3),
                    State::Cancelled("why".into()),
                ],
            )
            .expect("states");
        }
        let l = Ledger::open(&path).expect("reopen");
        assert_eq!(l.next_id().expect("id"), 3);
        let j = l.find("parts").expect("find").expect("exists");
        assert_eq!(j.id, 2);
        assert_eq!(j.state, "FAILED");
        assert_eq!(
            l.states(2).expect("states"),
            vec![
                State::Completed,
                State::Failed(3),
                State::Cancelled("why".into())
            ]
        );
        assert_eq!(l.jobs().expect("jobs").len(), 2);
        assert_eq!(l.slurm(2).expect("slurm"), None);
        l.record_slurm(
            2,
            &[("41".into(), 0), ("42".into(), 10001)],
            "",
            Path::new("/r/2"),
        )
        .expect("record");
        l.record_slurm(2, &[("57".into(), 0)], "", Path::new("/r/2"))
            .expect("retry");
        let p = l.slurm(2).expect("slurm").expect("recorded");
        assert_eq!(
            p.arrays,
            vec![("41".into(), 0), ("42".into(), 10001), ("57".into(), 0)]
        );
        assert_eq!(p.remote_dir, PathBuf::from("/r/2"));
    }
}
