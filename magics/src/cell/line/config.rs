//! `%slurm config [--backend B] [--host H] [--identity K] [--partition P]
//! [--account A] [--workdir D] [--remote-workdir R]`: show or change where
//! jobs run; with the Slurm backend, connect at once and say what was found.

use super::super::Magics;
use crate::domain::Backend;
use crate::error::MagicError;
use crate::grammar::ConfigArgs;
use crate::render;
use crate::session::Display;

impl Magics {
    pub(super) fn config(
        &mut self,
        c: ConfigArgs,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        let before = self.ws.config.clone();
        let cfg = &mut self.ws.config;
        if let Some(w) = &c.workdir {
            cfg.workdir = if std::path::Path::new(w).is_absolute() {
                std::path::PathBuf::from(w)
            } else {
                before.workdir.join(w)
            };
        }
        for (value, slot) in [
            (&c.host, &mut cfg.host),
            (&c.identity, &mut cfg.identity),
            (&c.partition, &mut cfg.partition),
            (&c.account, &mut cfg.account),
            (&c.remote_workdir, &mut cfg.remote_workdir),
        ] {
            if let Some(v) = value {
                // `--host none` goes back to the login node.
                *slot = (v != "none" && !v.is_empty()).then(|| v.clone());
            }
        }
        if let Some(on) = c.cache {
            cfg.cache = on;
            // An explicit choice replaces an unusable SLUICE_CACHE.
            if self
                .ws
                .config_problem
                .as_ref()
                .is_some_and(|p| p.variable == "SLUICE_CACHE")
            {
                self.ws.config_problem = None;
            }
        }
        if let Some(b) = c.backend {
            cfg.backend = b;
            // An explicit choice replaces an unusable SLUICE_BACKEND.
            self.ws.config_problem = None;
        }
        if before.workdir != self.ws.config.workdir {
            self.ws.close_ledger();
        }
        let moved = before.host != self.ws.config.host
            || before.identity != self.ws.config.identity
            || before.remote_workdir != self.ws.config.remote_workdir
            || before.workdir != self.ws.config.workdir;
        if moved {
            self.ws.disconnect();
        }
        let mut text = self.ws.config.describe(&self.ws.sluice_dir());
        if let Some(problem) = &self.ws.config_problem {
            text.push_str(&format!(
                "\nnot used: {problem} (jobs are refused until `%slurm config` sets it)"
            ));
        }
        if self.ws.config.backend == Backend::Slurm {
            // Connect now: a wrong host or key is said here, not at the
            // first job. The old settings stay if it fails.
            match self.ws.slurm() {
                Ok(s) => {
                    let i = s.info();
                    text.push_str(&format!(
                        "\ncluster: {} (MaxArraySize {}, {} CPUs); job files on the cluster: {}\nscheduler: {}",
                        s.describe(),
                        i.max_array_size,
                        i.total_cpus,
                        i.root.display(),
                        s.stats_line()
                    ));
                }
                Err(e) => {
                    self.ws.config = before;
                    self.ws.disconnect();
                    self.ws.close_ledger();
                    return Err(e);
                }
            }
        }
        display.show(&render::pre(&text), None);
        Ok(())
    }
}
