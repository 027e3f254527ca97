//! The thread that runs the loops requests wait on: the audit writer and the store's committer.
//!
//! Every audited request waits for the writer's next commit, so each step of that commit (a
//! record arriving, the batch passing to the committer, the statement coming back from SQLite's
//! thread) is on the answer path. Spawned on the server's runtime, each step waited in a worker's
//! run queue behind the requests being served. On a thread of their own they run as soon as they
//! are woken, and a batch passes from the writer to the committer without leaving that thread.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle};

/// Spawns `task` on the process's writing thread: a single-threaded Tokio runtime (timers
/// enabled), started at the first call, that runs for the life of the process. Should the
/// thread not start (the process is out of threads or memory), the task runs on the caller's
/// runtime instead: slower under load, equally correct.
pub fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match writing_thread() {
        Some(handle) => drop(handle.spawn(task)),
        None => drop(tokio::spawn(task)),
    }
}

fn writing_thread() -> Option<&'static Handle> {
    static HANDLE: OnceLock<Option<Handle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match start_writing_thread() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "no writing thread; commits run on the request runtime");
                None
            }
        })
        .as_ref()
}

fn start_writing_thread() -> std::io::Result<Handle> {
    let runtime = Builder::new_current_thread().enable_time().build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("strongbox-writer".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    /// The caller's runtime is busy (here: this thread blocks), yet the task runs, its timers
    /// included: it does not wait for a request worker to poll it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_task_runs_while_the_spawning_runtime_is_blocked() {
        let (sender, receiver) = std::sync::mpsc::channel();
        spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            sender.send(std::thread::current().name().map(str::to_owned)).unwrap();
        });
        let ran_on = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(ran_on.as_deref(), Some("strongbox-writer"));
    }
}
