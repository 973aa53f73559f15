//! serde_json in the notebook's session, added when a notebook first needs
//! it rather than at start-up: every evcxr compile pays for each crate in
//! the session, so notebooks that never use a magic stay as fast as plain
//! evcxr. Adding a crate makes evcxr drop variables whose types the notebook
//! defined, so it is added right after the user's own first `:dep` cell
//! (which already did that) or, failing that, at the first magic that needs
//! it — and then the output says which variables went.

use super::Magics;
use crate::error::MagicError;
use crate::render;
use crate::session::{Display, Session};

/// The crate the magics need in the session, and its version requirement.
pub const SERDE_JSON: (&str, &str) = ("serde_json", "\"1\"");

impl Magics {
    /// True once serde_json is in the session.
    pub fn serde_json_ready(&self) -> bool {
        self.serde_json
    }

    /// The `:dep` line the kernel appends to the user's first `:dep` cell,
    /// so serde_json joins in the same build (None once it is there, or when
    /// the cell adds serde_json itself).
    pub fn serde_json_dep_for(&self, cell: &str) -> Option<String> {
        let own = cell.lines().any(|l| {
            l.trim_start()
                .strip_prefix(":dep")
                .is_some_and(|rest| rest.trim_start().starts_with(SERDE_JSON.0))
        });
        (!self.serde_json && !own).then(|| format!(":dep {} = {}", SERDE_JSON.0, SERDE_JSON.1))
    }

    /// serde_json joined the session with a `:dep` cell (the user's, or the
    /// line [`Magics::serde_json_dep_for`] gave).
    pub fn serde_json_added(&mut self) {
        self.serde_json = true;
    }

    /// Adds serde_json to the session if it is not there yet; says which
    /// variables (if any) evcxr dropped while doing so.
    pub fn ensure_serde_json(
        &mut self,
        session: &mut dyn Session,
        display: &mut dyn Display,
    ) -> Result<(), MagicError> {
        if self.serde_json {
            return Ok(());
        }
        let before = session.variables();
        // evcxr's compile cache is shared by every kernel of the user; two
        // kernels adding crates at once can trip over it: try again.
        let mut attempt = 0;
        while let Err(source) = crate::phase::timed(":dep serde_json (session)", || {
            session.add_dependency(SERDE_JSON.0, SERDE_JSON.1)
        }) {
            attempt += 1;
            if attempt == 3 {
                return Err(MagicError::Bind {
                    what: "cannot add serde_json to the session (values travel to and from tasks as JSON)".into(),
                    source,
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        self.serde_json = true;
        let after = session.variables();
        let lost: Vec<String> = before
            .iter()
            .filter(|(n, _)| !after.iter().any(|(m, _)| m == n))
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        if !lost.is_empty() {
            display.show(
                &render::pre(&format!(
                    "sluice added serde_json to this session (values travel to and from tasks as JSON). Adding a crate makes evcxr drop variables of types defined in the notebook: {}. Re-run the cells that define them; a `:dep` cell at the top of the notebook avoids this.",
                    lost.join(", ")
                )),
                None,
            );
        }
        Ok(())
    }
}
