//! Timing codecs: one call, and throughput.

use std::time::{Duration, Instant};

/// Runs `work` and says how long it took.
pub fn timed<T, E>(work: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let start = Instant::now();
    let value = work()?;
    Ok((value, start.elapsed()))
}

/// Millions of `units` per second.
pub fn per_second(units: f64, time: Duration) -> f64 {
    units / 1e6 / time.as_secs_f64().max(1e-9)
}

/// Reports the progress of long work (a progress bar, a log, nothing).
pub trait Progress {
    /// A stage of `steps` steps begins, named `what`.
    fn stage(&mut self, what: &str, steps: u64);
    /// One step of the current stage is done.
    fn step(&mut self);
}

/// No report.
impl Progress for () {
    fn stage(&mut self, _: &str, _: u64) {}
    fn step(&mut self) {}
}
