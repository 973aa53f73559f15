//! The `sluice` binary: a Jupyter kernel for Rust on the evcxr engine.
//!
//! `main` is glue only: it hands control to the runtime's hook (the binary
//! re-runs itself as the processes that execute cells), then parses the
//! command line and either serves a kernel connection or installs the
//! kernelspec. `anyhow` lives here and nowhere else in the kernel.

mod completion;
mod display;
mod engine;
mod evcxr_config;
mod history;
mod install;
mod iopub;
mod is_complete;
mod kept_session;
mod kernel_info;
mod pipe_probe;
mod runtime;
mod server;
mod standby;
mod state_file;
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
    /// Warm up a kernel and wait for the next launch (started by kernels;
    /// see `SLUICE_STANDBY` in the README).
    #[command(hide = true)]
    Standby {
        /// The kept slot of the kernel starting it at its shutdown, which
        /// the standby waits for (a few seconds) when the crates notebooks
        /// start with were built there.
        #[arg(long)]
        slot: Option<PathBuf>,
    },
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
            let launch = standby::Launch::capture();
            if let Some(launch) = launch.as_ref().filter(|_| standby::enabled())
                && let Some(kernel) = standby::launcher::offer(launch, &path)
            {
                standby::launcher::wait_for_kernel(kernel);
                return Ok(());
            }
            if let Some(launch) = launch {
                standby::remember_launch(launch);
            }
            prepare_kernel_process(kept_session::Role::Kernel);
            let pre = server::Prestart::start().context("starting the engine thread")?;
            serve(&path, pre)
        }
        Some(Command::Standby { slot }) => {
            init_tracing();
            if let Some(slot) = slot {
                kept_session::handed_over(slot);
            }
            let waiting = match standby::waiting::prepare() {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!("no standby: {e}");
                    return Ok(());
                }
            };
            prepare_kernel_process(kept_session::Role::Standby);
            match standby::waiting::wait(waiting) {
                Ok(adopted) => {
                    let served = serve(&adopted.connection_file, adopted.prestart);
                    let _ = std::fs::remove_file(&adopted.adoption_file);
                    served
                }
                Err(e) => {
                    tracing::debug!("standby ends: {e}");
                    Ok(())
                }
            }
        }
    }
}

/// What every kernel process does before its engine starts (the caller
/// has no other thread yet).
fn prepare_kernel_process(role: kept_session::Role) {
    let kept = kept_session::claim_for_this_kernel(role);
    if let Some(dir) = &kept {
        // SAFETY: no other thread exists yet (the scan below, the tokio
        // runtime and the engine start later), so nothing reads the
        // environment while it changes; evcxr reads this when the engine
        // starts.
        unsafe { std::env::set_var("EVCXR_TMPDIR", dir) };
        // SAFETY: as above.
        unsafe { runtime::environment::choose_for_this_kernel(dir) };
    }
    // SAFETY: as above.
    unsafe { evcxr_config::prepare_for_this_kernel(kept.as_deref()) };
    runtime::control::ignore_in_children();
    std_private::warm();
}

/// Serves the connection file with the engine already started.
fn serve(path: &std::path::Path, pre: server::Prestart) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(server::serve(path, pre))
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
