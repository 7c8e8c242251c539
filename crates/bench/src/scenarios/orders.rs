//! The order rows: reservations and the whole purchase flow, with the waits that keep one
//! workload's aftermath out of the next one's measurement.

use super::*;

impl Bench {
    /// Lists `n` tickets through the API and waits until the orders replica has them.
    pub(super) async fn seed_tickets(&mut self, n: usize) -> anyhow::Result<Vec<String>> {
        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let mut conn = Conn::new(&tickets_url);
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let body = json!({ "title": format!("Concert #{i}"), "price": 20 + (i % 50) });
            let (status, answer) = conn
                .send(conn.post_json("/api/tickets", &body, Some(&self.seller)))
                .await?;
            anyhow::ensure!(status == StatusCode::CREATED, "seeding a ticket: {status}");
            let answer: Value = serde_json::from_slice(&answer)?;
            ids.push(answer["id"].as_str().unwrap_or_default().to_owned());
        }
        self.settle_tickets().await?;
        Ok(ids)
    }

    /// Waits until every ticket's event went out and reached the orders replica.
    pub(super) async fn settle_tickets(&self) -> anyhow::Result<()> {
        let tickets = self.tickets_db.collection::<Document>("tickets");
        let replica = self.orders_db.collection::<Document>("tickets");
        settle("tickets replicated to orders", || async {
            let source = tickets.count_documents(doc! {}).await?;
            let copies = replica.count_documents(doc! {}).await?;
            let pending = tickets
                .count_documents(doc! { "outbox.id": { "$exists": true } })
                .await?;
            Ok(copies >= source && pending == 0)
        })
        .await?;
        self.settle_consumers().await
    }

    /// Waits until every durable consumer of the fleet has handled everything (nothing pending,
    /// nothing awaiting its acknowledgement), so that one workload's aftermath does not run into
    /// the next one's measurement.
    pub(super) async fn settle_consumers(&self) -> anyhow::Result<()> {
        let bus = &self.bus;
        settle("every event handled by every consumer", || async {
            for name in ["TICKETS", "ORDERS"] {
                let stream = bus
                    .jetstream()
                    .get_stream(name)
                    .await
                    .map_err(|e| anyhow::anyhow!("stream {name}: {e}"))?;
                let mut consumers = stream.consumers();
                while let Some(info) = consumers.next().await {
                    let info = info.map_err(|e| anyhow::anyhow!("consumers of {name}: {e}"))?;
                    if info.num_pending > 0 || info.num_ack_pending > 0 {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })
        .await
    }

    /// Unreserved tickets in the orders replica, not among `exclude`.
    pub(super) async fn free_tickets(&self, exclude: &[String]) -> anyhow::Result<Vec<String>> {
        let replica = self.orders_db.collection::<Document>("tickets");
        let taken: Vec<String> = self
            .orders_db
            .collection::<Document>("orders")
            .find(doc! {})
            .projection(doc! { "ticket.id": 1 })
            .await?
            .try_collect::<Vec<Document>>()
            .await?
            .iter()
            .filter_map(|o| {
                o.get_document("ticket")
                    .ok()?
                    .get_str("id")
                    .ok()
                    .map(str::to_owned)
            })
            .collect();
        let mut skip: std::collections::HashSet<String> = exclude.iter().cloned().collect();
        skip.extend(taken);
        let ids: Vec<String> = replica
            .find(doc! {})
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect::<Vec<Document>>()
            .await?
            .iter()
            .filter_map(|d| d.get_object_id("_id").ok().map(|id| id.to_hex()))
            .filter(|id| !skip.contains(id))
            .collect();
        Ok(ids)
    }

    /// Creates tickets through the API until the replica has `n` free ones.
    pub(super) async fn ensure_free_tickets(
        &self,
        n: usize,
        exclude: &[String],
    ) -> anyhow::Result<Vec<String>> {
        let mut free = self.free_tickets(exclude).await?;
        if free.len() < n {
            let missing = n - free.len();
            eprintln!("bench: creating {missing} more tickets for the orders");
            let (tickets_url, _) = self.s.fleet.service("tickets")?;
            let per = missing.div_ceil(8);
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let url = tickets_url.clone();
                    let seller = self.seller.clone();
                    tokio::spawn(async move {
                        let mut conn = Conn::new(&url);
                        for i in 0..per {
                            let body = json!({ "title": format!("Stock {i}"), "price": 15 });
                            conn.send(conn.post_json("/api/tickets", &body, Some(&seller)))
                                .await?;
                        }
                        anyhow::Ok(())
                    })
                })
                .collect();
            for task in tasks {
                task.await??;
            }
            self.settle_tickets().await?;
            free = self.free_tickets(exclude).await?;
        }
        Ok(free)
    }

    /// Waits until every order's consequences settled: tickets reserved, payments replica.
    pub(super) async fn settle_orders(&self) -> anyhow::Result<()> {
        let orders = self.orders_db.collection::<Document>("orders");
        let payments_replica = self.payments_db.collection::<Document>("orders");
        let tickets = self.tickets_db.collection::<Document>("tickets");
        settle("orders reached tickets and payments", || async {
            let n = orders.count_documents(doc! {}).await?;
            let replicated = payments_replica.count_documents(doc! {}).await?;
            let reserved = tickets
                .count_documents(doc! { "orderId": { "$exists": true } })
                .await?;
            let pending = orders
                .count_documents(doc! { "outbox.id": { "$exists": true } })
                .await?
                + tickets
                    .count_documents(doc! { "outbox.id": { "$exists": true } })
                    .await?;
            Ok(replicated >= n && reserved >= n && pending == 0)
        })
        .await?;
        self.settle_consumers().await
    }

    pub(super) async fn create_orders(&mut self, seeded: &[String]) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let free = self.ensure_free_tickets(3_000, seeded).await?;
        let flow_share = 800.min(free.len() / 4);
        let (for_orders, for_flows) = free.split_at(free.len() - flow_share);
        self.flow_pool = for_flows.to_vec();

        // Floor: what reserve() asks of the database — find the ticket in the replica, insert
        // the order (with its outbox) into a collection with the same two indexes.
        let client_db = common::mongo::connect(&self.s.fleet.mongo_url("orders"), "orders").await?;
        let replica: Collection<Document> = client_db.collection("tickets");
        let scratch: Collection<Document> = client_db.collection("bench_floor_orders");
        scratch
            .create_indexes([
                mongodb::IndexModel::builder()
                    .keys(doc! { "activeTicket": 1 })
                    .options(
                        mongodb::options::IndexOptions::builder()
                            .unique(true)
                            .sparse(true)
                            .build(),
                    )
                    .build(),
                mongodb::IndexModel::builder()
                    .keys(doc! { "userId": 1, "_id": 1 })
                    .build(),
            ])
            .await?;
        let probe_ids: Arc<Vec<ObjectId>> = Arc::new(
            for_orders
                .iter()
                .take(100)
                .filter_map(|id| ObjectId::parse_str(id).ok())
                .collect(),
        );
        let op: Op = Arc::new(move |seq| {
            let replica = replica.clone();
            let scratch = scratch.clone();
            let ticket = probe_ids[seq as usize % probe_ids.len()];
            Box::pin(async move {
                let found = replica
                    .find_one(doc! { "_id": ticket })
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("ticket not in the replica")?;
                let id = ObjectId::new();
                let document = doc! {
                    "_id": id, "userId": "u", "status": "created",
                    "expiresAt": common::bson::DateTime::now(), "version": 0_i64,
                    "ticket": { "id": ticket.to_hex(), "title": found.get_str("title").unwrap_or_default(), "priceCents": 1500_i64, "version": 0_i64 },
                    // unique per insert, as a real order's ticket is
                    "activeTicket": id.to_hex(),
                    "outbox": [{ "id": format!("order.created:{}", id.to_hex()), "subject": "order.created", "payload": "{}" }],
                };
                scratch
                    .insert_one(document)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        });
        let floor = self
            .floor_of(
                conns,
                &["mongodb"],
                op,
                (
                    "floor_find_insert",
                    "raw driver: find_one + insert_one",
                    "req",
                ),
            )
            .await;
        self.push(floor);

        let (orders_url, _) = self.s.fleet.service("orders")?;
        let pool = Arc::new(Mutex::new(for_orders.to_vec()));
        let buyer = self.buyer.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, _| {
            let ticket = pool.lock().expect("not poisoned").pop()?;
            Some(conn.post_json("/api/orders", &json!({ "ticketId": ticket }), Some(&buyer)))
        });
        let sample = self
            .http(
                &orders_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["orders"], &["mongodb", "nats"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("order_create", "POST /api/orders", "req", &sample)
                .with_cpu(&sample, "orders")
                .against("floor_find_insert")
                .note("per request: find the ticket in the replica + insert the order with its event; then (async) publish, tickets' reservation, payments' replica, expiration's job"),
        );
        self.settle_orders().await
    }

    // -----------------------------------------------------------------------------------------
    // signup
    // -----------------------------------------------------------------------------------------

    pub(super) async fn purchase_flow(&mut self) -> anyhow::Result<()> {
        self.settle_consumers().await?;
        // Floor: the Stripe mock's own charge, straight.
        let stripe = self.s.fleet.stripe_api_base.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body =
                format!("amount=1500&currency=usd&source=tok_visa&metadata[orderId]=floor{seq}");
            Request::post("/v1/charges")
                .header("host", conn.host())
                .header("authorization", "Bearer sk_test_mock")
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "idempotency-key",
                    format!("floor-{seq}-{}", ObjectId::new().to_hex()),
                )
                .body(Full::new(Bytes::from(body)))
                .ok()
        });
        let conc = self.s.flow_concurrency;
        let sample = load::http(
            &stripe,
            conc,
            self.s.timing,
            &self.meter.with(self.probes(&[], &["stripe-mock"])),
            StatusCode::OK,
            make,
        )
        .await;
        self.push(
            Row::from_sample(
                "floor_stripe",
                "Stripe mock: POST /v1/charges",
                "req",
                &sample,
            )
            .with_cpu(&sample, "stripe-mock")
            .floor()
            .note("the local stripe-stateful-mock (Node.js) every payment waits on"),
        );

        let (orders_url, orders_pid) = self.s.fleet.service("orders")?;
        let (payments_url, payments_pid) = self.s.fleet.service("payments")?;
        let known = Watcher::spawn(self.payments_db.collection("orders"), doc! {}, self.s.poll);
        let complete = Watcher::spawn(
            self.orders_db.collection("orders"),
            doc! { "status": "complete" },
            self.s.poll,
        );
        let pool = Arc::new(Mutex::new(std::mem::take(&mut self.flow_pool)));
        let steps: Arc<Mutex<Vec<Histogram<u64>>>> =
            Arc::new(Mutex::new((0..4).map(|_| load::histogram()).collect()));
        let buyer = self.buyer.clone();
        let mut pids = vec![orders_pid, payments_pid];
        pids.extend(self.s.fleet.pid("tickets"));
        pids.extend(self.s.fleet.pid("expiration"));
        let mut probes = vec![Probe::trees("services", pids)];
        probes.extend(self.probes(
            &["orders", "payments", "tickets", "expiration"],
            &["mongodb", "nats", "stripe-mock", "redis"],
        ));
        let worker_steps = steps.clone();
        let sample = load::run(
            conc,
            self.s.flow_timing,
            &self.meter.with(probes),
            move |_, ctx| {
                let pool = pool.clone();
                let steps = worker_steps.clone();
                let known = known.clone();
                let complete = complete.clone();
                let buyer = buyer.clone();
                let orders_url = orders_url.clone();
                let payments_url = payments_url.clone();
                async move {
                    let mut recorder = Recorder::default();
                    let mut orders = Conn::new(&orders_url);
                    let mut payments = Conn::new(&payments_url);
                    while ctx.running() {
                        let Some(ticket) = pool.lock().expect("not poisoned").pop() else {
                            break;
                        };
                        match one_flow(
                            &ctx,
                            &mut orders,
                            &mut payments,
                            &known,
                            &complete,
                            &buyer,
                            &ticket,
                        )
                        .await
                        {
                            Ok((started, marks)) => {
                                recorder.ok(&ctx, started);
                                if ctx.running() {
                                    let mut steps = steps.lock().expect("not poisoned");
                                    let mut previous = started;
                                    for (hist, mark) in steps.iter_mut().zip(marks) {
                                        hist.saturating_record(
                                            (mark - previous).as_micros().max(1) as u64,
                                        );
                                        previous = mark;
                                    }
                                }
                            }
                            Err(error) => recorder.error(&ctx, error),
                        }
                    }
                    recorder
                }
            },
        )
        .await;
        let steps = steps.lock().expect("not poisoned");
        let names = [
            "POST order",
            "payments sees it",
            "POST payment",
            "order complete",
        ];
        let breakdown = names
            .iter()
            .zip(steps.iter())
            .map(|(name, hist)| {
                format!(
                    "{name} p50 {:.1} / p99 {:.1} ms",
                    load::quantile_ms(hist, 0.5),
                    load::quantile_ms(hist, 0.99)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        self.push(
            Row::from_sample("purchase_flow", "purchase: order → payment → complete", "flow", &sample)
                .with_cpu(&sample, "services")
                .against("floor_stripe")
                .note(format!(
                    "{conc} buyers in parallel; cpu µs = orders+payments+tickets+expiration per flow; steps: {breakdown}"
                )),
        );
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // start-up
    // -----------------------------------------------------------------------------------------
}

/// One buyer's purchase: the instants each step ended, after the start.
async fn one_flow(
    ctx: &Ctx,
    orders: &mut Conn,
    payments: &mut Conn,
    known: &Watcher,
    complete: &Watcher,
    buyer: &str,
    ticket: &str,
) -> Result<(Instant, [Instant; 4]), String> {
    let _ = ctx;
    let started = Instant::now();
    let (status, body) = orders
        .send(orders.post_json("/api/orders", &json!({ "ticketId": ticket }), Some(buyer)))
        .await
        .map_err(|e| format!("{e:#}"))?;
    if status != StatusCode::CREATED {
        return Err(format!(
            "order: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let ordered = Instant::now();
    let order: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let order_id = order["id"].as_str().unwrap_or_default().to_owned();
    let oid = ObjectId::parse_str(&order_id).map_err(|e| e.to_string())?;
    let wait = |rx: tokio::sync::oneshot::Receiver<Instant>, what: &'static str| async move {
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| format!("{what}: not within 30 s"))?
            .map_err(|_| format!("{what}: watcher gone"))
    };
    let known_at = wait(known.watch(oid), "payments to know the order").await?;
    let done = complete.watch(oid);
    let (status, body) = payments
        .send(payments.post_json(
            "/api/payments",
            &json!({ "orderId": order_id, "token": "tok_visa" }),
            Some(buyer),
        ))
        .await
        .map_err(|e| format!("{e:#}"))?;
    if status != StatusCode::CREATED {
        complete.forget(&oid);
        return Err(format!(
            "payment: HTTP {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let paid = Instant::now();
    let completed = wait(done, "the order to be complete").await?;
    Ok((
        started,
        [ordered, known_at.max(ordered), paid, completed.max(paid)],
    ))
}
