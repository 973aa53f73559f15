//! Debug timings of a magic's phases — each round trip through the
//! notebook's session, the task build, the wait for the elements — logged
//! at debug level under the target `sluice::phase`
//! (`SLUICE_LOG=sluice::phase=debug`). Benchmarks read them
//! (`bench/runall_bench.py`); a user never sees them.

use std::time::Instant;

/// Runs `f` and logs how long it took as `phase`.
pub(crate) fn timed<T>(phase: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    tracing::debug!(
        target: "sluice::phase",
        "magic: {phase} {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    out
}
