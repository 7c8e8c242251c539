//! The listing of available tickets (`GET /api/tickets`), answered from memory between changes.
//!
//! The database answers one query at a time (SecantusDB: about 4-5 ms for the listing's 100
//! tickets), so reading it per request caps the marketplace's home page near 200 requests a
//! second. The listing changes only when a ticket does, and every change of a ticket is made by
//! one of the tickets replicas, which publishes it on the TICKETS stream. So each replica keeps the
//! last listing it read, and drops it when it changes a ticket itself (after the write: it lists
//! its own change at once) or hears of any change on the stream (another replica's change is
//! listed within the event lag). While the stream is not followed (starting, NATS away) nothing
//! would tell this replica of other replicas' changes, so every request reads the database.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

/// The serialised listing as last read, and when.
#[derive(Clone)]
pub struct Listing {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Counts the changes of tickets this replica made or heard of; a listing read before the
    /// latest one is out of date.
    changes: AtomicU64,
    /// Whether the TICKETS stream is being followed (see the module's comment).
    following: AtomicBool,
    last_read: RwLock<Option<Snapshot>>,
    /// One database read at a time refills the listing; the requests waiting meanwhile take it.
    refill: tokio::sync::Mutex<()>,
}

struct Snapshot {
    /// The count of changes when the read began.
    as_of: u64,
    body: Bytes,
}

impl Default for Listing {
    fn default() -> Self {
        Self::new()
    }
}

impl Listing {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner::default()),
        }
    }

    /// A ticket changed (written here, or heard of on the stream): the next request reads anew.
    pub fn changed(&self) {
        self.inner.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// The stream is followed from now on. What changed before is in the next read.
    pub fn following(&self) {
        self.changed();
        self.inner.following.store(true, Ordering::SeqCst);
    }

    /// The stream is no longer followed: changes of other replicas would go unnoticed.
    pub fn not_following(&self) {
        self.inner.following.store(false, Ordering::SeqCst);
        self.changed();
    }

    /// The listing, from memory while nothing changed since it was read, else from `read`.
    pub async fn get_or_read<E, F, Fut>(&self, read: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if let Some(body) = self.current() {
            return Ok(body);
        }
        let _refill = self.inner.refill.lock().await;
        if let Some(body) = self.current() {
            return Ok(body); // read by the request ahead of this one
        }
        let as_of = self.inner.changes.load(Ordering::SeqCst);
        let body = read().await?;
        *self.write_lock() = Some(Snapshot {
            as_of,
            body: body.clone(),
        });
        Ok(body)
    }

    fn current(&self) -> Option<Bytes> {
        if !self.inner.following.load(Ordering::SeqCst) {
            return None;
        }
        let changes = self.inner.changes.load(Ordering::SeqCst);
        let last_read = self
            .inner
            .last_read
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        last_read
            .as_ref()
            .filter(|snapshot| snapshot.as_of == changes)
            .map(|snapshot| snapshot.body.clone())
    }

    fn write_lock(&self) -> std::sync::RwLockWriteGuard<'_, Option<Snapshot>> {
        self.inner
            .last_read
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    async fn counting_reader(reads: &AtomicUsize) -> Result<Bytes, ()> {
        let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Bytes::from(n.to_string()))
    }

    #[tokio::test]
    async fn reads_again_only_after_a_change_while_following() {
        let listing = Listing::new();
        let reads = AtomicUsize::new(0);
        // Not following: every request reads.
        listing
            .get_or_read(|| counting_reader(&reads))
            .await
            .unwrap();
        listing
            .get_or_read(|| counting_reader(&reads))
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);

        listing.following();
        let first = listing.get_or_read(|| counting_reader(&reads)).await;
        assert_eq!(first, Ok(Bytes::from("3")));
        let kept = listing.get_or_read(|| counting_reader(&reads)).await;
        assert_eq!(kept, Ok(Bytes::from("3")));

        listing.changed();
        let fresh = listing.get_or_read(|| counting_reader(&reads)).await;
        assert_eq!(fresh, Ok(Bytes::from("4")));

        listing.not_following();
        listing
            .get_or_read(|| counting_reader(&reads))
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_read_overtaken_by_a_change_is_not_served_again() {
        let listing = Listing::new();
        listing.following();
        let stale = listing
            .get_or_read(|| async {
                listing.changed(); // a write lands while the read is under way
                Ok::<_, ()>(Bytes::from("stale"))
            })
            .await;
        assert_eq!(stale, Ok(Bytes::from("stale")));
        let next = listing
            .get_or_read(|| async { Ok::<_, ()>(Bytes::from("fresh")) })
            .await;
        assert_eq!(next, Ok(Bytes::from("fresh")));
    }

    #[tokio::test]
    async fn a_failed_read_is_not_kept() {
        let listing = Listing::new();
        listing.following();
        let failed = listing
            .get_or_read(|| async { Err::<Bytes, _>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        let next = listing
            .get_or_read(|| async { Ok::<_, ()>(Bytes::from("back")) })
            .await;
        assert_eq!(next, Ok(Bytes::from("back")));
    }
}
