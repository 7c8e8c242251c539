//! Password hashing off the async runtime: each hash on a short-lived thread of its own, at most
//! one per CPU at a time (a hash keeps one CPU busy).
//!
//! An argon2id hash with the defaults works in 19 MiB (one aligned allocation). On long-lived
//! threads — tokio's blocking pool reuses its threads — glibc serves those allocations in a way
//! that leaves each thread's arena holding more after every hash: the benchmark saw auth grow to
//! 640 MiB resident under sign-ups and stay there. A thread that ends gives its arena back in
//! good order; with them, auth stays under its base plus 19 MiB per CPU.

use std::sync::OnceLock;

use tokio::sync::{Semaphore, oneshot};

#[derive(Debug, thiserror::Error)]
#[error("the password thread did not answer")]
pub struct NoAnswer;

/// Runs `work` on a thread of its own once a CPU's turn is free, and waits for its result.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NoAnswer> {
    let _turn = turns().acquire().await.map_err(|_| NoAnswer)?;
    let (answer, result) = oneshot::channel();
    std::thread::Builder::new()
        .name("password".into())
        .spawn(move || {
            let _ = answer.send(work());
        })
        .map_err(|_| NoAnswer)?;
    // A panicking `work` drops `answer`: NoAnswer.
    result.await.map_err(|_| NoAnswer)
}

fn turns() -> &'static Semaphore {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
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
