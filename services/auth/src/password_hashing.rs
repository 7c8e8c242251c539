//! Password hashing: argon2id PHC strings, computed on tokio's blocking threads, at most
//! `PASSWORD_HASHES_IN_PARALLEL` at a time (a hash keeps one CPU busy for tens of milliseconds),
//! in memory that is reused while hashes follow each other and goes back to the system half a
//! second after the last one.
//!
//! Why the memory is handled here: argon2id with the defaults works in 19 MiB. Left to argon2's
//! own allocation, glibc maps the first such block and unmaps it on free, then raises its mmap
//! threshold to that size, so every later block is carved from a thread's arena, which keeps it:
//! auth grew to 640 MiB resident on tokio's blocking threads, and to about 100 MiB on short-lived
//! threads. glibc never raises that threshold above 32 MiB, so a reservation larger than 32 MiB is
//! always a mapping of its own, unmapped on free; argon2 writes only the 19 MiB it needs, and the
//! untouched rest never becomes resident (with any allocator). A fresh mapping per hash costs the
//! page faults of 19 MiB, about half a hash again (measured: 50 ms instead of 30 ms a hash), so
//! a finished hash's memory is kept for the next one for [`KEEP_IDLE`]: at most one block per
//! slot, resident only while sign-ups keep coming.
use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// Blocks reserved per hash at least: just over 32 MiB, glibc's highest mmap threshold.
const RESERVED_BLOCKS: usize = (32 << 20) / Block::SIZE + 1;

/// How long a finished hash's memory waits for the next hash before it goes back to the system.
pub const KEEP_IDLE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("argon2 refused the password or its parameters: {0}")]
    Argon2(#[from] argon2::Error),
    #[error("unusable password hash: {0}")]
    Format(#[from] argon2::password_hash::Error),
    #[error("unusable PHC string: {0}")]
    Phc(#[from] argon2::password_hash::phc::Error),
    #[error("the password hashing task ended without an answer")]
    NoAnswer,
}

/// Hashes and verifies passwords, at most `parallel` at a time.
#[derive(Clone)]
pub struct PasswordHashing {
    slots: Arc<Semaphore>,
    /// Memory of finished hashes, most recent last; never more blocks than slots.
    idle: Arc<Mutex<Vec<IdleMemory>>>,
}

struct IdleMemory {
    blocks: Vec<Block>,
    since: Instant,
}

impl PasswordHashing {
    pub fn new(parallel: NonZeroUsize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(parallel.get())),
            idle: Arc::default(),
        }
    }

    /// The argon2id PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move |blocks| hash(&password, blocks)).await?
    }

    /// Whether `password` matches `stored`; with no stored hash (an unknown email) it checks a
    /// decoy, so that both refusals take as long.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        let stored = move || stored.unwrap_or_else(|| DECOY_HASH.clone());
        self.run(move |blocks| verify(&password, &stored(), blocks))
            .await
    }

    /// Runs `work` on a blocking thread, in idle memory if there is some, once one of the slots
    /// is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| HashingError::NoAnswer)?;
        let mut blocks = self.take_idle();
        // A panicking `work` ends the task with an error (NoAnswer), and its memory is freed.
        let (answer, blocks) = tokio::task::spawn_blocking(move || (work(&mut blocks), blocks))
            .await
            .map_err(|_| HashingError::NoAnswer)?;
        self.keep_idle(blocks);
        Ok(answer)
    }

    fn take_idle(&self) -> Vec<Block> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.pop().map(|memory| memory.blocks).unwrap_or_default()
    }

    /// Keeps `blocks` for the next hash, and frees them if none came within [`KEEP_IDLE`].
    fn keep_idle(&self, blocks: Vec<Block>) {
        let since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push(IdleMemory { blocks, since });
        let idle = Arc::downgrade(&self.idle);
        tokio::spawn(async move {
            tokio::time::sleep(KEEP_IDLE).await;
            if let Some(idle) = idle.upgrade() {
                let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
                idle.retain(|memory| memory.since.elapsed() < KEEP_IDLE);
            }
        });
    }

    #[cfg(test)]
    fn idle_blocks(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

/// A hash to verify against when the email is unknown.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("decoy-password", &mut Vec::new()).unwrap_or_default());

fn hash(password: &str, blocks: &mut Vec<Block>) -> Result<String, HashingError> {
    let argon2 = Argon2::default();
    let salt = Salt::generate();
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password, &salt, &mut output, blocks)?;
    let phc = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(salt),
        hash: Some(Output::new(&output)?),
    };
    Ok(phc.to_string())
}

/// Hashes `password` the way `stored` says and compares in constant time (`Output`'s equality).
fn verify(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    let mut matches = || -> Result<bool, HashingError> {
        let phc = PasswordHash::new(stored)?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Ok(false);
        };
        let version = phc
            .version
            .map_or(Ok(Version::default()), Version::try_from)?;
        let argon2 = Argon2::new(
            Algorithm::try_from(phc.algorithm.as_str())?,
            version,
            Params::try_from(&phc)?,
        );
        let mut output = vec![0u8; expected.len()];
        compute(&argon2, password, salt, &mut output, blocks)?;
        Ok(Output::new(&output)? == *expected)
    };
    matches().unwrap_or(false)
}

/// argon2 into `output`, working in `blocks`: a reservation of its own (see the module's notes),
/// made on first use. argon2 overwrites every block it reads, so earlier contents do not matter.
fn compute(
    argon2: &Argon2,
    password: &str,
    salt: &[u8],
    output: &mut [u8],
    blocks: &mut Vec<Block>,
) -> Result<(), HashingError> {
    let needed = argon2.params().block_count();
    if blocks.capacity() < needed.max(RESERVED_BLOCKS) {
        *blocks = Vec::with_capacity(needed.max(RESERVED_BLOCKS));
    }
    blocks.resize(needed, Block::new());
    argon2.hash_password_into_with_memory(password.as_bytes(), salt, output, &mut blocks[..])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use argon2::PasswordVerifier;

    use super::*;

    fn hashing(parallel: usize) -> PasswordHashing {
        PasswordHashing::new(NonZeroUsize::new(parallel).unwrap())
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_that_verify() {
        let hashing = hashing(2);
        let hashed = hashing.hash("secret".into()).await.unwrap();
        assert!(
            hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hashed}"
        );
        assert!(
            hashing
                .verify("secret".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("other".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        // Any argon2 implementation reads them: the crate's own verifier agrees.
        let phc = PasswordHash::new(&hashed).unwrap();
        assert!(Argon2::default().verify_password(b"secret", &phc).is_ok());
    }

    #[tokio::test]
    async fn hashes_made_elsewhere_verify_with_their_own_parameters() {
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(8 * 1024, 1, 1, Some(32)).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"secret")
            .unwrap()
            .to_string();
        let hashing = hashing(1);
        assert!(
            hashing
                .verify("secret".into(), Some(other.clone()))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("other".into(), Some(other)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_and_malformed_hashes_never_match() {
        let hashing = hashing(1);
        assert!(!hashing.verify("secret".into(), None).await.unwrap());
        for stored in ["", "plain", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"] {
            let verdict = hashing.verify("secret".into(), Some(stored.into())).await;
            assert!(!verdict.unwrap(), "{stored:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_slots_bound_the_hashes_running_at_once() {
        let hashing = hashing(2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks = (0..8).map(|_| {
            let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                hashing
                    .run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            })
        });
        for task in futures::future::join_all(tasks).await {
            task.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn work_that_panics_answers_an_error_and_frees_its_slot() {
        let hashing = hashing(1);
        assert!(hashing.run(|_| panic!("boom")).await.is_err());
        assert_eq!(hashing.run(|_| 6 * 7).await.unwrap(), 42);
    }

    #[tokio::test]
    async fn memory_is_reused_between_hashes_and_freed_once_idle() {
        let hashing = hashing(2);
        let (first, second) = tokio::join!(
            hashing.hash("one-password".into()),
            hashing.hash("two-password".into())
        );
        assert!(first.unwrap() != second.unwrap());
        assert_eq!(hashing.idle_blocks(), 2);
        let reused = hashing.run(|blocks| blocks.len()).await.unwrap();
        assert_eq!(reused, Params::DEFAULT.block_count());
        assert_eq!(hashing.idle_blocks(), 2, "taken and given back");
        tokio::time::sleep(KEEP_IDLE + Duration::from_millis(300)).await;
        assert_eq!(hashing.idle_blocks(), 0);
    }
}
