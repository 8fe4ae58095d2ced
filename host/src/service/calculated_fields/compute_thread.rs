//! The thread calculated fields are computed on, at a lower CPU priority
//! than ingest.
//!
//! Every PUBACK waits on the durable writer and the device connections;
//! a field's output is derived data that can come a little later. On a
//! gateway short of CPU, the scheduler should give the cores to ingest
//! first, so fields run on their own thread with a higher nice value. A
//! starved field costs its own intermediate results (the engine keeps the
//! newest change per entity), not its deadline: guest deadlines count CPU
//! time, not time spent waiting for a CPU (`wasm/deadline.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

/// The nice value of the thread: the lowest. It gets all the CPU nothing
/// else wants, and little while ingest keeps every core busy; then the
/// engine computes each entity's newest change and skips the ones between
/// (`cargo bench --bench fields` with two CPU hogs beside it: ingest as
/// fast with the field as without, 38% of the points computed, no guest
/// missing its deadline). Measured against 10 on the same benchmark
/// without hogs, where every point is computed either way, 19 gave the
/// higher ingest rate.
pub const NICE: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

/// One OS thread that runs the jobs handed to it, in order. It stops once
/// the handle is dropped and the jobs queued before are done.
pub struct ComputeThread {
    jobs: mpsc::Sender<Job>,
}

/// The job panicked, or the thread is gone.
#[derive(Debug, thiserror::Error)]
#[error("the calculated fields thread failed: {0}")]
pub struct JobFailed(String);

impl ComputeThread {
    /// Starts the thread, inside the current tokio runtime's context so
    /// that jobs may use its handle.
    pub fn start(name: &str) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let runtime = tokio::runtime::Handle::try_current().ok();
        thread::Builder::new().name(name.into()).spawn(move || {
            let _runtime = runtime.as_ref().map(|r| r.enter());
            lower_priority();
            for job in rx {
                job();
            }
        })?;
        Ok(ComputeThread { jobs })
    }

    /// Runs `f` on the thread and waits for its result without blocking
    /// the async runtime.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, JobFailed> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f)).map_err(|panic| panic_message(&*panic));
            // The caller may have stopped waiting; nothing to tell then.
            let _ = tx.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| JobFailed("the thread has stopped".into()))?;
        rx.await
            .map_err(|_| JobFailed("the thread has stopped".into()))?
            .map_err(JobFailed)
    }
}

/// Raises the calling thread's nice value to [`NICE`]. On Linux the nice
/// value belongs to the thread, and a thread id is accepted where the call
/// asks for a process. Failing to lower one's own priority is harmless: the
/// fields run at the default priority, as everywhere else.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), NICE) {
            tracing::warn!("calculated fields keep the default CPU priority: {e}");
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_on_one_named_thread() {
        let t = ComputeThread::start("cf-test").unwrap();
        let a = t.run(|| thread::current().name().map(str::to_owned)).await;
        let b = t.run(|| thread::current().id()).await.unwrap();
        let c = t.run(|| thread::current().id()).await.unwrap();
        assert_eq!(a.unwrap().as_deref(), Some("cf-test"));
        assert_eq!(b, c);
        assert_ne!(b, thread::current().id());
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone() {
        let t = ComputeThread::start("cf-test").unwrap();
        let err = t.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(t.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn jobs_see_the_runtime() {
        let t = ComputeThread::start("cf-test").unwrap();
        assert!(
            t.run(|| tokio::runtime::Handle::try_current().is_ok())
                .await
                .unwrap()
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_thread_runs_at_the_lower_priority() {
        let before = own_nice();
        let t = ComputeThread::start("cf-test").unwrap();
        let nice = t.run(own_nice).await.unwrap();
        // Unless this process already runs at a higher nice value.
        assert_eq!(nice, NICE.max(before));
        // The caller's own priority is untouched.
        assert_eq!(own_nice(), before);
    }

    /// The calling thread's nice value, from `/proc/thread-self/stat`
    /// (field 19; the fields after the command name's closing parenthesis
    /// start at field 3).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }
}
