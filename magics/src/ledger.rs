//! The job ledger: `.sluice/ledger.sqlite` beside the notebook, the durable
//! record of every job (name, kind, paths, types, states) and its elements,
//! so a restarted kernel can list, reload and retry earlier jobs. The only
//! module that touches SQLite. Schema version in `PRAGMA user_version`.
//!
//! Domain types are stored as their `Display` text and read back with
//! `FromStr`; a value this version does not know is an error, never a guess.
//! Schema history: 1 jobs and elements; 2 `slurm_arrays`; 3 `jobs.dependencies`
//! (JSON: job id, name and kind of every dependency; replaces the `deps`
//! text `afterok:a,aftercorr:b`, which version 3 converts on open); 4
//! `attempts` (the element states of each attempt `--retries` replaced); 5
//! `jobs.notebook` (which notebook of the folder submitted the job).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::{Backend, Dependency, DependencyKind, ElementState, JobId, JobKind, JobState};
use crate::executor::{ClusterJob, Submitted};
use crate::jobdir::JobDir;

const SCHEMA_VERSION: i32 = 5;

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
    /// Which magic made it.
    pub kind: JobKind,
    /// Where it runs.
    pub backend: Backend,
    /// Number of items (map) or 1 (run).
    pub items: usize,
    /// Rust type of one result.
    pub result_type: String,
    /// The job directory.
    pub dir: JobDir,
    /// The task binary.
    pub binary: PathBuf,
    /// Last known overall state.
    pub state: JobState,
    /// Unix time of submission.
    pub created: f64,
    /// The jobs it depends on.
    pub deps: Vec<Dependency>,
    /// The notebook that submitted it (the front end's session path, as
    /// Jupyter Server gives it in `JPY_SESSION_NAME`; "" if unknown).
    pub notebook: String,
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
        if version < 2 {
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
        }
        if version < 3 {
            migrate_dependencies(&conn).map_err(sql)?;
        }
        if version < 4 {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS attempts (
                    job INTEGER NOT NULL, attempt INTEGER NOT NULL, idx INTEGER NOT NULL,
                    state TEXT NOT NULL, exit INTEGER NOT NULL, reason TEXT NOT NULL,
                    PRIMARY KEY (job, attempt, idx));",
            )
            .map_err(sql)?;
        }
        if version < 5 {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN notebook TEXT NOT NULL DEFAULT ''")
                .map_err(sql)?;
        }
        if version < SCHEMA_VERSION {
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
                "INSERT OR REPLACE INTO jobs (id, name, kind, backend, items, result_type, dir, binary, state, created, deps, dependencies, notebook)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '', ?11, ?12)",
                params![
                    j.id as i64,
                    j.name,
                    j.kind.as_str(),
                    j.backend.as_str(),
                    j.items as i64,
                    j.result_type,
                    j.dir.path().to_string_lossy(),
                    j.binary.to_string_lossy(),
                    j.state.as_str(),
                    j.created,
                    dependencies_json(&j.deps),
                    j.notebook
                ],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Runs `f` in one transaction, committed if it succeeds.
    fn in_transaction(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), LedgerError> {
        let sql = |source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        f(&tx).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Records the final (or current) element states of a job and its overall state.
    pub fn record_states(
        &mut self,
        job: JobId,
        overall: JobState,
        states: &[ElementState],
    ) -> Result<(), LedgerError> {
        self.in_transaction(|tx| {
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO elements (job, idx, state, exit, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, s) in states.iter().enumerate() {
                let (exit, reason) = s.detail();
                stmt.execute(params![job as i64, i as i64, s.name(), exit, reason])?;
            }
            tx.execute(
                "UPDATE jobs SET state = ?1 WHERE id = ?2",
                params![overall.as_str(), job as i64],
            )?;
            Ok(())
        })
    }

    /// Keeps the element states an attempt ended with before failed
    /// elements run again (`--retries`): `attempt` counts from 1; only the
    /// elements that are about to run again (`elements`) are recorded.
    pub fn record_attempt(
        &mut self,
        job: JobId,
        attempt: u32,
        states: &[ElementState],
        elements: &[usize],
    ) -> Result<(), LedgerError> {
        self.in_transaction(|tx| {
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO attempts (job, attempt, idx, state, exit, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for &e in elements {
                let Some(s) = states.get(e) else { continue };
                let (exit, reason) = s.detail();
                stmt.execute(params![job as i64, attempt, e as i64, s.name(), exit, reason])?;
            }
            Ok(())
        })
    }

    /// The earlier attempts of a job: `(attempt, element, state)`, oldest first.
    pub fn attempts(&self, job: JobId) -> Result<Vec<(u32, usize, ElementState)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT attempt, idx, state, exit, reason FROM attempts WHERE job = ?1 ORDER BY attempt, idx")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![job as i64], |r| {
                let state = ElementState::from_parts(
                    &r.get::<_, String>(2)?,
                    r.get(3)?,
                    &r.get::<_, String>(4)?,
                )
                .map_err(|e| unknown_value(2, e))?;
                Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)? as usize, state))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Records where a cluster keeps a job (its arrays are appended: a
    /// retry adds arrays). `host`: `ssh://...`, or "" on the login node.
    pub fn record_cluster_job(
        &self,
        job: JobId,
        placed: &ClusterJob,
        host: &str,
    ) -> Result<(), LedgerError> {
        for a in &placed.arrays {
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO slurm_arrays (job, array_id, offset, host, remote_dir) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        job as i64,
                        a.array_id.as_str(),
                        a.offset as i64,
                        host,
                        placed.remote_dir.to_string_lossy()
                    ],
                )
                .map_err(self.sql())?;
        }
        Ok(())
    }

    /// Where a cluster keeps the job, and the host it was reached through
    /// ("" on the login node); None for a job that never ran on a cluster.
    pub fn cluster_job(&self, job: JobId) -> Result<Option<(ClusterJob, String)>, LedgerError> {
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
        let placed = ClusterJob {
            remote_dir: PathBuf::from(&first.3),
            arrays: rows
                .iter()
                .map(|r| Submitted {
                    array_id: crate::domain::SlurmJobId(r.0.clone()),
                    offset: usize::try_from(r.1).unwrap_or(0),
                })
                .collect(),
        };
        Ok(Some((placed, first.2.clone())))
    }

    /// Element states as recorded.
    pub fn states(&self, job: JobId) -> Result<Vec<ElementState>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, exit, reason FROM elements WHERE job = ?1 ORDER BY idx")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![job as i64], |r| {
                ElementState::from_parts(
                    &r.get::<_, String>(0)?,
                    r.get(1)?,
                    &r.get::<_, String>(2)?,
                )
                .map_err(|e| unknown_value(0, e))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, kind, backend, items, result_type, dir, binary, state, created, dependencies, notebook FROM jobs ORDER BY id")
            .map_err(self.sql())?;
        let rows = stmt.query_map([], row_to_job).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The latest job with this name.
    pub fn find(&self, name: &str) -> Result<Option<JobRecord>, LedgerError> {
        self.conn
            .query_row(
                "SELECT id, name, kind, backend, items, result_type, dir, binary, state, created, dependencies, notebook
                 FROM jobs WHERE name = ?1 ORDER BY id DESC LIMIT 1",
                params![name],
                row_to_job,
            )
            .optional()
            .map_err(self.sql())
    }
}

fn row_to_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let text = |i: usize| r.get::<_, String>(i);
    Ok(JobRecord {
        id: r.get::<_, i64>(0)? as JobId,
        name: text(1)?,
        kind: text(2)?.parse().map_err(|e| unknown_value(2, e))?,
        backend: text(3)?.parse().map_err(|e| unknown_value(3, e))?,
        items: r.get::<_, i64>(4)? as usize,
        result_type: text(5)?,
        dir: JobDir::new(text(6)?),
        binary: PathBuf::from(text(7)?),
        state: text(8)?.parse().map_err(|e| unknown_value(8, e))?,
        created: r.get(9)?,
        deps: serde_json::from_str(&text(10)?).map_err(|e| unknown_value(10, e))?,
        notebook: text(11)?,
    })
}

/// A stored value this version cannot read, as rusqlite's conversion error.
fn unknown_value(
    column: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

fn dependencies_json(deps: &[Dependency]) -> String {
    serde_json::to_string(deps).unwrap_or_else(|_| "[]".into())
}

/// Schema 3: adds `jobs.dependencies` and fills it from the old `deps`
/// text (`afterok:a,aftercorr:b`), naming the latest earlier job of each
/// name, as the job saw it when it was submitted.
fn migrate_dependencies(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("ALTER TABLE jobs ADD COLUMN dependencies TEXT NOT NULL DEFAULT '[]'")?;
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT id, deps FROM jobs WHERE deps != ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, text) in rows {
        let mut deps = Vec::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (kind, name) = part.split_once(':').unwrap_or(("afterok", part));
            let kind: DependencyKind = kind.parse().map_err(|e| unknown_value(10, e))?;
            let job: Option<i64> = conn
                .query_row(
                    "SELECT MAX(id) FROM jobs WHERE name = ?1 AND id < ?2",
                    params![name, id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if let Some(job) = job {
                deps.push(Dependency {
                    job: job as JobId,
                    name: name.to_string(),
                    kind,
                });
            }
        }
        conn.execute(
            "UPDATE jobs SET dependencies = ?1 WHERE id = ?2",
            params![dependencies_json(&deps), id],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: JobId, name: &str) -> JobRecord {
        JobRecord {
            id,
            name: name.into(),
            kind: JobKind::Map,
            backend: Backend::Local,
            items: 3,
            result_type: "i64".into(),
            dir: JobDir::new(format!("/j/{id}")),
            binary: PathBuf::from("/b"),
            state: JobState::Pending,
            created: 1.0,
            deps: Vec::new(),
            notebook: "a.ipynb".into(),
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
                JobState::Failed,
                &[
                    ElementState::Completed,
                    ElementState::Failed(3),
                    ElementState::Cancelled("why".into()),
                ],
            )
            .expect("states");
        }
        let l = Ledger::open(&path).expect("reopen");
        assert_eq!(l.next_id().expect("id"), 3);
        let j = l.find("parts").expect("find").expect("exists");
        assert_eq!(j.id, 2);
        assert_eq!(j.state, JobState::Failed);
        assert_eq!(
            l.states(2).expect("states"),
            vec![
                ElementState::Completed,
                ElementState::Failed(3),
                ElementState::Cancelled("why".into())
            ]
        );
        assert_eq!(l.jobs().expect("jobs").len(), 2);
        assert_eq!(l.cluster_job(2).expect("cluster job"), None);
        let arrays = |ids: &[(&str, usize)]| ClusterJob {
            arrays: ids
                .iter()
                .map(|(id, offset)| Submitted {
                    array_id: crate::domain::SlurmJobId(id.to_string()),
                    offset: *offset,
                })
                .collect(),
            remote_dir: PathBuf::from("/r/2"),
        };
        l.record_cluster_job(2, &arrays(&[("41", 0), ("42", 10001)]), "")
            .expect("record");
        l.record_cluster_job(2, &arrays(&[("57", 0)]), "")
            .expect("retry");
        let (p, host) = l.cluster_job(2).expect("cluster job").expect("recorded");
        assert_eq!(p, arrays(&[("41", 0), ("42", 10001), ("57", 0)]));
        assert_eq!(host, "");
    }

    #[test]
    fn schema_2_ledgers_are_migrated_with_their_dependencies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                    backend TEXT NOT NULL, items INTEGER NOT NULL, result_type TEXT NOT NULL,
                    dir TEXT NOT NULL, binary TEXT NOT NULL, state TEXT NOT NULL,
                    created REAL NOT NULL, deps TEXT NOT NULL);
                 CREATE TABLE elements (
                    job INTEGER NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL,
                    exit INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (job, idx));
                 CREATE TABLE slurm_arrays (
                    job INTEGER NOT NULL, array_id TEXT NOT NULL, offset INTEGER NOT NULL,
                    host TEXT NOT NULL, remote_dir TEXT NOT NULL, PRIMARY KEY (job, array_id));
                 INSERT INTO jobs VALUES (1, 'a', 'map', 'local', 3, 'i64', '/j/1', '/b', 'COMPLETED', 1.0, '');
                 INSERT INTO jobs VALUES (2, 'a', 'map', 'local', 3, 'i64', '/j/2', '/b', 'COMPLETED', 2.0, '');
                 INSERT INTO jobs VALUES (3, 'b', 'map', 'slurm', 3, 'i64', '/j/3', '/b', 'FAILED', 3.0, 'aftercorr:a');
                 INSERT INTO jobs VALUES (4, 'c', 'run', 'local', 1, 'i64', '/j/4', '/b', 'PENDING', 4.0, 'afterok:a,afterany:b');
                 PRAGMA user_version = 2;",
            )
            .expect("schema 2");
        }
        let l = Ledger::open(&path).expect("migrates");
        let jobs = l.jobs().expect("jobs");
        assert_eq!(jobs.len(), 4);
        assert_eq!(jobs[2].backend, Backend::Slurm);
        assert_eq!(jobs[2].state, JobState::Failed);
        assert_eq!(
            jobs[2].deps,
            vec![Dependency {
                job: 2,
                name: "a".into(),
                kind: DependencyKind::Aftercorr
            }]
        );
        assert_eq!(
            jobs[3]
                .deps
                .iter()
                .map(|d| (d.job, d.kind))
                .collect::<Vec<_>>(),
            vec![(2, DependencyKind::Afterok), (3, DependencyKind::Afterany)]
        );
        drop(l);
        // Opening again does not migrate twice.
        assert_eq!(
            Ledger::open(&path)
                .expect("reopens")
                .jobs()
                .expect("jobs")
                .len(),
            4
        );
    }

    #[test]
    fn an_unknown_stored_state_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let l = Ledger::open(&path).expect("open");
        l.insert(&record(1, "a")).expect("insert");
        l.conn
            .execute("UPDATE jobs SET state = 'REQUEUED' WHERE id = 1", [])
            .expect("update");
        assert!(l.jobs().is_err());
    }
}
