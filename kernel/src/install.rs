//! `sluice install`: writes the kernelspec (kernel.json and logos) where
//! Jupyter looks for kernels, for the user, a Python environment or a prefix.

use std::path::{Path, PathBuf};

/// Where to put the kernelspec; the flags mirror `jupyter kernelspec install`.
#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Install for the current user (the default).
    #[arg(long, conflicts_with_all = ["sys_prefix", "prefix"])]
    user: bool,
    /// Install into the active Python environment (`$VIRTUAL_ENV`, or `sys.prefix` of `python3`).
    #[arg(long)]
    sys_prefix: bool,
    /// Install under PREFIX/share/jupyter/kernels.
    #[arg(long, value_name = "PREFIX", conflicts_with = "sys_prefix")]
    prefix: Option<PathBuf>,
    /// Kernel name (directory name of the kernelspec).
    #[arg(long, default_value = "sluice")]
    name: String,
}

/// Errors of writing a kernelspec.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No data directory could be found for a user install.
    #[error("cannot find a home directory for a --user install (set HOME or JUPYTER_DATA_DIR)")]
    NoHome,
    /// `--sys-prefix` without a virtualenv and without a working python3.
    #[error("cannot find the Python prefix for --sys-prefix: {0}")]
    NoPythonPrefix(String),
    /// The running executable's path is unknown.
    #[error("cannot find the path of the sluice binary: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

const LOGO_32: &[u8] = include_bytes!("../assets/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../assets/logo-64x64.png");

/// Writes the kernelspec and returns its directory.
pub fn install(args: &InstallArgs) -> Result<PathBuf, InstallError> {
    let base = if let Some(prefix) = &args.prefix {
        prefix.join("share/jupyter/kernels")
    } else if args.sys_prefix {
        python_prefix()?.join("share/jupyter/kernels")
    } else {
        user_data_dir()?.join("kernels")
    };
    let dir = base.join(&args.name);
    let exe = std::env::current_exe().map_err(InstallError::CurrentExe)?;
    write(&dir.join("kernel.json"), kernel_json(&exe).as_bytes())?;
    write(&dir.join("logo-32x32.png"), LOGO_32)?;
    write(&dir.join("logo-64x64.png"), LOGO_64)?;
    Ok(dir)
}

/// The kernel.json text: interrupts arrive as messages, not signals.
fn kernel_json(exe: &Path) -> String {
    let spec = serde_json::json!({
        "argv": [exe.to_string_lossy(), "kernel", "--connection-file", "{connection_file}"],
        "display_name": "Rust (sluice)",
        "language": "rust",
        "interrupt_mode": "message",
        "env": {},
        "metadata": { "debugger": false }
    });
    // A json! value always serializes.
    serde_json::to_string_pretty(&spec).unwrap_or_default()
}

fn user_data_dir() -> Result<PathBuf, InstallError> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").ok_or(InstallError::NoHome)?;
    Ok(PathBuf::from(home).join(".local/share/jupyter"))
}

fn python_prefix() -> Result<PathBuf, InstallError> {
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        return Ok(PathBuf::from(venv));
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .map_err(|e| InstallError::NoPythonPrefix(e.to_string()))?;
    if !out.status.success() {
        return Err(InstallError::NoPythonPrefix(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let err = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_json_uses_message_interrupts_and_connection_file() {
        let text = kernel_json(Path::new("/opt/sluice"));
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(v["interrupt_mode"], "message");
        assert_eq!(v["language"], "rust");
        assert_eq!(v["argv"][0], "/opt/sluice");
        assert_eq!(v["argv"][3], "{connection_file}");
    }
}
