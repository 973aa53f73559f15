//! The `kernel_info_reply`: who we are and what language we speak.

use std::sync::OnceLock;

use jupyter_protocol::{CodeMirrorMode, HelpLink, KernelInfoReply, LanguageInfo, ReplyStatus};

static RUSTC_VERSION: OnceLock<String> = OnceLock::new();

/// Reads `rustc --version` once, off the hot path (call at start-up).
pub fn probe_rustc() {
    std::thread::spawn(|| {
        let version = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_else(|| "unknown".into());
        let _ = RUSTC_VERSION.set(version);
    });
}

/// The reply; never waits (the rustc version is filled in once known).
pub fn reply() -> KernelInfoReply {
    let version = RUSTC_VERSION
        .get()
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: "5.3".into(),
        implementation: "sluice".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "rust".into(),
            version: version.clone(),
            mimetype: Some("text/rust".into()),
            file_extension: Some(".rs".into()),
            pygments_lexer: Some("rust".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("rust".into())),
            nbconvert_exporter: Some("script".into()),
        },
        banner: format!(
            "sluice {} — Rust (rustc {version}) on evcxr, with %%slurm / %%sweep magics (try %slurm help)",
            env!("CARGO_PKG_VERSION")
        ),
        help_links: vec![
            HelpLink {
                text: "The Rust standard library".into(),
                url: "https://doc.rust-lang.org/std/".into(),
            },
            HelpLink {
                text: "The Rust book".into(),
                url: "https://doc.rust-lang.org/book/".into(),
            },
        ],
        debugger: false,
        error: None,
    }
}
