//! sluice's evaluation runtime: what runs in the process evcxr starts to
//! execute cells, in place of `evcxr::runtime_hook`'s loop.
//!
//! # What it owes evcxr's protocol (evcxr 0.22, `child_process.rs`, `eval_context.rs`)
//!
//! - It reads `LOAD_AND_RUN <library> <function>` lines on stdin, loads the
//!   library, calls `function(store) -> store` (the variable store pointer
//!   evcxr's generated code passes along) and then writes
//!   `EVCXR_EXECUTION_COMPLETE` on stdout. Libraries are never unloaded.
//! - Everything else evcxr reads on stdout during a cell is what the cell's
//!   generated code prints for it: `EVCXR_PANIC_NOTIFICATION`,
//!   `EVCXR_ERROR_OCCURRED`, `EVCXR_VARIABLE_CHANGED_TYPE:<name>`,
//!   `EVCXR_INPUT_REQUEST[_PASSWORD]:<prompt>` (answered with one line on
//!   stdin) and `EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT` blocks.
//!   The runtime passes exactly these, and nothing of the user's text.
//! - Every line on stdout and stderr is UTF-8 (evcxr's readers stop at the
//!   first line that is not) — except the one abort line, on purpose: evcxr
//!   fails that cell with an I/O error and keeps its state from before the
//!   cell without restarting the process, which is how a restored cell ends
//!   (see `evcxr_protocol::ABORT_LINE`).
//! - The process exits when stdin closes, and when it exits evcxr starts a
//!   new one (a lost session, `:clear`, `:restart`), as before.
//! - `evcxr::runtime_hook` is still called for its other role, the rustc
//!   wrapper.
//!
//! # What it adds
//!
//! The process evcxr starts is a supervisor (`supervisor/`) that runs no
//! user code; it starts the session process (`session.rs`), which holds the
//! variables and takes a copy-on-write snapshot before each cell
//! (`snapshot.rs`). User output travels as records on stderr
//! (`record.rs`), sluice's own displays as frames (`frames.rs`), stdin reads
//! are trapped (`stdin_trap.rs`), and the kernel interrupts or retires the
//! runtime with a queued signal (`control.rs`).

pub mod answer;
mod cause;
pub mod control;
pub mod environment;
mod evcxr_protocol;
mod fds;
mod frame_writer;
mod frames;
mod line_reader;
mod overflow;
mod panic_site;
pub mod record;
mod report;
mod session;
mod snapshot;
mod stdin_trap;
mod supervisor;
mod utf8;

/// The codes the kernel's session code passes to the runtime's frame
/// writer (`sluice::display`, `clear_output`, the cell's value).
pub mod frame_kinds {
    use super::frames::Kind;

    /// `mime \0 id \0 content`.
    pub fn display() -> u32 {
        Kind::Display.code()
    }
    /// `wait` or `now`.
    pub fn clear() -> u32 {
        Kind::Clear.code()
    }
    /// `mime \0 content`: the cell's value for evcxr.
    pub fn content() -> u32 {
        Kind::Content.code()
    }
}

/// Must be the first thing `main` does: in the processes the runtime
/// starts (the supervisor, the session) it never returns.
pub fn hook() {
    if let Ok(spec) = std::env::var(session::SESSION_VAR) {
        let Some(setup) = session::Setup::decode(&spec) else {
            eprintln!("sluice: bad {} value", session::SESSION_VAR);
            std::process::exit(2);
        };
        restore_environment();
        set_process_name(c"sluice-session");
        session::run(setup);
    }
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        set_process_name(c"sluice-runtime");
        supervisor::run();
    }
    evcxr::runtime_hook();
}

/// Names the calling thread (and so the process in `ps`): at most 15 bytes.
fn set_process_name(name: &std::ffi::CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

/// The cells see the environment the kernel had: the session's own
/// variable goes, and `GLIBC_TUNABLES` (set for huge pages) is the
/// person's again.
fn restore_environment() {
    // SAFETY: called at the start of the session process, before it has
    // any thread other than the main one.
    unsafe {
        std::env::remove_var(session::SESSION_VAR);
        crate::standby::adoption::take_file_var();
        environment::take_file_var();
        if let Some(saved) = std::env::var_os(session::TUNABLES_VAR) {
            let saved = saved.as_encoded_bytes();
            match saved.strip_prefix(b"1:") {
                Some(own) => {
                    std::env::set_var("GLIBC_TUNABLES", String::from_utf8_lossy(own).into_owned())
                }
                None => std::env::remove_var("GLIBC_TUNABLES"),
            }
            std::env::remove_var(session::TUNABLES_VAR);
        }
    }
}
