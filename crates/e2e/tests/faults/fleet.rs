//! The fleet under test, through its state and supervisor (crates/fleet, which `scripts/fleet.sh
//! kill|start` runs too): kill and start its services' instances, restart its infra servers, and
//! wait for it to be ready.

use std::path::PathBuf;
use std::time::Duration;

use ::fleet::{State, Supervisor};
use tokio::time::{Instant, sleep};

#[derive(Clone)]
pub struct Fleet {
    /// `$FLEET_DIR` (the fleet's env.sh exports it).
    dir: PathBuf,
    root: PathBuf,
    http: reqwest::Client,
}

impl Fleet {
    pub fn new() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        Fleet {
            dir: ::fleet::fleet_dir(),
            root,
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

    /// `scripts/infra.sh ARGS` on the fleet's servers (the infra script owns them), then their
    /// new pids in the fleet's state.
    pub async fn infra(&self, args: &[&str]) -> Result<(), String> {
        let script = self.root.join("scripts/infra.sh");
        let infra_dir = self.state().infra.dir;
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(&script)
                .args(&args)
                .env("INFRA_DIR", infra_dir)
                .output()
                .map_err(|error| format!("{}: {error}", script.display()))
                .map(|output| (args, output))
        })
        .await
        .expect("infra.sh runner")?;
        let (args, output) = output;
        if !output.status.success() {
            return Err(format!(
                "scripts/infra.sh {} failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
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
        if let Err(error) = self.infra(&["start"]).await {
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
