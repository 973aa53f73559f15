//! [`LocalRunner`]: the login node is this machine. Commands run as child
//! processes (never through a shell) and the job directory is the
//! cluster's, so nothing is ever copied.

use std::path::{Path, PathBuf};

use super::{ClusterError, CommandRunner, Output, io};

/// Runs cluster commands on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalRunner;

impl CommandRunner for LocalRunner {
    fn describe(&self) -> String {
        "this machine".into()
    }

    fn is_remote(&self) -> bool {
        false
    }

    fn connects(&self) -> u32 {
        0
    }

    fn run(&mut self, argv: &[String]) -> Result<Output, ClusterError> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| ClusterError::Refused("empty command".into()))?;
        let out = std::process::Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(io(format!("running {prog}")))?;
        Ok(Output {
            status: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn home(&mut self) -> Result<PathBuf, ClusterError> {
        Ok(std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/")))
    }

    fn mkdirs(&mut self, dir: &Path) -> Result<(), ClusterError> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))
    }

    fn exists(&mut self, path: &Path) -> Result<bool, ClusterError> {
        Ok(path.exists())
    }

    fn write(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), ClusterError> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(path, bytes).map_err(io(format!("writing {}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(io(format!("setting the mode of {}", path.display())))
    }

    fn remove(&mut self, path: &Path) -> Result<(), ClusterError> {
        let _ = std::fs::remove_file(path);
        Ok(())
    }

    fn fetch(
        &mut self,
        dir: &Path,
        _subdirs: &[&str],
        into: &Path,
        since: Option<u64>,
    ) -> Result<Option<u64>, ClusterError> {
        if dir == into {
            Ok(since)
        } else {
            Err(ClusterError::Refused(format!(
                "job directory {} is not {}",
                dir.display(),
                into.display()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_here_and_never_copies() {
        let mut r = LocalRunner;
        let out = r.run(&["sh".into(), "-c".into(), "echo hi; exit 3".into()]);
        let out = out.expect("sh runs");
        assert_eq!((out.status, out.text().trim()), (3, "hi"));
        assert!(r.run(&[]).is_err());
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = tmp.path().join("x");
        r.upload(&f, &f, 0o644).expect("same path: nothing to do");
        assert_eq!(
            r.fetch(tmp.path(), &["status"], tmp.path(), Some(5)).ok(),
            Some(Some(5))
        );
        assert!(
            r.fetch(tmp.path(), &["status"], Path::new("/elsewhere"), None)
                .is_err()
        );
    }
}
