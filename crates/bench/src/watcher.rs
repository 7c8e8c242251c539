//! Sees documents appear in a collection: one poller asks for the oldest awaited ids
//! (`{_id: {$in: [...]}}` plus a condition), only while something is awaited, so the database
//! sees one small query per interval however many waiters there are. It counts its queries and
//! the time it waited on them, so that each row can say what its polling cost the database.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bson::{Bson, Document, doc, oid::ObjectId};
use futures::TryStreamExt;
use mongodb::Collection;
use tokio::sync::{Notify, oneshot};

type Waiters = BTreeMap<ObjectId, oneshot::Sender<Instant>>;

/// Ids per query.
const CHUNK: usize = 10;

#[derive(Clone)]
pub struct Watcher {
    waiters: Arc<Mutex<Waiters>>,
    wake: Arc<Notify>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    queries: Arc<std::sync::atomic::AtomicU64>,
    /// Microseconds spent waiting on those queries (the database's time, on a server that
    /// answers one query at a time, plus the round trip).
    busy_us: Arc<std::sync::atomic::AtomicU64>,
}

impl Watcher {
    /// Polls `collection` every `interval` for awaited ids matching `condition`.
    pub fn spawn(
        collection: Collection<Document>,
        condition: Document,
        interval: Duration,
    ) -> Watcher {
        let watcher = Watcher {
            waiters: Arc::default(),
            wake: Arc::default(),
            stop: Arc::default(),
            queries: Arc::default(),
            busy_us: Arc::default(),
        };
        let this = watcher.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !this.stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ids: Vec<Bson> = {
                    let waiters = this.waiters.lock().expect("not poisoned");
                    waiters.keys().map(|id| Bson::ObjectId(*id)).collect()
                };
                if ids.is_empty() {
                    tokio::select! {
                        _ = this.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                    continue;
                }
                ticker.tick().await;
                // Oldest first, CHUNK ids per query, and on to the next chunk only while a whole
                // chunk was found: the replicas apply events about in order (each aggregate's in
                // order, 16 at once), so the database sees one small query per tick, plus one per
                // ten events applied since the last, however large a backlog grows. (A single `$in` of every
                // awaited id costs SecantusDB time growing with the square of its length — 100
                // ids: 11 ms, 1,000: 0.9 s — and polling that way made a backlog feed itself.)
                for chunk in ids.chunks(CHUNK) {
                    let mut filter = condition.clone();
                    filter.insert("_id", doc! { "$in": chunk.to_vec() });
                    this.queries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let asked = Instant::now();
                    let found: Vec<Document> =
                        match collection.find(filter).projection(doc! { "_id": 1 }).await {
                            Ok(cursor) => cursor.try_collect().await.unwrap_or_default(),
                            Err(_) => break,
                        };
                    let seen = Instant::now();
                    this.busy_us.fetch_add(
                        (seen - asked).as_micros() as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    let whole = found.len() == chunk.len();
                    let mut waiters = this.waiters.lock().expect("not poisoned");
                    for document in found {
                        if let Ok(id) = document.get_object_id("_id")
                            && let Some(waiter) = waiters.remove(&id)
                        {
                            let _ = waiter.send(seen);
                        }
                    }
                    if !whole {
                        break;
                    }
                }
            }
        });
        watcher
    }

    /// Resolves with the instant the document was first seen (register before causing it).
    pub fn watch(&self, id: ObjectId) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().expect("not poisoned").insert(id, tx);
        self.wake.notify_one();
        rx
    }

    pub fn forget(&self, id: &ObjectId) {
        self.waiters.lock().expect("not poisoned").remove(id);
    }

    pub fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time spent in polling queries so far.
    pub fn busy(&self) -> Duration {
        Duration::from_micros(self.busy_us.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// What the polling cost between two readings of ([`Watcher::queries`], [`Watcher::busy`]),
    /// over a window of `seconds`, for a row's note.
    pub fn cost(&self, since: (u64, Duration), seconds: f64) -> String {
        let queries = self.queries() - since.0;
        let busy = self.busy().saturating_sub(since.1).as_secs_f64();
        format!(
            "{queries} queries of ≤{CHUNK} ids, {:.0}/s, waited on {:.2} s = {:.1}% of the {seconds:.1} s run",
            queries as f64 / seconds.max(1e-9),
            busy,
            100.0 * busy / seconds.max(1e-9)
        )
    }

    /// A reading for [`Watcher::cost`].
    pub fn mark(&self) -> (u64, Duration) {
        (self.queries(), self.busy())
    }

    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.wake.notify_one();
    }
}
