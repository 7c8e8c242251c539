//! A service's background work (listeners, the outbox relay, schedulers), stopped together.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Background tasks sharing one shutdown signal.
#[derive(Default)]
pub struct BackgroundTasks {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl BackgroundTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token tasks watch to know when to stop.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub fn add(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Signals every task and waits (up to 10 s) for each to finish what it holds.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("a background task did not stop in time");
            }
        }
    }
}

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        // An application dropped without `stop` (a test ending) must not leave consumers running.
        self.shutdown.cancel();
    }
}
