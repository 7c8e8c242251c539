//! The HTTP rows: currentuser, tickets by id, the listing, creating tickets, sign-ups, and
//! each service's start-up.

use super::*;

impl Bench {
    pub(super) async fn current_user(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_fast;
        let path = "/api/users/currentuser".to_owned();
        let cookie = Some(self.seller.clone());

        let floor = FloorServer::start(&self.s.fleet.jwt_key, "bare")?;
        let check = Conn::new(&floor.url)
            .send(Conn::new(&floor.url).get(&path, cookie.as_deref()))
            .await?;
        anyhow::ensure!(
            String::from_utf8_lossy(&check.1).contains("seller@bench.test"),
            "the floor server does not recognise the cookie"
        );
        let sample = self
            .http(
                &floor.url,
                conns,
                StatusCode::OK,
                vec![Probe::tree("axum-floor", floor.pid)],
                get(path.clone(), cookie.clone()),
            )
            .await;
        floor.stop();
        self.push(
            Row::from_sample(
                "floor_axum_currentuser",
                "bare axum: cookie + JWT handler",
                "req",
                &sample,
            )
            .with_cpu(&sample, "axum-floor")
            .floor()
            .note("this binary again as a separate process, default multi-thread runtime, no tracing subscriber"),
        );

        if self.s.diagnostics {
            self.shell_diagnostics(conns, &path, cookie.clone()).await?;
        }

        let (auth_url, _) = self.s.fleet.service("auth")?;
        let sample = self
            .http(
                &auth_url,
                conns,
                StatusCode::OK,
                self.probes(&["auth"], &[]),
                get(path.clone(), cookie.clone()),
            )
            .await;
        self.push(
            Row::from_sample(
                "currentuser_direct",
                "GET /api/users/currentuser (auth)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "auth")
            .against("floor_axum_currentuser"),
        );

        let gateway = self.s.fleet.gateway_url.clone();
        let sample = self
            .http(
                &gateway,
                conns,
                StatusCode::OK,
                self.probes(&["auth"], &["gateway"]),
                get(path, cookie),
            )
            .await;
        let gateway_note = format!(
            "through nginx: {:.0} µs of nginx CPU per request besides auth's",
            sample.cpu_us_per_op("gateway").unwrap_or(f64::NAN)
        );
        self.push(
            Row::from_sample(
                "currentuser_gateway",
                "GET /api/users/currentuser (gateway)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "auth")
            .against("floor_axum_currentuser")
            .note(gateway_note),
        );
        Ok(())
    }

    /// `BENCH_DIAG=1`: the floor again inside the services' HTTP shell, without and then with
    /// the services' tracing subscriber.
    pub(super) async fn shell_diagnostics(
        &mut self,
        conns: usize,
        path: &str,
        cookie: Option<String>,
    ) -> anyhow::Result<()> {
        for subscriber in [false, true] {
            let floor = FloorServer::start(
                &self.s.fleet.jwt_key,
                if subscriber { "shell+tracing" } else { "shell" },
            )?;
            let sample = self
                .http(
                    &floor.url,
                    conns,
                    StatusCode::OK,
                    vec![Probe::tree("axum-floor", floor.pid)],
                    get(path.to_owned(), cookie.clone()),
                )
                .await;
            floor.stop();
            let (key, label) = if subscriber {
                (
                    "diag_shell_tracing",
                    "diag: axum + services' shell + tracing",
                )
            } else {
                ("diag_shell", "diag: axum + services' shell, no subscriber")
            };
            self.push(
                Row::from_sample(key, label, "req", &sample)
                    .with_cpu(&sample, "axum-floor")
                    .against("floor_axum_currentuser"),
            );
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // tickets
    // -----------------------------------------------------------------------------------------

    pub(super) async fn ticket_by_id(&mut self, ids: &[String]) -> anyhow::Result<()> {
        let conns = self.s.conns_db;
        // The raw driver: the same query (find by _id, same projection) on the same database,
        // with the same client options as the service.
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let collection: Collection<Document> = client_db.collection("tickets");
        let oids: Arc<Vec<ObjectId>> = Arc::new(
            ids.iter()
                .filter_map(|id| ObjectId::parse_str(id).ok())
                .collect(),
        );
        let op: Op = {
            let oids = oids.clone();
            let collection = collection.clone();
            Arc::new(move |seq| {
                let id = oids[seq as usize % oids.len()];
                let collection = collection.clone();
                Box::pin(async move {
                    match collection
                        .find_one(doc! { "_id": id })
                        .projection(doc! { "outbox": 0, "cancelledOrders": 0 })
                        .await
                    {
                        Ok(Some(_)) => Ok(()),
                        Ok(None) => Err("not found".into()),
                        Err(error) => Err(error.to_string()),
                    }
                })
            })
        };
        let floor = self
            .floor_of(
                conns,
                &["mongodb"],
                op,
                ("floor_find_by_id", "raw driver: find_one by _id", "req"),
            )
            .await;
        self.push(floor);

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let ids: Arc<Vec<String>> = Arc::new(ids.to_vec());
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            Some(conn.get(
                &format!("/api/tickets/{}", ids[seq as usize % ids.len()]),
                None,
            ))
        });
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::OK,
                self.probes(&["tickets"], &["mongodb"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("ticket_by_id", "GET /api/tickets/:id", "req", &sample)
                .with_cpu(&sample, "tickets")
                .against("floor_find_by_id"),
        );
        Ok(())
    }

    pub(super) async fn ticket_list(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let collection: Collection<Document> = client_db.collection("tickets");
        // The cheapest query that gives the listing's answer on SecantusDB: the filter alone, no
        // sort and no projection (each costs the database more than the fetch), sorted here.
        let op: Op = Arc::new(move |_| {
            let collection = collection.clone();
            Box::pin(async move {
                let cursor = collection
                    .find(doc! { "orderId": null })
                    .await
                    .map_err(|e| e.to_string())?;
                let mut all: Vec<Document> =
                    cursor.try_collect().await.map_err(|e| e.to_string())?;
                all.sort_unstable_by_key(|ticket| ticket.get_object_id("_id").ok());
                if all.len() == 100 {
                    Ok(())
                } else {
                    Err(format!("{} tickets, not 100", all.len()))
                }
            })
        });
        let floor = self
            .floor_of(
                conns,
                &["mongodb"],
                op,
                (
                    "floor_find_100",
                    "raw driver: find 100 (cheapest equivalent: filter only, sorted in the client)",
                    "req",
                ),
            )
            .await;
        self.push(floor);

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::OK,
                self.probes(&["tickets"], &["mongodb"]),
                get("/api/tickets".into(), None),
            )
            .await;
        self.push(
            Row::from_sample(
                "ticket_list_100",
                "GET /api/tickets (100 tickets)",
                "req",
                &sample,
            )
            .with_cpu(&sample, "tickets")
            .against("floor_find_100"),
        );
        Ok(())
    }

    pub(super) async fn create_tickets(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_write;
        let client_db =
            common::mongo::connect(&self.s.fleet.mongo_url("tickets"), "tickets").await?;
        let scratch: Collection<Document> = client_db.collection("bench_floor_tickets");
        let user_id = self.seller_id.clone();
        let op: Op = Arc::new(move |seq| {
            let scratch = scratch.clone();
            let user_id = user_id.clone();
            Box::pin(async move {
                let id = ObjectId::new();
                let payload = json!({ "id": id.to_hex(), "version": 0, "title": format!("Floor {seq}"), "price": 20.5, "userId": user_id }).to_string();
                let document = doc! {
                    "_id": id, "title": format!("Floor {seq}"), "priceCents": 2050_i64,
                    "userId": &user_id, "version": 0_i64,
                    "outbox": [{ "id": format!("ticket.created:{}", id.to_hex()), "subject": "ticket.created", "payload": payload }],
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
                    "floor_insert",
                    "raw driver: insert_one (ticket-shaped)",
                    "req",
                ),
            )
            .await;
        self.push(floor);

        let (tickets_url, _) = self.s.fleet.service("tickets")?;
        let seller = self.seller.clone();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body = json!({ "title": format!("Bench ticket {seq}"), "price": "20.50" });
            Some(conn.post_json("/api/tickets", &body, Some(&seller)))
        });
        let sample = self
            .http(
                &tickets_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["tickets"], &["mongodb", "nats"]),
                make,
            )
            .await;
        let row = Row::from_sample("ticket_create", "POST /api/tickets", "req", &sample)
            .with_cpu(&sample, "tickets")
            .against("floor_insert")
            .note("per request: insert with the event in the document; then (async) publish + $pull of the outbox, and the orders replica's upsert");
        self.push(row);
        self.settle_tickets().await
    }

    // -----------------------------------------------------------------------------------------
    // orders
    // -----------------------------------------------------------------------------------------

    pub(super) async fn signup(&mut self) -> anyhow::Result<()> {
        let conns = self.s.conns_signup;
        let op: Op = Arc::new(|seq| {
            Box::pin(async move {
                tokio::task::spawn_blocking(move || {
                    floors::argon2_hash(&format!("password{}", seq % 10))
                })
                .await
                .map_err(|e| e.to_string())?
            })
        });
        let floor = self
            .floor_of(
                conns,
                &[],
                op,
                ("floor_argon2", "argon2id hash alone (0.6 defaults)", "hash"),
            )
            .await;
        self.push(floor.note("in-process, one hash per worker at a time: m=19 MiB, t=2, p=1"));

        let (auth_url, _) = self.s.fleet.service("auth")?;
        let run = ObjectId::new().to_hex();
        let make: MakeRequest = Arc::new(move |conn: &Conn, seq| {
            let body =
                json!({ "email": format!("user{seq}.{run}@bench.test"), "password": "password" });
            Some(conn.post_json("/api/users/signup", &body, None))
        });
        let sample = self
            .http(
                &auth_url,
                conns,
                StatusCode::CREATED,
                self.probes(&["auth"], &["mongodb"]),
                make,
            )
            .await;
        self.push(
            Row::from_sample("signup", "POST /api/users/signup", "req", &sample)
                .with_cpu(&sample, "auth")
                .against("floor_argon2"),
        );
        let (auth_url, pid) = self.s.fleet.service("auth")?;
        self.signup_burst = Some(burst::signups(&auth_url, pid).await?);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // events
    // -----------------------------------------------------------------------------------------

    /// Starts the release binary with the fleet's settings on a free port, `ready_runs` times;
    /// milliseconds from spawn to the first 200 of /readyz (polled every 5 ms), and the RSS then.
    pub(super) async fn startup(&self, service: &str) -> anyhow::Result<(Vec<f64>, Option<f64>)> {
        let binary = self.s.bin_dir.join(service);
        anyhow::ensure!(binary.exists(), "no binary {}", binary.display());
        let f = &self.s.fleet;
        let mut times = Vec::new();
        let mut rss = None;
        for _ in 0..self.s.ready_runs {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut command = std::process::Command::new(&binary);
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("PORT", port.to_string())
                .env("JWT_KEY", &f.jwt_key)
                .env("NATS_URL", &f.nats_url)
                .env("COOKIE_SECURE", "false")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            match service {
                "auth" | "tickets" | "orders" | "payments" => {
                    command.env("MONGO_URL", f.mongo_url(service));
                }
                _ => {}
            }
            match service {
                "payments" => {
                    command
                        .env("STRIPE_KEY", "sk_test_mock")
                        .env("STRIPE_API_BASE", &f.stripe_api_base);
                }
                "expiration" => {
                    command.env("REDIS_URL", &f.redis_url);
                }
                "client" => {
                    command.env("API_URL", &f.gateway_url);
                }
                _ => {}
            }
            let url = format!("http://127.0.0.1:{port}");
            let spawned = Instant::now();
            let mut child = command
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let pid = child.id();
            let mut ready = None;
            while spawned.elapsed() < Duration::from_secs(10) {
                let mut conn = Conn::new(&url);
                if let Ok((status, _)) = conn.send(conn.get("/readyz", None)).await
                    && status == StatusCode::OK
                {
                    ready = Some(spawned.elapsed());
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    bail!("{service} exited during start-up: {status}");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            rss = procfs::rss_mib(pid).or(rss);
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let stopping = Instant::now();
            while child.try_wait()?.is_none() {
                if stopping.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            match ready {
                Some(ready) => times.push(ready.as_secs_f64() * 1000.0),
                None => bail!("{service} was not ready within 10 s"),
            }
        }
        Ok((times, rss))
    }
}
