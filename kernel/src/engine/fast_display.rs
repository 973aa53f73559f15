//! One compile per expression cell instead of two.
//!
//! evcxr compiles a cell's final expression as `(expr).evcxr_display();`
//! first (for types with rich output) and, when the type has no such
//! method, compiles the whole cell again printing it with `:fmt`'s format
//! (`{:?}`). sluice puts a trait in the session that gives every `Debug`
//! type an `evcxr_display` doing what that second compile would do, so the
//! first compile succeeds. A type's own (inherent) `evcxr_display` still
//! wins: Rust picks inherent methods before trait methods. The trait
//! follows `:fmt`, and steps aside (no impl: evcxr's own path) while `:types`
//! is on or the format does not compile. `SLUICE_FAST_DISPLAY=0` turns it off.
//! The value travels to evcxr as a frame apart from the cell's stdout
//! (`sluice::__runtime`, see `session_api.rs`), so text the cell printed
//! without a newline cannot run into it.

use evcxr::CommandContext;

/// What the session's display trait currently does.
pub(super) struct FastDisplay {
    enabled: bool,
    format: String,
    types: bool,
}

impl FastDisplay {
    /// From `SLUICE_FAST_DISPLAY` (on unless `0`).
    pub(super) fn from_env() -> FastDisplay {
        FastDisplay {
            enabled: std::env::var("SLUICE_FAST_DISPLAY").map_or(true, |v| v.trim() != "0"),
            format: "{:?}".into(),
            types: false,
        }
    }

    /// Defines the trait in the session (warm-up, and after `:clear`),
    /// together with `items` (the kernel's other session items), in one build.
    pub(super) fn install(&self, ctx: &mut CommandContext, items: &str) {
        if !self.enabled {
            if let Err(e) = ctx.execute(items) {
                tracing::warn!("cannot define the session items: {e}");
            }
            return;
        }
        let with_impl = !self.types;
        if with_impl
            && ctx
                .execute(&format!("{items}\n{}", module(Some(&self.format))))
                .is_ok()
        {
            return;
        }
        // The format does not compile, or types are shown: evcxr's path.
        if let Err(e) = ctx.execute(&format!("{items}\n{}", module(None))) {
            tracing::warn!("cannot define the display trait: {e}");
        }
    }

    /// Follows evcxr commands that change how results are shown; after
    /// `:clear` (which drops every item) `items` are defined again too.
    pub(super) fn after_command(&mut self, ctx: &mut CommandContext, code: &str, items: &str) {
        let cleared = code.lines().any(|l| l.trim() == ":clear");
        if !self.enabled {
            if cleared && let Err(e) = ctx.execute(items) {
                tracing::warn!("cannot define the session items: {e}");
            }
            return;
        }
        let mut changed = false;
        for line in code.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix(":fmt") {
                let f = rest.trim();
                self.format = if f.is_empty() {
                    "{:?}".into()
                } else {
                    f.into()
                };
                changed = true;
            } else if line == ":types" {
                self.types = !self.types;
                changed = true;
            } else if line == ":clear" {
                changed = true;
            }
        }
        if changed {
            // Redefining only the trait leaves `items` as they are.
            self.install(ctx, if cleared { items } else { "" });
        }
    }
}

/// The session items: a module with the trait (and, given a format, its
/// blanket impl for `Debug` types) and an anonymous `use` of it.
fn module(format: Option<&str>) -> String {
    let imp = match format {
        Some(f) => format!(
            "impl<T: std::fmt::Debug + ?Sized> SluiceDebugDisplay for T {{ \
fn evcxr_display(&self) {{ use std::io::Write as _; let text = format!({f:?}, self); \
if crate::sluice::__runtime::emit(crate::sluice::__runtime::CONTENT, \"text/plain\", &text, \"\") {{ return; }} \
let stdout = std::io::stdout(); let mut out = stdout.lock(); \
let _ = out.write_all(b\"EVCXR_BEGIN_CONTENT text/plain\\n\"); let _ = out.write_all(text.as_bytes()); \
let _ = out.write_all(b\"\\nEVCXR_END_CONTENT\\n\"); }} }}"
        ),
        None => String::new(),
    };
    // Stepping aside, the trait keeps its name (the `use` stays valid) but
    // not the method, so `evcxr_display` is not found and evcxr falls back.
    let method = if format.is_some() {
        "evcxr_display"
    } else {
        "sluice_display_off"
    };
    format!(
        "mod __sluice_display {{ pub trait SluiceDebugDisplay {{ fn {method}(&self); }} {imp} }}\n\
use __sluice_display::SluiceDebugDisplay as _;"
    )
}

#[cfg(test)]
mod tests {
    use super::module;

    #[test]
    fn the_format_is_a_rust_literal() {
        let m = module(Some("{:#?}"));
        assert!(m.contains("format!(\"{:#?}\", self)"));
        let m = module(Some("x\"y"));
        assert!(m.contains("format!(\"x\\\"y\", self)"));
        assert!(!module(None).contains("impl<T"));
        assert!(!module(None).contains("evcxr_display"));
    }
}
