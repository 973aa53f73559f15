//! The `sluice` binary: a Jupyter kernel for Rust on the evcxr engine.
//!
//! `main` is glue only: it hands control to the runtime's hook (the binary
//! re-runs itself as the processes that execute cells), then parses the
//! command line and either serves a kernel connection or installs the
//! kernelspec. `anyhow` lives here and nowhere else in the kernel.

mod completion;
mod display;
mod engine;
mod history;
mod install;
mod iopub;
mod is_complete;
mod kept_session;
mod kernel_info;
mod pipe_probe;
mod runtime;
mod server;
mod std_private;
mod streams;
mod wire;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// evcxr's in-process analysis (rust-analyzer) allocates heavily on every
/// cell; mimalloc makes that measurably faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Jupyter kernel for Rust whose cell magics run notebook cells as Slurm job arrays.
#[derive(Parser, Debug)]
#[command(name = "sluice", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Connection file written by Jupyter (same as `sluice kernel --connection-file`).
    #[arg(short = 'f', long = "connection-file", global = true)]
    connection_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a kernel on the sockets named in a Jupyter connection file.
    Kernel,
    /// Write the kernelspec so `jupyter kernelspec list` shows sluice.
    Install(install::InstallArgs),
}

fn main() -> anyhow::Result<()> {
    // Must come first: in the runtime's processes (evcxr's evaluation
    // process, the session) this never returns.
    runtime::hook();

    let cli = Cli::parse();
    match cli.command {
        Some(Command::Install(args)) => {
            let dir = install::install(&args).context("installing the kernelspec")?;
            println!("Installed the sluice kernelspec in {}", dir.display());
            Ok(())
        }
        Some(Command::Kernel) | None => {
            let Some(path) = cli.connection_file else {
                anyhow::bail!(
                    "no connection file: Jupyter starts the kernel as `sluice kernel --connection-file FILE`; \
                     run `sluice install --user` to register it, or `sluice --help`"
                );
            };
            init_tracing();
            std_private::warm();
            runtime::control::ignore_in_children();
            if let Some(dir) = kept_session::claim_for_this_kernel() {
                // SAFETY: no other thread exists yet (the tokio runtime and
                // the engine start below), so nothing reads the environment
                // while it changes; evcxr reads this when the engine starts.
                unsafe { std::env::set_var("EVCXR_TMPDIR", dir) };
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            runtime.block_on(server::serve(&path))
        }
    }
}

/// Logs go to stderr (Jupyter shows them in the server log), level from `SLUICE_LOG`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sluice=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
