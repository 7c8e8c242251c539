//! The event rows: the JetStream floor, the replica's lag at open-loop rates, the backlog, and
//! the raw upsert floor.

use super::*;

impl Bench {
    /// The event rows: the JetStream floor, the lag at each open-loop rate, the backlog
    /// (saturation) run, and the raw upsert floor in two halves around the backlog.
    ///
    /// SecantusDB keeps a record of every retryable write for 30 minutes (up to 10,000) and walks
    /// them all on every write, so its upserts slow down as writes add up over a run: the upsert
    /// floor runs half just before and half just after the backlog, so that on average both see
    /// as many earlier writes; each row's note says how many the orders server had taken.
    pub(super) async fn event_lag(&mut self) -> anyhow::Result<()> {
        self.settle_consumers().await?;
        let bus = EventBus::connect(&self.s.fleet.nats_url, Namespace::default()).await?;
        let rates = self.s.event_rates.clone();
        let floor_rate = rates.iter().copied().fold(0.0, f64::max);
        if floor_rate > 0.0 {
            self.jetstream_floor(&bus, floor_rate).await?;
        }
        // The upsert floor's row goes before the rows compared with it.
        let floor_at = self.rows.len();
        for rate in rates {
            self.settle_consumers().await?;
            self.lag_at(&bus, rate).await?;
        }
        self.settle_consumers().await?;
        let floor = UpsertFloor::prepare(self).await?;
        let first = floor.run(self).await;
        if self.s.backlog_events > 0 {
            self.settle_consumers().await?;
            self.event_backlog(&bus).await?;
        }
        let second = floor.run(self).await;
        floor.finish(self, first, second, floor_at).await?;
        self.settle_consumers().await
    }

    /// Writes (insert, update, delete commands) the server of `db` took since it started, from
    /// its `serverStatus` opcounters.
    pub(super) async fn writes_taken(&self, db: &Database) -> Option<u64> {
        let status = db
            .client()
            .database("admin")
            .run_command(doc! { "serverStatus": 1 })
            .await
            .ok()?;
        let counters = status.get_document("opcounters").ok()?;
        let count = |name: &str| match counters.get(name) {
            Some(common::bson::Bson::Int32(n)) => *n as u64,
            Some(common::bson::Bson::Int64(n)) => *n as u64,
            Some(common::bson::Bson::Double(n)) => *n as u64,
            _ => 0,
        };
        Some(count("insert") + count("update") + count("delete"))
    }

    /// "the orders server had taken N writes", for a row's note.
    pub(super) async fn orders_writes_note(&self) -> String {
        match self.writes_taken(&self.orders_db).await {
            Some(n) => format!("the orders database server had taken {n} writes before it"),
            None => "the orders database server's write count unknown".to_owned(),
        }
    }

    /// Floor: a JetStream publish → pull-consumer delivery on a stream of our own, with the
    /// consumer settings and the pull loop of the services' listeners.
    pub(super) async fn jetstream_floor(
        &mut self,
        bus: &EventBus,
        rate: f64,
    ) -> anyhow::Result<()> {
        let timing = self.s.lag_timing;
        let name = "BENCH_FLOOR";
        let _ = bus.jetstream().delete_stream(name).await;
        let stream = bus
            .jetstream()
            .create_stream(stream::Config {
                name: name.into(),
                subjects: vec!["benchfloor.>".into()],
                storage: stream::StorageType::File,
                duplicate_window: common::events::bus::DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating the floor stream: {e}"))?;
        let consumer = stream
            .get_or_create_consumer(
                "bench-floor",
                pull::Config {
                    durable_name: Some("bench-floor".into()),
                    filter_subject: "benchfloor.ping".into(),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: Duration::from_secs(30),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the floor consumer: {e}"))?;
        let waiters: Arc<Mutex<HashMap<u64, tokio::sync::oneshot::Sender<Instant>>>> =
            Arc::default();
        let consumer_task = {
            let waiters = waiters.clone();
            let mut messages = consumer
                .stream()
                .heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tokio::spawn(async move {
                while let Some(Ok(message)) = messages.next().await {
                    let seen = Instant::now();
                    if let Some(seq) = std::str::from_utf8(&message.payload)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        && let Some(waiter) = waiters.lock().expect("not poisoned").remove(&seq)
                    {
                        let _ = waiter.send(seen);
                    }
                    let _ = message.ack().await;
                }
            })
        };
        let fire = {
            let bus = bus.clone();
            move |seq: u64| {
                let bus = bus.clone();
                let waiters = waiters.clone();
                async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    waiters.lock().expect("not poisoned").insert(seq, tx);
                    let sent = Instant::now();
                    bus.publish_raw(
                        "benchfloor.ping",
                        &format!("floor:{}:{seq}", ObjectId::new().to_hex()),
                        Bytes::from(seq.to_string()),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    let seen = tokio::time::timeout(Duration::from_secs(10), rx)
                        .await
                        .map_err(|_| "not delivered within 10 s".to_owned())?
                        .map_err(|_| "dropped".to_owned())?;
                    Ok(seen - sent)
                }
            }
        };
        let sample = open_loop(
            rate,
            timing,
            &self.meter.with(self.probes(&[], &["nats", "bench"])),
            fire,
        )
        .await;
        consumer_task.abort();
        let _ = bus.jetstream().delete_stream(name).await;
        self.push(
            Row::from_sample("floor_jetstream", "JetStream publish → pull consumer", "event", &sample)
                .with_cpu(&sample, "nats")
                .floor()
                .note(format!("open loop at {rate:.0} events/s for {:.0} s, file storage, the listeners' consumer settings; latency from publish to delivery", timing.duration.as_secs_f64())),
        );
        Ok(())
    }

    /// The fleet at an open-loop `rate`: ticket.created → visible in the orders replica.
    pub(super) async fn lag_at(&mut self, bus: &EventBus, rate: f64) -> anyhow::Result<()> {
        let timing = self.s.lag_timing;
        let watcher = Watcher::spawn(self.orders_db.collection("tickets"), doc! {}, self.s.poll);
        let seller_id = self.seller_id.clone();
        let fire = {
            let bus = bus.clone();
            let watcher = watcher.clone();
            move |seq: u64| {
                let bus = bus.clone();
                let watcher = watcher.clone();
                let seller_id = seller_id.clone();
                async move {
                    let id = ObjectId::new();
                    let seen = watcher.watch(id);
                    let sent = Instant::now();
                    bus.publish(&TicketCreated {
                        id: id.to_hex(),
                        version: 0,
                        title: format!("Lag probe {seq}"),
                        price: 10.0,
                        user_id: seller_id,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    match tokio::time::timeout(Duration::from_secs(10), seen).await {
                        Ok(Ok(at)) => Ok(at.saturating_duration_since(sent)),
                        _ => {
                            watcher.forget(&id);
                            Err("not in the orders replica within 10 s".to_owned())
                        }
                    }
                }
            }
        };
        let writes = self.orders_writes_note().await;
        let mark = watcher.mark();
        let started = Instant::now();
        let sample = open_loop(
            rate,
            timing,
            &self
                .meter
                .with(self.probes(&["orders"], &["mongodb:orders", "nats"])),
            fire,
        )
        .await;
        let polling = watcher.cost(mark, started.elapsed().as_secs_f64());
        watcher.stop();
        let key = format!("event_lag_{rate:.0}");
        let applied = sample.throughput();
        self.push(
            Row::from_sample(
                &key,
                &format!("ticket.created → orders replica, {rate:.0}/s"),
                "event",
                &sample,
            )
            .with_cpu(&sample, "orders")
            .against("floor_jetstream")
            .rate_against("floor_upsert")
            .note(format!(
                "open loop at {rate:.0} events/s for {secs:.0} s after {warm:.0} s warm-up; p50/p99: publish → seen in orders.tickets (an event not there within 10 s is an error); ops/s = applied rate = {count} events seen / {secs:.0} s measured = {applied:.1}/s, ×rate over the raw upsert floor (an open loop applies at most what it offers: event_backlog is the saturation figure); seen by polling the oldest awaited ids every {poll:.0} ms ({polling}), so lag reads up to one interval late; {writes}",
                secs = timing.duration.as_secs_f64(),
                warm = timing.warmup.as_secs_f64(),
                count = sample.count,
                poll = self.s.poll.as_secs_f64() * 1000.0,
            )),
        );
        Ok(())
    }

    /// Saturation: `backlog_events` ticket.created published as fast as they go, then the time
    /// until the orders listener has applied every one. The replica is not polled meanwhile (on
    /// a database that answers one query at a time, polling would compete with the very upserts
    /// measured, and a poll waits behind up to 16 of them): progress is the orders consumer's
    /// state in JetStream (a message is acknowledged once its upsert returned), asked every
    /// `backlog_poll`; afterwards every id is looked up in the replica.
    pub(super) async fn event_backlog(&mut self, bus: &EventBus) -> anyhow::Result<()> {
        const IN_FLIGHT: usize = 64;
        let n = self.s.backlog_events;
        let poll = self.s.backlog_poll;
        let stream = bus
            .jetstream()
            .get_stream(
                bus.namespace()
                    .stream(TicketCreated::SUBJECT.stream().as_str()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("the ticket.created stream: {e}"))?;
        let durable =
            common::events::listener::durable_name("orders", TicketCreated::SUBJECT.as_str());
        let outstanding = || async {
            let info = stream
                .consumer_info(&durable)
                .await
                .map_err(|e| format!("consumer {durable}: {e}"))?;
            Ok::<u64, String>(info.num_pending + info.num_ack_pending as u64)
        };
        let already = outstanding().await.map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            already == 0,
            "the orders consumer still has {already} ticket.created to handle"
        );

        let writes = self.orders_writes_note().await;
        let ids: Vec<ObjectId> = (0..n).map(|_| ObjectId::new()).collect();
        let meter = self
            .meter
            .with(self.probes(&["orders"], &["mongodb:orders", "nats"]));
        let before = meter.read();
        let start = Instant::now();
        let seller_id = self.seller_id.clone();
        let sent: Vec<Result<(), String>> = futures::stream::iter(ids.iter().enumerate())
            .map(|(seq, id)| {
                let bus = bus.clone();
                let event = TicketCreated {
                    id: id.to_hex(),
                    version: 0,
                    title: format!("Backlog probe {seq}"),
                    price: 10.0,
                    user_id: seller_id.clone(),
                };
                async move { bus.publish(&event).await.map_err(|e| e.to_string()) }
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let published = start.elapsed().as_secs_f64();
        let mut recorder = Recorder::default();
        let publish_errors = sent.iter().filter(|s| s.is_err()).count() as u64;
        if let Some(Err(error)) = sent.iter().find(|s| s.is_err()) {
            recorder.first_error = Some(format!("publishing: {error}"));
        }
        let expected = n as u64 - publish_errors;

        // Progress: every event acknowledged since the last look is recorded as done then
        // (≈ its publish → applied time: all were published within `published` seconds).
        let mut done = 0u64;
        let mut polls = 0u64;
        let mut last = start;
        let deadline = start + Duration::from_secs(180);
        while done < expected && Instant::now() < deadline {
            tokio::time::sleep(poll).await;
            polls += 1;
            let remaining = match outstanding().await {
                Ok(remaining) => remaining,
                Err(error) => {
                    recorder.first_error.get_or_insert(error);
                    continue;
                }
            };
            let now = Instant::now();
            let now_done = expected.saturating_sub(remaining);
            if now_done > done {
                let micros = (now - start).as_micros().max(1) as u64;
                let _ = recorder.hist.record_n(micros, now_done - done);
                done = now_done;
                last = now;
            }
        }
        let after = meter.read();
        let seconds = (last - start).as_secs_f64();

        // Every id must be in the replica (looked up after the clock stopped, 10 at a time).
        let replica = self.orders_db.collection::<Document>("tickets");
        let mut present = 0u64;
        for chunk in ids.chunks(10) {
            let filter = doc! { "_id": { "$in": chunk.to_vec() } };
            present += replica.count_documents(filter).await?;
        }
        let missing = n as u64 - present;
        if missing > 0 {
            recorder.first_error.get_or_insert(format!(
                "{missing} of the {n} not in the orders replica after their acknowledgement (or 180 s)"
            ));
        }
        let sample = Sample {
            concurrency: common::events::listener::LANES,
            count: present.min(done),
            errors: missing.max(n as u64 - done.min(n as u64)),
            hist: recorder.hist,
            first_error: recorder.first_error,
            seconds,
            cpu: meter.delta(&before, &after),
        };
        let applied = sample.throughput();
        self.push(
            Row::from_sample(
                "event_backlog",
                &format!("ticket.created backlog of {n} → replica"),
                "event",
                &sample,
            )
            .with_cpu(&sample, "orders")
            .rate_against("floor_upsert")
            .note(format!(
                "saturation: {n} events published at once ({IN_FLIGHT} publishes in flight, all acknowledged by JetStream after {published:.2} s), then the time until the orders listener (conc: its lanes) had applied all: ops/s = applied rate = {count} events / {seconds:.2} s from the first publish to the last acknowledgement = {applied:.1}/s, ×rate over the raw upsert floor; p50/p99: time from the first publish until half / 99% were applied. Progress read from the orders consumer's state in JetStream every {poll_ms:.0} ms ({polls} requests to NATS, none to the database while the clock runs; a message is acknowledged after its upsert returned), and every id found in orders.tickets afterwards ({checks} queries of ≤10 ids); {writes}",
                count = sample.count,
                poll_ms = poll.as_secs_f64() * 1000.0,
                checks = n.div_ceil(10),
            )),
        );
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // the purchase flow
    // -----------------------------------------------------------------------------------------
}

/// The raw-driver floor of the orders replica's `ticket.created` write: `update_one({_id},
/// {$setOnInsert: {title, priceCents, version}}, upsert)` of a new id each time, from the raw
/// driver with the services' client options, on the orders database server, in a scratch
/// collection as large as the replica, by as many closed-loop writers as the listener has lanes,
/// for the lag duration in two halves.
struct UpsertFloor {
    scratch: Collection<Document>,
    replica_size: u64,
    half: Timing,
    writers: usize,
}

impl UpsertFloor {
    const COLLECTION: &str = "bench_floor_upserts";

    async fn prepare(b: &Bench) -> anyhow::Result<UpsertFloor> {
        let db = common::mongo::connect(&b.s.fleet.mongo_url("orders"), "orders").await?;
        let replica_size = db
            .collection::<Document>("tickets")
            .estimated_document_count()
            .await?;
        let scratch: Collection<Document> = db.collection(Self::COLLECTION);
        let _ = scratch.drop().await;
        db.create_collection(Self::COLLECTION).await?;
        let filler: Vec<Document> = (0..replica_size)
            .map(|i| doc! { "_id": ObjectId::new(), "title": format!("Filler {i}"), "priceCents": 1000_i64, "version": 0_i64 })
            .collect();
        for batch in filler.chunks(1_000) {
            scratch.insert_many(batch.to_vec()).await?;
        }
        Ok(UpsertFloor {
            scratch,
            replica_size,
            half: Timing {
                warmup: b.s.lag_timing.warmup,
                duration: b.s.lag_timing.duration / 2,
            },
            writers: b.s.upsert_writers,
        })
    }

    async fn run(&self, b: &Bench) -> (Sample, String) {
        let writes = match b.writes_taken(&b.orders_db).await {
            Some(n) => n.to_string(),
            None => "?".to_owned(),
        };
        let op: Op = {
            let scratch = self.scratch.clone();
            Arc::new(move |seq| {
                let scratch = scratch.clone();
                Box::pin(async move {
                    let outcome = scratch
                        .update_one(
                            doc! { "_id": ObjectId::new() },
                            doc! { "$setOnInsert": {
                                "title": format!("Floor upsert {seq}"),
                                "priceCents": 1000_i64,
                                "version": 0_i64,
                            } },
                        )
                        .upsert(true)
                        .await
                        .map_err(|e| e.to_string())?;
                    match outcome.upserted_id {
                        Some(_) => Ok(()),
                        None => Err("nothing upserted".to_owned()),
                    }
                })
            })
        };
        let sample = load::ops(
            self.writers,
            self.half,
            &b.meter.with(b.probes(&[], &["bench", "mongodb:orders"])),
            op,
        )
        .await;
        eprintln!(
            "bench: (raw upsert floor, one half: {:.0} upserts/s)",
            sample.throughput()
        );
        (sample, writes)
    }

    async fn finish(
        self,
        b: &mut Bench,
        first: (Sample, String),
        second: (Sample, String),
        at: usize,
    ) -> anyhow::Result<()> {
        let halves = format!(
            "{:.0} and {:.0} upserts/s",
            first.0.throughput(),
            second.0.throughput()
        );
        let (w0, w1) = (first.1, second.1);
        let sample = first.0.merge(second.0);
        let upserted = self
            .scratch
            .estimated_document_count()
            .await
            .unwrap_or(0)
            .saturating_sub(self.replica_size);
        let _ = self.scratch.drop().await;
        let row = Row::from_sample(
            "floor_upsert",
            "raw driver: replica upsert ($setOnInsert)",
            "upsert",
            &sample,
        )
        .with_cpu(&sample, "bench")
        .floor()
        .note(format!(
            "closed loop, {writers} writers (the listener's lanes), {secs:.0} s in two halves of {half:.0} s (after {warm:.0} s warm-up each), just before and just after the backlog ({halves}; the orders server had taken {w0} and {w1} writes before them); each a new _id: update_one({{_id}}, {{$setOnInsert: {{title, priceCents, version}}}}, upsert) as the orders replica's ticket.created, same client options, on the orders database server, in a scratch collection pre-filled to the replica's {size} documents ({upserted} upserted in all); upserts/s and each upsert's latency",
            writers = self.writers,
            secs = sample.seconds,
            half = self.half.duration.as_secs_f64(),
            warm = self.half.warmup.as_secs_f64(),
            size = self.replica_size,
        ));
        b.push_at(at, row);
        Ok(())
    }
}

/// Fires `fire(seq)` at a steady `rate` per second (open loop: a slow answer does not slow the
/// next), records the latencies it returns for the events sent inside the measured window.
async fn open_loop<F, Fut>(rate: f64, timing: Timing, meter: &Meter, fire: F) -> Sample
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Duration, String>> + Send + 'static,
{
    let begin = Instant::now();
    let window_start = begin + timing.warmup;
    let window_end = window_start + timing.duration;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut handles = Vec::new();
    let mut before = None;
    let mut seq = 0;
    loop {
        ticker.tick().await;
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        let measured = now >= window_start;
        if measured && before.is_none() {
            before = Some(meter.read());
        }
        handles.push((measured, tokio::spawn(fire(seq))));
        seq += 1;
    }
    let mut recorder = Recorder::default();
    let mut count = 0;
    let mut errors = 0;
    for (measured, handle) in handles {
        match handle.await {
            Ok(Ok(lag)) if measured => {
                recorder
                    .hist
                    .saturating_record(lag.as_micros().max(1) as u64);
                count += 1;
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                if measured {
                    errors += 1;
                }
                recorder.first_error.get_or_insert(error);
            }
            Err(error) => {
                if measured {
                    errors += 1;
                }
                recorder.first_error.get_or_insert(error.to_string());
            }
        }
    }
    let after = meter.read();
    let before = before.unwrap_or_else(|| after.clone());
    Sample {
        concurrency: 1,
        hist: recorder.hist,
        count,
        errors,
        first_error: recorder.first_error,
        seconds: timing.duration.as_secs_f64(),
        cpu: meter.delta(&before, &after),
    }
}
