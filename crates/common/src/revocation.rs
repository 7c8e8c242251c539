//! Revoked sessions: signing out ends a session everywhere at once, not when its token expires.
//!
//! Auth writes the id of a signed-out token to a JetStream key-value bucket whose entries are
//! kept as long as a token lives (`crate::session::SESSION_TTL`, given by the caller), so an
//! entry never outlives what it revokes
//! by much. Every service watches the bucket and keeps the ids in memory: checking a request's
//! session stays a lookup, and a revocation reaches every replica within milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation, Store};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{ApiError, ApiResult};
use crate::events::{BusError, EventBus};

const BUCKET: &str = "REVOKED_SESSIONS";
/// How long start-up waits for the revocations already in the bucket.
const CATCH_UP: Duration = Duration::from_secs(5);

/// The revoked token ids this service knows, each with its token's expiry (Unix seconds).
#[derive(Clone)]
pub struct Revocations {
    revoked: Arc<RwLock<HashMap<String, i64>>>,
    store: Store,
}

impl Revocations {
    /// Opens (or creates) the bucket, its entries kept for `token_lifetime`, and starts
    /// following it; returns once the revocations already in it are known, with the task that
    /// follows it until `shutdown`.
    pub async fn follow(
        bus: &EventBus,
        token_lifetime: Duration,
        shutdown: CancellationToken,
    ) -> Result<(Self, JoinHandle<()>), BusError> {
        let bucket = bus.namespace().stream(BUCKET);
        let jetstream = bus.jetstream();
        let store = match jetstream.get_key_value(&bucket).await {
            Ok(store) => store,
            Err(_) => jetstream
                .create_key_value(kv::Config {
                    bucket: bucket.clone(),
                    history: 1,
                    max_age: token_lifetime,
                    num_replicas: bus.stream_replicas(),
                    storage: async_nats::jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|error| BusError::Stream(format!("bucket {bucket}: {error}")))?,
        };
        let revocations = Self {
            revoked: Arc::default(),
            store,
        };
        let (caught_up, mut known) = tokio::sync::watch::channel(false);
        let follower = tokio::spawn(revocations.clone().follow_bucket(shutdown, caught_up));
        // A bucket whose watch has nothing to deliver never says it caught up: bounded wait.
        let _ = tokio::time::timeout(CATCH_UP, known.wait_for(|known| *known)).await;
        Ok((revocations, follower))
    }

    pub fn is_revoked(&self, token_id: &str) -> bool {
        self.revoked
            .read()
            .map(|revoked| revoked.contains_key(token_id))
            .unwrap_or(false)
    }

    /// Revokes a token until it expires: here at once, everywhere once the bucket has it (this
    /// returns after JetStream stored it).
    pub async fn revoke(&self, token_id: &str, expires_at: i64) -> ApiResult<()> {
        self.remember(token_id, expires_at);
        self.store
            .put(token_id, expires_at.to_string().into())
            .await
            .map_err(|error| {
                ApiError::Unavailable(anyhow::anyhow!("revoking a session: {error}"))
            })?;
        Ok(())
    }

    fn remember(&self, token_id: &str, expires_at: i64) {
        if let Ok(mut revoked) = self.revoked.write() {
            // Expired tokens are refused anyway: their ids need no keeping.
            if revoked.len() % 1024 == 1023 {
                let now = chrono::Utc::now().timestamp();
                revoked.retain(|_, expiry| *expiry > now);
            }
            revoked.insert(token_id.to_owned(), expires_at);
        }
    }

    /// Applies every entry of the bucket, then each new one; starts over after NATS is lost.
    async fn follow_bucket(
        self,
        shutdown: CancellationToken,
        caught_up: tokio::sync::watch::Sender<bool>,
    ) {
        loop {
            if self
                .store
                .status()
                .await
                .is_ok_and(|status| status.values() == 0)
            {
                caught_up.send_replace(true);
            }
            match self.store.watch_with_history(">").await {
                Ok(mut entries) => loop {
                    let entry = tokio::select! {
                        () = shutdown.cancelled() => return,
                        entry = entries.next() => entry,
                    };
                    match entry {
                        Some(Ok(entry)) => {
                            match entry.operation {
                                Operation::Put => {
                                    let expiry = std::str::from_utf8(&entry.value)
                                        .ok()
                                        .and_then(|value| value.parse().ok())
                                        .unwrap_or(i64::MAX);
                                    self.remember(&entry.key, expiry);
                                }
                                Operation::Delete | Operation::Purge => {
                                    if let Ok(mut revoked) = self.revoked.write() {
                                        revoked.remove(&entry.key);
                                    }
                                }
                            }
                            if entry.delta == 0 {
                                caught_up.send_replace(true);
                            }
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, "following revoked sessions failed; again");
                            break;
                        }
                        None => break,
                    }
                },
                Err(error) => tracing::warn!(%error, "cannot follow revoked sessions yet"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
