//! A call's deadline, counted in the CPU time of the thread running it.
//!
//! Wall time would charge a guest for time it spends waiting for a CPU:
//! on a busy gateway, or on a thread that runs at low priority on purpose
//! (calculated fields yield to ingest), a healthy guest would miss its
//! deadline, fail, and after enough failures be suspended. So the deadline
//! is the CPU time the call may use, and wall time only caps a call that
//! blocks (a host call waiting on the store) at [`WALL_CAP_FACTOR`] times
//! the deadline.
//!
//! Reading a thread's CPU time is a system call, so a call does not read it
//! when it starts: warm calls take about a microsecond, and most end before
//! the next epoch tick. The store's epoch deadline is one tick away; the
//! first tick starts the clocks, and every later tick checks them. What the
//! call used before the first tick is at most one tick, and is counted as
//! one tick.

use std::time::{Duration, Instant};

use wasmtime::UpdateDeadline;

/// How many times its CPU deadline a call may take in wall time.
pub(crate) const WALL_CAP_FACTOR: u32 = 10;

/// The deadline of the call in progress in a store (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallDeadline {
    /// CPU time a call may use.
    cpu: Duration,
    /// Wall time a call may take.
    wall: Duration,
    /// The engine's epoch tick.
    tick: Duration,
    /// Thread CPU time and wall time at the call's first tick.
    started: Option<(Duration, Instant)>,
}

impl CallDeadline {
    pub(crate) fn new(cpu: Duration, tick: Duration) -> Self {
        CallDeadline {
            cpu,
            wall: cpu.saturating_mul(WALL_CAP_FACTOR),
            tick,
            started: None,
        }
    }

    /// A new call starts: its clocks start at its first tick.
    pub(crate) fn reset(&mut self) {
        self.started = None;
    }

    /// The store's epoch reached its deadline: stop the call, or let it run
    /// to the next tick.
    pub(crate) fn on_tick(&mut self) -> UpdateDeadline {
        if self.stop_at(thread_cpu_time(), Instant::now()) {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Continue(1)
        }
    }

    /// Whether the call is over its deadline, given the thread's CPU time
    /// and the wall clock now.
    fn stop_at(&mut self, cpu_now: Duration, wall_now: Instant) -> bool {
        match self.started {
            None => {
                self.started = Some((cpu_now, wall_now));
                // A deadline of one tick or less is up at the first tick.
                self.tick >= self.cpu
            }
            Some((cpu_then, wall_then)) => {
                let cpu = cpu_now.saturating_sub(cpu_then) + self.tick;
                let wall = wall_now.saturating_duration_since(wall_then) + self.tick;
                cpu >= self.cpu || wall >= self.wall
            }
        }
    }
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(10);
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waiting_for_the_cpu_does_not_use_the_deadline() {
        let mut d = CallDeadline::new(100 * MS, TICK);
        let (cpu, wall) = (Duration::from_secs(5), Instant::now());
        assert!(!d.stop_at(cpu, wall));
        // Half a second of wall time, 20 ms of CPU: descheduled, not slow.
        assert!(!d.stop_at(cpu + 20 * MS, wall + 500 * MS));
    }

    #[test]
    fn the_cpu_deadline_stops_a_call() {
        let mut d = CallDeadline::new(100 * MS, TICK);
        let (cpu, wall) = (Duration::from_secs(5), Instant::now());
        assert!(!d.stop_at(cpu, wall));
        assert!(!d.stop_at(cpu + 80 * MS, wall + 80 * MS));
        // The time before the first tick counts as one tick.
        assert!(d.stop_at(cpu + 90 * MS, wall + 90 * MS));
    }

    #[test]
    fn wall_time_caps_a_call_that_blocks() {
        let mut d = CallDeadline::new(100 * MS, TICK);
        let (cpu, wall) = (Duration::from_secs(5), Instant::now());
        assert!(!d.stop_at(cpu, wall));
        assert!(!d.stop_at(cpu + MS, wall + 980 * MS));
        assert!(d.stop_at(cpu + MS, wall + 990 * MS));
    }

    #[test]
    fn a_deadline_within_one_tick_is_up_at_the_first() {
        let mut d = CallDeadline::new(5 * MS, TICK);
        assert!(d.stop_at(Duration::ZERO, Instant::now()));
    }

    #[test]
    fn a_new_call_starts_its_clocks_again() {
        let mut d = CallDeadline::new(100 * MS, TICK);
        let (cpu, wall) = (Duration::from_secs(5), Instant::now());
        assert!(!d.stop_at(cpu, wall));
        d.reset();
        // 95 ms after the first call's start, but the first tick of this one.
        assert!(!d.stop_at(cpu + 95 * MS, wall + 95 * MS));
    }

    #[test]
    fn the_thread_cpu_clock_counts_work_not_sleep() {
        let before = thread_cpu_time();
        std::thread::sleep(50 * MS);
        let slept = thread_cpu_time() - before;
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed() < 30 * MS {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let worked = thread_cpu_time() - before - slept;
        assert!(slept < 20 * MS, "sleeping used {slept:?} of CPU");
        assert!(worked > Duration::ZERO, "spinning used no CPU");
    }
}
