//! The fleet under test, through its state and supervisors (crates/fleet, which `scripts/fleet.sh
//! kill|start` and `scripts/infra.sh` run too): kill and start its services' instances, restart
//! its infra servers, and wait for it to be ready.

use std::path::PathBuf;
use std::time::Duration;

use ::fleet::infra::Servers;
use ::fleet::{State, Supervisor};
use tokio::time::{Instant, sleep};

#[derive(Clone)]
pub struct Fleet {
    /// `$FLEET_DIR` (the fleet's env.sh exports it).
    dir: PathBuf,
    http: reqwest::Client,
}

impl Fleet {
    pub fn new() -> Self {
        Fleet {
            dir: ::fleet::fleet_dir(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap(),
        }
    }

    /// The fleet as its supervisor last wrote it (`$FLEET_DIR/fleet.json`).
    pub fn state(&self) -> State {
        State::load(&self.dir).unwrap_or_else(|error| panic!("the fleet under test: {error}"))
    }

    /// SIGKILL one instance (SERVICE is its first): a crash.
    pub async fn kill(&self, instance: &str) {
        if let Err(error) = Supervisor::of(&self.dir).kill(instance).await {
            panic!("killing {instance}: {error}");
        }
    }

    /// Starts a killed instance again, as it first ran, and waits for its readiness.
    pub async fn start(&self, instance: &str) -> Result<(), String> {
        Supervisor::of(&self.dir)
            .start(instance)
            .await
            .map(drop)
            .map_err(|error| format!("starting {instance}: {error}"))
    }

    /// Restarts infra servers (`nats`, `redis`, `mongo` for the four MongoDB servers; none: starts
    /// every server that is down) on their ports and data, then writes their new pids into the
    /// fleet's state.
    pub async fn infra(&self, restart: &[&str]) -> Result<(), String> {
        let servers = Servers::open(self.state().infra.dir).map_err(|error| error.to_string())?;
        let names: Vec<String> = restart.iter().map(|name| (*name).to_owned()).collect();
        let named = Servers::named(&names).map_err(|error| error.to_string())?;
        let failed = |error: ::fleet::SuperviseError| format!("infra servers: {error}");
        if restart.is_empty() {
            servers.start(&named).await.map_err(failed)?;
        } else {
            servers.restart(&named).await.map_err(failed)?;
        }
        Supervisor::of(&self.dir)
            .refresh_state()
            .map_err(|error| error.to_string())
    }

    /// How many instances of each service run.
    pub fn replicas(&self) -> usize {
        self.state().replicas
    }

    async fn ready(&self, url: &str) -> bool {
        match self.http.get(format!("{url}/readyz")).send().await {
            Ok(response) => response.status() == 200,
            Err(_) => false,
        }
    }

    /// Waits until every instance answers its /readyz with 200; else names those that do not.
    pub async fn all_ready(&self, patience: Duration) -> Result<(), String> {
        let deadline = Instant::now() + patience;
        let instances = self.state().instances;
        loop {
            let mut down = Vec::new();
            for instance in &instances {
                if !self.ready(&instance.url).await {
                    down.push(instance.name.clone());
                }
            }
            if down.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready: {}", down.join(", ")));
            }
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// Starts whatever a failed run left down: infra servers, then services.
    pub async fn restore(&self) -> Result<(), String> {
        if self.all_ready(Duration::from_secs(5)).await.is_ok() {
            return Ok(());
        }
        if let Err(error) = self.infra(&[]).await {
            eprintln!("faults: restoring the infra: {error}");
        }
        for instance in self.state().instances {
            if !self.ready(&instance.url).await {
                // Fails harmlessly when it runs and is only slow to get ready.
                if let Err(error) = self.start(&instance.name).await {
                    eprintln!("faults: restoring: {error}");
                }
            }
        }
        self.all_ready(Duration::from_secs(60)).await
    }
}
