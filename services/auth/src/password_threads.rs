//! Password hashing off the async runtime, on a fixed rayon pool (one thread per CPU: a hash
//! keeps one CPU busy).
//!
//! An argon2id hash with the defaults works in 19 MiB. On tokio's blocking pool each hash may
//! run on a new thread, glibc gives new threads new malloc arenas (up to 8 per CPU), and each
//! arena keeps its 19 MiB after the hash: the benchmark saw auth grow to 640 MiB resident under
//! sign-ups and stay there. On a fixed set of threads the blocks are reused.

use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
#[error("the password thread did not answer")]
pub struct NoAnswer;

/// Runs `work` on one of the password threads and waits for its result. A panic in `work`
/// drops its answer (the caller gets `NoAnswer`), not the thread.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NoAnswer> {
    let (answer, result) = tokio::sync::oneshot::channel();
    pool().spawn(move || {
        let _ = answer.send(work());
    });
    result.await.map_err(|_| NoAnswer)
}

fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("password-{i}"))
            // A panicking job must not abort the process (rayon's default).
            .panic_handler(|_| tracing::error!("a password job panicked"))
            .build()
            .expect("the password threads start")
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_and_answers_even_after_a_panic() {
        assert_eq!(super::run(|| 6 * 7).await.unwrap(), 42);
        assert!(super::run(|| panic!("boom")).await.is_err());
        assert_eq!(super::run(|| "still here").await.unwrap(), "still here");
    }
}
