//! serde_json and ron in the notebook's session (values cross as JSON, or
//! RON where JSON cannot hold them: `sluice_runtime::value`), added when a
//! notebook first needs
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

/// The crates the magics need in the session, as `(NAME, Cargo.toml value)`:
/// the same versions and features as the task runtime's, so a value reads
/// the same on both sides (`magics/runtime/Cargo.toml`).
pub const SESSION_DEPS: [(&str, &str); 2] = [
    (
        "serde_json",
        "{ version = \"1\", features = [\"float_roundtrip\"] }",
    ),
    ("ron", "{ version = \"0.12\", features = [\"integer128\"] }"),
];

impl Magics {
    /// True once serde_json is in the session.
    pub fn serde_json_ready(&self) -> bool {
        self.serde_json
    }

    /// The `:dep` lines the kernel appends to the user's first `:dep` cell,
    /// so serde_json and ron join in the same build (None once they are
    /// there; a crate the cell adds itself keeps the cell's line).
    pub fn serde_json_dep_for(&self, cell: &str) -> Option<String> {
        if self.serde_json {
            return None;
        }
        let own = |name: &str| {
            cell.lines().any(|l| {
                l.trim_start()
                    .strip_prefix(":dep")
                    .is_some_and(|rest| rest.trim_start().starts_with(name))
            })
        };
        let lines: Vec<String> = SESSION_DEPS
            .iter()
            .filter(|(name, _)| !own(name))
            .map(|(name, spec)| format!(":dep {name} = {spec}"))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
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
        while let Err(source) = crate::phase::timed(":dep serde_json, ron (session)", || {
            session.add_dependencies(&SESSION_DEPS)
        }) {
            attempt += 1;
            if attempt == 3 {
                return Err(MagicError::Bind {
                    what: "cannot add serde_json and ron to the session (values travel to and from tasks as JSON, or RON where JSON cannot hold them)".into(),
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
                &render::message(&format!(
                    "sluice added serde_json and ron to this session (values travel to and from tasks as JSON, or RON where JSON cannot hold them). Adding a crate makes evcxr drop variables of types defined in the notebook: {}. Re-run the cells that define them; a `:dep` cell at the top of the notebook avoids this.",
                    lost.join(", ")
                )),
                None,
            );
        }
        Ok(())
    }
}
