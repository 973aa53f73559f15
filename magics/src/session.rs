//! The seam between the magics and the notebook: two small traits the
//! kernel implements. `Session` evaluates Rust in the notebook's evcxr
//! session; `Display` shows and updates outputs. The magics never see a
//! Jupyter message or evcxr itself, so they can be driven by anything that
//! implements these.

/// Evaluating code in the notebook's session.
pub trait Session {
    /// Evaluates `code`; Ok with the text of its value (may be empty), or
    /// Err with the error text (compile error, panic, ...).
    fn eval(&mut self, code: &str) -> Result<String, String>;
    /// The session's variables and their types.
    fn variables(&self) -> Vec<(String, String)>;
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
