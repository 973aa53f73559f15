//! evcxr's compile cache (`:cache`), switched on right before the session's
//! first `:dep`. The cache only pays off for dependencies (compiled once per
//! machine instead of once per session), while its rustc wrapper costs
//! every cell 10-20 ms; a notebook without `:dep` never pays it. Turning it
//! on later would make cargo rebuild every dependency, so it goes on
//! before the first one — the user's or the magics' serde_json.
//! It also remembers whether the session has dependencies at all (items-only
//! cells only wait for the next build while it has none, see
//! `deferred_items.rs`).

use evcxr::CommandContext;

/// Size of the cache in MB (`SLUICE_CELL_CACHE`, 0 = off), and whether it
/// is on in this session.
pub(super) struct CompileCache {
    mb: u64,
    on: bool,
    dependencies: bool,
}

impl CompileCache {
    /// From `SLUICE_CELL_CACHE` (default 500 MB); off in a kept session
    /// (`kept_session.rs`), whose own build directory already keeps the
    /// dependencies — and where evcxr's cache would do harm: it restores a
    /// crate's dep-info file as another directory wrote it, naming build
    /// script outputs (serde's `out/private.rs`) that do not exist here, so
    /// cargo found serde, serde_core and serde_json stale on every cell.
    pub(super) fn from_env() -> CompileCache {
        let kept = crate::kept_session::current().is_some();
        CompileCache {
            mb: std::env::var("SLUICE_CELL_CACHE")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(if kept { 0 } else { 500 }),
            on: false,
            dependencies: false,
        }
    }

    /// True once a `:dep` or `extern crate` was evaluated in this session.
    pub(super) fn has_dependencies(&self) -> bool {
        self.dependencies
    }

    /// evcxr's `:clear` dropped the session's dependencies (the cache's
    /// setting is evcxr configuration, which `:clear` keeps).
    pub(super) fn cleared(&mut self) {
        self.dependencies = false;
    }

    /// Turns the cache on if `code` adds a dependency and it is not on yet.
    pub(super) fn before(&mut self, ctx: &mut CommandContext, code: &str) {
        if adds_dependency(code) || code.contains("extern crate") {
            self.dependencies = true;
        }
        if self.on || self.mb == 0 || !adds_dependency(code) {
            return;
        }
        match ctx.execute(&format!(":cache {}", self.mb)) {
            Ok(_) => self.on = true,
            Err(e) => {
                tracing::warn!("cannot enable evcxr's compile cache: {e}");
                // Do not retry on every cell.
                self.mb = 0;
            }
        }
    }
}

/// True if a line of the cell is an evcxr `:dep` command.
fn adds_dependency(code: &str) -> bool {
    code.lines().any(|l| l.trim_start().starts_with(":dep"))
}

#[cfg(test)]
mod tests {
    use super::adds_dependency;

    #[test]
    fn finds_dep_lines() {
        assert!(adds_dependency(":dep serde = \"1\""));
        assert!(adds_dependency(
            "// deps\n  :dep rand = \"0.8\"\nlet x = 1;"
        ));
        assert!(!adds_dependency("let dep = 1;\n:vars"));
    }
}
