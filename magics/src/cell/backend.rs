//! Which executor runs a job: the embedded local one, or Slurm (on this
//! login node or over SSH). Submitting, live states, cancelling and
//! reattaching to a Slurm job of an earlier kernel all go through here, so
//! the magics never care where a job runs.

use std::path::PathBuf;

use super::{MagicError, Magics};
use crate::cluster::Cluster;
use crate::executor::JobSpec;
use crate::executor::slurm::sbatch::SbatchOptions;
use crate::executor::slurm::{Placement, SlurmExecutor, Submitted};
use crate::ledger::JobRecord;
use crate::state::State;

impl Magics {
    /// The Slurm executor for the current `--host`, connecting on first use.
    pub(super) fn slurm(&mut self) -> Result<&mut SlurmExecutor, MagicError> {
        if self.slurm.is_none() {
            let mut cluster =
                Cluster::connect(self.config.host.as_deref(), self.config.identity.as_deref())
                    .map_err(crate::executor::slurm::SlurmError::from)?;
            let root = if cluster.is_remote() {
                match &self.config.remote_workdir {
                    Some(d) if d.starts_with('/') => PathBuf::from(d),
                    other => {
                        let home = cluster
                            .home()
                            .map_err(crate::executor::slurm::SlurmError::from)?;
                        home.join(
                            other
                                .clone()
                                .unwrap_or_else(|| self.default_remote_workdir()),
                        )
                    }
                }
            } else {
                self.sluice_dir()
            };
            self.slurm = Some(SlurmExecutor::start(cluster, root)?);
        }
        match self.slurm.as_mut() {
            Some(s) => Ok(s),
            None => Err(MagicError::Submit(
                "the Slurm executor could not start".into(),
            )),
        }
    }

    /// `.sluice-remote/<this machine>-<hash of the workdir>` under the
    /// remote home: one directory per notebook directory and laptop, so
    /// job ids of different notebooks never meet.
    fn default_remote_workdir(&self) -> String {
        use std::hash::{Hash, Hasher};
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        host.hash(&mut h);
        self.config.workdir.hash(&mut h);
        let safe: String = host
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!(".sluice-remote/{safe}-{:08x}", h.finish() as u32)
    }

    /// The host string the ledger records for Slurm jobs ("" on the login node).
    fn host_key(&self) -> String {
        self.config.host.clone().unwrap_or_default()
    }

    /// Hands a recorded job to its executor.
    pub(super) fn submit_to_backend(
        &mut self,
        record: &JobRecord,
        spec: JobSpec,
    ) -> Result<(), MagicError> {
        self.check_cross_backend(record, &spec)?;
        if record.backend != "slurm" {
            return self
                .executor()
                .submit(spec)
                .map_err(|e| MagicError::Submit(e.to_string()));
        }
        let p = &spec.placement;
        let options = SbatchOptions {
            job_name: p.job_name.clone().unwrap_or_else(|| record.name.clone()),
            cpus: spec.cpus,
            mem_mb: spec.mem_mb,
            time_limit: spec.time_limit,
            partition: p
                .partition
                .clone()
                .or_else(|| self.config.partition.clone()),
            account: p.account.clone().or_else(|| self.config.account.clone()),
            qos: p.qos.clone(),
            gres: p.gres.clone(),
        };
        let chunk = super::jobs::read_number(&record.dir.join("chunk")).unwrap_or(1);
        let host = self.host_key();
        let slurm = self.slurm()?;
        let place = Placement {
            local_dir: record.dir.clone(),
            remote_dir: slurm.remote_dir(record.id),
            items: record.items,
            chunk,
        };
        let remote_dir = place.remote_dir.clone();
        let submitted = slurm.submit(&spec, &options, place)?;
        let arrays: Vec<(String, usize)> = submitted
            .into_iter()
            .map(|s| (s.array_id, s.offset))
            .collect();
        self.ledger()?
            .record_slurm(record.id, &arrays, &host, &remote_dir)?;
        Ok(())
    }

    /// A job can wait only for jobs of its own executor, and a job on a
    /// cluster over SSH can read only results that are on that cluster.
    fn check_cross_backend(
        &mut self,
        record: &JobRecord,
        spec: &JobSpec,
    ) -> Result<(), MagicError> {
        for d in &spec.deps {
            let up = match self.jobs.values().find(|j| j.id == d.job) {
                Some(j) => j.clone(),
                None => match self.ledger()?.jobs()?.into_iter().find(|j| j.id == d.job) {
                    Some(j) => j,
                    None => continue,
                },
            };
            if up.backend == record.backend {
                continue;
            }
            let running = self
                .live_states(up.id)
                .is_some_and(|s| s.iter().any(|s| !s.is_terminal()));
            if running || (record.backend == "slurm" && self.config.host.is_some()) {
                return Err(MagicError::Dependency(format!(
                    "`{}` depends on `{}`, which runs on the {} backend; a job can only wait for (and, over SSH, read) jobs of its own backend: run `{}` with --backend {} too",
                    record.name, up.name, up.backend, record.name, up.backend
                )));
            }
        }
        Ok(())
    }

    /// States from whichever executor watches the job now.
    pub(super) fn live_states(&self, id: u64) -> Option<Vec<State>> {
        if let Some(s) = self.executor.as_ref().and_then(|e| e.snapshot(id)) {
            return Some(s.states);
        }
        self.slurm
            .as_ref()
            .and_then(|s| s.snapshot(id))
            .map(|s| s.states)
    }

    /// A Slurm job of an earlier kernel that had not finished: watch it
    /// again (its arrays are in the ledger). False if it is not one.
    pub(super) fn reattach(
        &mut self,
        job: &JobRecord,
        recorded: &[State],
    ) -> Result<bool, MagicError> {
        if job.backend != "slurm" {
            return Ok(false);
        }
        let Some((place, p)) = self.placement_of(job)? else {
            return Ok(false);
        };
        if p.host != self.host_key() {
            return Err(MagicError::Cluster(
                crate::executor::slurm::SlurmError::Incompatible(format!(
                    "`{}` runs on {}, but this kernel is set to {}: `%slurm config --host {}` to watch it",
                    job.name,
                    if p.host.is_empty() {
                        "the login node"
                    } else {
                        &p.host
                    },
                    self.config.host.as_deref().unwrap_or("the login node"),
                    if p.host.is_empty() { "none" } else { &p.host },
                )),
            ));
        }
        let slices = p
            .arrays
            .into_iter()
            .map(|(array_id, offset)| Submitted { array_id, offset })
            .collect();
        self.slurm()?.reattach(job.id, place, slices, recorded)?;
        Ok(true)
    }

    /// Cancels a job wherever it runs.
    pub(super) fn cancel_job(&mut self, job: &JobRecord) -> Result<(), MagicError> {
        if job.backend == "slurm" {
            if !self.slurm.as_ref().is_some_and(|s| s.knows(job.id)) {
                let recorded = self.ledger()?.states(job.id)?;
                self.reattach(job, &recorded)?;
            }
            self.slurm()?.cancel(job.id)?;
        } else {
            self.executor().cancel(job.id);
        }
        Ok(())
    }

    /// Pending reasons and cluster trouble, for progress lines.
    pub(super) fn backend_note(&self, id: u64) -> String {
        self.slurm.as_ref().map(|s| s.note(id)).unwrap_or_default()
    }

    /// Where a Slurm job's files are (from the ledger).
    fn placement_of(
        &mut self,
        job: &JobRecord,
    ) -> Result<Option<(Placement, crate::ledger::SlurmPlacement)>, MagicError> {
        let Some(p) = self.ledger()?.slurm(job.id)? else {
            return Ok(None);
        };
        let chunk = super::jobs::read_number(&job.dir.join("chunk")).unwrap_or(1);
        Ok(Some((
            Placement {
                local_dir: job.dir.clone(),
                remote_dir: p.remote_dir.clone(),
                items: job.items,
                chunk,
            },
            p,
        )))
    }

    /// Brings a Slurm job's files over from the cluster (no-op otherwise).
    pub(super) fn fetch_job_files(&mut self, job: &JobRecord) -> Result<(), MagicError> {
        if job.backend != "slurm" || self.config.host.is_none() {
            return Ok(());
        }
        if let Some((place, _)) = self.placement_of(job)? {
            self.slurm()?.fetch(&place)?;
        }
        Ok(())
    }

    /// Removes status files of items about to be retried, wherever they are.
    pub(super) fn forget_status(
        &mut self,
        job: &JobRecord,
        items: &[usize],
    ) -> Result<(), MagicError> {
        for i in items {
            let _ = std::fs::remove_file(job.dir.join("status").join(format!("{i}.json")));
        }
        if job.backend == "slurm"
            && let Some((place, _)) = self.placement_of(job)?
        {
            self.slurm()?.forget_status(&place, items)?;
        }
        Ok(())
    }

    /// Items per element for `--chunk auto` on this backend.
    pub(super) fn auto_chunk(&mut self, backend: &str, count: usize) -> Result<usize, MagicError> {
        if backend == "slurm" {
            Ok(self.slurm()?.auto_chunk(count))
        } else {
            Ok(super::map::local_auto_chunk(count))
        }
    }
}
