//! The seam between the magics and the notebook: two small traits the
//! kernel implements. [`Session`] evaluates Rust in the notebook's evcxr
//! session; [`Display`] shows and updates outputs. The magics never see a
//! Jupyter message or evcxr itself, so they can be driven by anything that
//! implements these.

/// One compiler diagnostic of a failed evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileDiagnostic {
    /// rustc's error code (`E0277`), if it has one.
    pub code: Option<String>,
    /// The message, as rustc wrote it (first line: the headline).
    pub message: String,
}

/// Why an evaluation in the session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The code did not compile.
    #[error("{}", .0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("\n"))]
    Compile(Vec<CompileDiagnostic>),
    /// The code panicked.
    #[error("panicked{}: {message}", if .location.is_empty() { String::new() } else { format!(" at {}", .location) })]
    Panic {
        /// The panic message.
        message: String,
        /// `file:line:col` as the panic hook reported it; empty when it is
        /// in code the magic generated (the notebook has no such line).
        location: String,
    },
    /// The evaluation was interrupted.
    #[error("interrupted")]
    Interrupted,
    /// The session's process was interrupted or died while the code ran
    /// (the kernel's runtime says how: `killed by SIGABRT (abort)`, ...).
    #[error("{cause}; {}", if *.restored {
        "the session was restored to the state before this cell"
    } else {
        "the session could not be restored and a new process was started, without the notebook's variables"
    })]
    ProcessEnded {
        /// What happened, as the runtime words it (`interrupted`,
        /// `exited with code 3`, `out of memory`, ...).
        cause: String,
        /// A snapshot took over: every variable holds its value from
        /// before the cell.
        restored: bool,
    },
    /// Anything else the engine reported (a command failed, ...).
    #[error("{0}")]
    Other(String),
}

impl EvalError {
    /// The first line of the error, for one-line reports.
    pub fn headline(&self) -> String {
        self.to_string().lines().next().unwrap_or("").to_string()
    }

    /// True if the code failed to compile because a trait bound on `trait_name`
    /// is not satisfied (rustc's E0277, or the "is not an iterator" family).
    pub fn unsatisfied_trait(&self, trait_name: &str) -> bool {
        match self {
            EvalError::Compile(diags) => diags.iter().any(|d| {
                matches!(d.code.as_deref(), Some("E0277") | Some("E0599"))
                    && d.message.contains(trait_name)
            }),
            _ => false,
        }
    }
}

/// Evaluating code in the notebook's session.
pub trait Session {
    /// Evaluates `code`; Ok with the text of its value (may be empty).
    ///
    /// # Errors
    /// [`EvalError`]: compile errors with their diagnostics, a panic, an
    /// interrupt, or another engine failure.
    fn eval(&mut self, code: &str) -> Result<String, EvalError>;

    /// Type-checks `code` in the session without running it (`cargo
    /// check`): Ok if it would compile.
    ///
    /// # Errors
    /// [`EvalError::Compile`] with the diagnostics, or an engine failure.
    fn check(&mut self, code: &str) -> Result<(), EvalError>;

    /// Adds crates to the session, as evcxr's `:dep NAME = SPEC` does for
    /// each `(NAME, SPEC)` (`SPEC` is the Cargo.toml value, e.g. `"1"`), and
    /// rebuilds the session once, so what the new crates change happens now.
    ///
    /// # Errors
    /// A crate could not be added (not found, does not build).
    fn add_dependencies(&mut self, deps: &[(&str, &str)]) -> Result<(), EvalError>;

    /// The session's variables and their types.
    fn variables(&self) -> Vec<(String, String)>;

    /// The session process's environment as it stood after its last cell,
    /// `(name, value)` with non-UTF-8 text converted lossily, when the
    /// kernel knows it without evaluating code; None when only an
    /// evaluation in the session can tell (the magics then evaluate
    /// `std::env::vars_os()` there).
    fn environment(&self) -> Option<Vec<(String, String)>>;
}

/// Something to show: always a text form, optionally HTML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// text/plain.
    pub text: String,
    /// text/html.
    pub html: Option<String>,
    /// image/svg+xml.
    pub svg: Option<String>,
}

/// Showing outputs in the notebook.
pub trait Display {
    /// Shows `out`; with `id`, later [`Display::update`] calls replace it in place.
    fn show(&mut self, out: &Rendered, id: Option<&str>);
    /// Replaces the display `id`.
    fn update(&mut self, out: &Rendered, id: &str);
    /// Whether the user asked to stop waiting (interrupt).
    fn interrupted(&self) -> bool;
}
