//! Staging a job on the cluster before sbatch: the task binary (copied
//! once per content hash, then checked to run there) and the job
//! directory's input files. On the login node the files are already where
//! the cluster reads them; only the directories are made.

use std::path::{Path, PathBuf};

use super::tracked::Placement;
use super::{SlurmError, SlurmExecutor, lock};
use crate::jobdir::JobDir;

impl SlurmExecutor {
    /// Copies the task binary to the cluster once (by content hash) and
    /// checks that the cluster can run it.
    pub(super) fn stage_binary(&mut self, local: &Path) -> Result<PathBuf, SlurmError> {
        let mut c = lock(&self.commands)?;
        if !c.is_remote() {
            return Ok(local.to_path_buf());
        }
        let name = local
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "task".into());
        let remote = self.info.root.join("bin").join(name);
        if self.staged.contains(&remote) {
            return Ok(remote);
        }
        if !c.exists(&remote)? {
            c.upload(local, &remote, 0o755)?;
        }
        let check = c.run(&[remote.display().to_string(), "--describe".into()])?;
        if check.status != 0 {
            return Err(SlurmError::Incompatible(format!(
                "the cluster cannot run the task built here ({}): {}. Build on a machine like the cluster's, or run the kernel on its login node",
                remote.display(),
                check.stderr.lines().next().unwrap_or("").trim()
            )));
        }
        drop(c);
        self.staged.push(remote.clone());
        Ok(remote)
    }

    /// Copies the job directory's input files to the cluster.
    pub(super) fn stage_job_files(&self, place: &Placement) -> Result<(), SlurmError> {
        let mut c = lock(&self.commands)?;
        for sub in JobDir::OUTPUTS.into_iter().chain([JobDir::INPUTS]) {
            c.mkdirs(&place.remote_dir.path().join(sub))?;
        }
        if !c.is_remote() {
            return Ok(());
        }
        for sub in ["", JobDir::INPUTS] {
            let dir = place.local_dir.path().join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .flatten()
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .collect();
            files.sort_by_key(|e| e.file_name());
            for e in files {
                let remote = place.remote_dir.path().join(sub).join(e.file_name());
                c.upload(&e.path(), &remote, 0o644)?;
            }
        }
        Ok(())
    }
}
