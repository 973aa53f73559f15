//! Generating the cargo crate of a task: the notebook's items, the cell's
//! body verbatim at a known line (so compile errors map back to the cell),
//! and a `main` that hands the body to the runtime. No IO.

use crate::notebook::Origin;

/// What kind of task, with what it needs.
#[derive(Debug, Clone)]
pub enum TaskKind {
    /// A map: the body is items ending in `fn NAME(item: T) -> R`.
    MapFn {
        /// The task fn's name.
        fn_name: String,
    },
    /// A map whose body is a closure expression.
    MapClosure {
        /// Notebook variables the closure uses: `(name, Rust type)`, loaded
        /// from the job directory when the task starts.
        captures: Vec<(String, String)>,
        /// Code that opens the closure at the end of the line before the
        /// body, and closes it on the line after ("" for a body that is a
        /// closure): a sweep's `|(lr, seed,): (f64, i64,)| {` … `}`, kept
        /// off the body's own lines so its columns are the cell's.
        wrap: (String, String),
    },
    /// A single job; the body is a block, with upstream results loaded first.
    Run {
        /// `(name, Rust type of the Vec, job directory)` of each job used.
        inputs: Vec<(String, String, String)>,
        /// Notebook variables the body uses: `(name, Rust type)`.
        captures: Vec<(String, String)>,
        /// `-> NAME: TYPE`: the type the body must have (checked when the
        /// task compiles, so a wrong one is an error on the cell's lines).
        result_type: Option<String>,
    },
}

/// `let NAME: TYPE = <load the capture>;` for each capture, on one line.
fn capture_lets(captures: &[(String, String)]) -> String {
    captures
        .iter()
        .map(|(name, ty)| format!(" let {name}: {ty} = sluice_runtime::load_capture({name:?});"))
        .collect()
}

/// Where one of the notebook's items is in `main.rs`, and where it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPlace {
    /// 1-based line of main.rs where the item's first line is.
    pub first_line: usize,
    /// Number of lines of the item.
    pub lines: usize,
    /// The cell it came from and its first line there.
    pub origin: Origin,
}

/// A generated crate.
#[derive(Debug, Clone)]
pub struct TaskSource {
    /// Cargo.toml text.
    pub cargo_toml: String,
    /// src/main.rs text.
    pub main_rs: String,
    /// 1-based line of main.rs where the body's first line is.
    pub body_line: usize,
    /// Number of lines in the body.
    pub body_lines: usize,
    /// The notebook's items in main.rs, in file order.
    pub items: Vec<ItemPlace>,
    /// Content hash: an unchanged cell has the same hash and is not rebuilt.
    /// Items are hashed by their text, not by the cells they came from: a
    /// cell run again unchanged does not rebuild its tasks.
    pub hash: String,
}

impl TaskSource {
    /// The job directory's `item_places` file for a job of this task: a
    /// line `FIRST LINES CELL LINE` per item (its lines in main.rs, its
    /// cell's execution count and first line there), read by the task
    /// runtime to name panics in items `cell[N]:L:C`. Kept out of the
    /// binary, so a rebuilt cell's new count needs no rebuild.
    pub fn item_places(&self) -> String {
        self.items
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {}\n",
                    p.first_line, p.lines, p.origin.cell, p.origin.line
                )
            })
            .collect()
    }
}

/// Version of the runtime embedded in task crates (part of every hash).
pub const RUNTIME_SOURCE: &str = include_str!("../runtime/src/lib.rs");

/// The runtime's manifest (part of every hash too: its features are the
/// task's).
const RUNTIME_MANIFEST: &str = include_str!("../runtime/Cargo.toml");

/// The folder, under the task build root, that holds this sluice's task
/// runtime crate (`runtime-<BLAKE3 of its manifest and source, 16 hex>`):
/// kernels of different sluice versions share the build root on a machine,
/// and must never build against each other's runtime.
pub fn runtime_dir_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let mut hasher = blake3::Hasher::new();
        for part in [RUNTIME_MANIFEST, RUNTIME_SOURCE] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        format!("runtime-{}", &hasher.finalize().to_hex()[..16])
    })
}

/// The code before and after the body in `main.rs`, for each kind of task.
fn wrapping(kind: &TaskKind, body: &str) -> (String, String) {
    match kind {
        TaskKind::MapFn { fn_name } => (
            "// ---- the cell ----\n".to_string(),
            format!(
                "\nfn main() {{ sluice_runtime::from_cell(SLUICE_CELL_BODY);\n    sluice_runtime::run_map({fn_name});\n}}\n"
            ),
        ),
        TaskKind::MapClosure {
            captures,
            wrap: (open, close),
        } if captures.is_empty() => (
            format!(
                "fn main() {{ sluice_runtime::from_cell(SLUICE_CELL_BODY);\n    let __sluice_task = {open}\n"
            ),
            format!("\n{close}\n    ;\n    sluice_runtime::run_map(__sluice_task);\n}}\n"),
        ),
        TaskKind::MapClosure {
            captures,
            wrap: (open, close),
        } => {
            // The captures are loaded only when the task runs (not for
            // `--describe`), and moved into the closure.
            let opened = if open.is_empty() { body } else { open.as_str() };
            let mover = if opened.trim_start().starts_with("move") {
                ""
            } else {
                "move"
            };
            let head = [mover, open.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            (
                format!(
                    "fn main() {{ sluice_runtime::from_cell(SLUICE_CELL_BODY);\n    sluice_runtime::run_map_with(|| {{{} {head}\n",
                    capture_lets(captures)
                ),
                format!("\n{close}\n    }});\n}}\n"),
            )
        }
        TaskKind::Run {
            inputs,
            captures,
            result_type,
        } => {
            let ret = result_type
                .as_deref()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default();
            let mut pre = format!(
                "fn main() {{ sluice_runtime::from_cell(SLUICE_CELL_BODY);\n    sluice_runtime::run_single(||{ret} {{{}\n",
                capture_lets(captures)
            );
            // By name: the job directories are in the job's `upstream`
            // file, so the binary (its hash) does not depend on them.
            for (name, ty, _) in inputs {
                pre.push_str(&format!(
                    "        let {name}: Vec<{ty}> = sluice_runtime::load_input({name:?});\n"
                ));
            }
            // One line: the body starts on the next.
            let pre = pre.replace("\n        let", " let");
            (pre, "\n    });\n}\n".to_string())
        }
    }
}

/// Generates the crate for `body` with the notebook's `items` (their text
/// and origin, [`crate::notebook::Notebook::items`]) and `deps`. Each item
/// starts on a line of its own and keeps its lines and columns.
pub fn generate(
    kind: &TaskKind,
    body: &str,
    items: &[(&str, &Origin)],
    deps: &[(String, String)],
) -> TaskSource {
    let mut main = String::new();
    main.push_str("#![allow(unused_imports, dead_code, unused_variables, unused_mut, non_snake_case, unused_must_use)]\n");
    main.push_str("// ---- items defined in the notebook ----\n");
    let mut places = Vec::with_capacity(items.len());
    for (text, origin) in items {
        places.push(ItemPlace {
            first_line: main.lines().count() + 1,
            lines: text.lines().count().max(1),
            origin: (*origin).clone(),
        });
        main.push_str(text);
        main.push('\n');
    }
    let (before, after) = wrapping(kind, body);
    main.push_str(&before);
    let body_line = main.lines().count() + 1;
    main.push_str(body);
    main.push_str(&after);
    let body_lines = body.lines().count().max(1);
    // After everything: the body's place in this file, for panic locations.
    main.push_str(&format!(
        "\n/// Where the cell's body is in this file (first line, lines).\nconst SLUICE_CELL_BODY: (u32, u32) = ({body_line}, {body_lines});\n"
    ));

    let mut dep_lines: Vec<(String, String)> = vec![
        ("serde".into(), "\"1\"".into()),
        // Floats read back bit for bit (sluice_runtime::value); the
        // session has the same (cell/serde_dep.rs).
        (
            "serde_json".into(),
            "{ version = \"1\", features = [\"float_roundtrip\"] }".into(),
        ),
    ];
    for (n, v) in deps {
        dep_lines.retain(|(m, _)| m != n);
        dep_lines.push((n.clone(), v.clone()));
    }
    // BLAKE3 over length-prefixed parts: a fixed definition, so the key of
    // a built task is the same on every toolchain.
    let mut hasher = blake3::Hasher::new();
    let deps_text: Vec<String> = dep_lines
        .iter()
        .map(|(n, v)| format!("{n} = {v}"))
        .collect();
    for part in [
        RUNTIME_SOURCE,
        RUNTIME_MANIFEST,
        main.as_str(),
        deps_text.join("\n").as_str(),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize().to_hex()[..16].to_string();
    let mut toml = format!(
        "[package]\nname = \"sluice-task-{hash}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nsluice-runtime = {{ path = \"../../{runtime}\" }}\n",
        runtime = runtime_dir_name()
    );
    for (n, v) in &dep_lines {
        toml.push_str(&format!("{n} = {v}\n"));
    }
    toml.push_str(
        "\n[profile.release]\nopt-level = 3\ndebug = false\nincremental = false\n\n[workspace]\n",
    );
    TaskSource {
        cargo_toml: toml,
        main_rs: main,
        body_line,
        body_lines: body.lines().count().max(1),
        items: places,
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sits_at_body_line() {
        let body = "fn sq(x: i32) -> i32 {\n    x * x\n}";
        let t = generate(
            &TaskKind::MapFn {
                fn_name: "sq".into(),
            },
            body,
            &[],
            &[],
        );
        let lines: Vec<&str> = t.main_rs.lines().collect();
        assert_eq!(lines[t.body_line - 1], "fn sq(x: i32) -> i32 {");
        assert!(t.main_rs.contains("run_map(sq)"));
        assert!(
            t.cargo_toml
                .contains("serde_json = { version = \"1\", features = [\"float_roundtrip\"] }"),
            "{}",
            t.cargo_toml
        );
    }

    #[test]
    fn run_body_line_and_inputs() {
        let kind = TaskKind::Run {
            inputs: vec![("parts".into(), "i64".into(), "/j/1".into())],
            captures: vec![("scale".into(), "f64".into())],
            result_type: Some("i64".into()),
        };
        let t = generate(&kind, "parts.iter().sum::<i64>()", &[], &[]);
        assert!(
            t.main_rs.contains("run_single(|| -> i64 {"),
            "{}",
            t.main_rs
        );
        let lines: Vec<&str> = t.main_rs.lines().collect();
        assert_eq!(lines[t.body_line - 1], "parts.iter().sum::<i64>()");
        assert!(
            t.main_rs
                .contains("let parts: Vec<i64> = sluice_runtime::load_input(\"parts\");")
        );
        // The upstream job's directory is not in the task: the same cell
        // reading another job of the same name builds the same binary.
        let other = TaskKind::Run {
            inputs: vec![("parts".into(), "i64".into(), "/j/2".into())],
            captures: vec![("scale".into(), "f64".into())],
            result_type: Some("i64".into()),
        };
        assert_eq!(
            generate(&other, "parts.iter().sum::<i64>()", &[], &[]).hash,
            t.hash
        );
        assert!(
            t.main_rs
                .contains("let scale: f64 = sluice_runtime::load_capture(\"scale\");")
        );
    }

    #[test]
    fn closure_captures_are_moved_in_and_keep_the_body_line() {
        let kind = TaskKind::MapClosure {
            captures: vec![("epochs".into(), "i64".into())],
            wrap: Default::default(),
        };
        let t = generate(&kind, "|x: i64| x * epochs", &[], &[]);
        let lines: Vec<&str> = t.main_rs.lines().collect();
        assert_eq!(lines[t.body_line - 1], "|x: i64| x * epochs");
        assert!(lines[t.body_line - 2].ends_with("load_capture(\"epochs\"); move"));
        assert!(t.main_rs.contains("run_map_with("));
    }

    #[test]
    fn a_sweep_body_keeps_its_own_lines_and_columns() {
        for captures in [vec![], vec![("epochs".to_string(), "i64".to_string())]] {
            let kind = TaskKind::MapClosure {
                captures,
                wrap: ("|(lr, seed,): (f64, i64,)| {".into(), "}".into()),
            };
            let t = generate(&kind, "train(lr, seed)", &[], &[]);
            let lines: Vec<&str> = t.main_rs.lines().collect();
            assert_eq!(lines[t.body_line - 1], "train(lr, seed)");
            assert!(lines[t.body_line - 2].ends_with("|(lr, seed,): (f64, i64,)| {"));
            assert_eq!(lines[t.body_line], "}");
        }
    }

    #[test]
    fn same_input_same_hash_and_deps_override() {
        let k = TaskKind::MapClosure {
            captures: vec![],
            wrap: Default::default(),
        };
        let a = generate(&k, "|x: i32| x", &[], &[]);
        let b = generate(&k, "|x: i32| x", &[], &[]);
        let c = generate(&k, "|x: i32| x + 1", &[], &[]);
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        let d = generate(
            &k,
            "|x: i32| x",
            &[],
            &[(
                "serde".into(),
                "{ version = \"1\", features = [\"derive\"] }".into(),
            )],
        );
        assert_eq!(d.cargo_toml.matches("serde =").count(), 1);
        assert!(d.cargo_toml.contains("derive"));
    }

    #[test]
    fn items_keep_their_lines_and_are_hashed_by_text() {
        let nb = |count: usize| {
            let mut nb = crate::notebook::Notebook::default();
            nb.record(count, "#[derive(Debug)]\nstruct P {\n    x: u32,\n}\nlet a = 1; fn f() -> u32 {\n    2\n}");
            nb.record(count + 1, "macro_rules! m {\n    () => { 3 };\n}");
            nb
        };
        let kind = TaskKind::MapFn {
            fn_name: "g".into(),
        };
        let body = "fn g(x: u32) -> u32 { f() + x }";
        let (a, b) = (nb(1), nb(5));
        let t = generate(&kind, body, &a.items(), &[]);
        let lines: Vec<&str> = t.main_rs.lines().collect();
        let at = |p: &ItemPlace| lines[p.first_line - 1..p.first_line - 1 + p.lines].join("\n");
        assert_eq!(
            at(&t.items[0]),
            "#[derive(Debug)]\nstruct P {\n    x: u32,\n}"
        );
        assert_eq!(at(&t.items[1]), "           fn f() -> u32 {\n    2\n}");
        assert_eq!(at(&t.items[2]), "macro_rules! m {\n    () => { 3 };\n}");
        assert_eq!(lines[t.body_line - 1], body);
        assert_eq!(t.item_places(), "3 4 1 1\n7 3 1 5\n10 3 2 1\n");
        // The same code from cells run again (other counts): same crate.
        let u = generate(&kind, body, &b.items(), &[]);
        assert_eq!(u.hash, t.hash);
        assert_eq!(u.main_rs, t.main_rs);
        assert_eq!(u.item_places(), "3 4 5 1\n7 3 5 5\n10 3 6 1\n");
    }
}
