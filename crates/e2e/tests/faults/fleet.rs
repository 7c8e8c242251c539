//! The fleet, through `scripts/fleet.sh`: kill, start and restart its parts, and wait for it to
//! be ready.

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::{Instant, sleep};

#[derive(Clone)]
pub struct Fleet {
    root: PathBuf,
    http: reqwest::Client,
}

impl Fleet {
    pub fn new() -> Self {
        Fleet {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap(),
        }
    }

    /// `scripts/fleet.sh ARGS` on the fleet of `FLEET_DIR` (its env.sh exports it).
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let script = self.root.join("scripts/fleet.sh");
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let output = std::process::Command::new(&script)
                .args(&args)
                .output()
                .map_err(|error| format!("{}: {error}", script.display()))?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            if output.status.success() {
                Ok(text)
            } else {
                Err(format!(
                    "scripts/fleet.sh {} failed ({}):\n{text}",
                    args.join(" "),
                    output.status
                ))
            }
        })
        .await
        .expect("fleet.sh runner")
    }

    pub async fn must(&self, args: &[&str]) {
        if let Err(error) = self.run(args).await {
            panic!("{error}");
        }
    }

    /// The fleet's service instances (`auth`, or `auth#2` with several replicas) and their
    /// direct URLs (from the fleet's env.sh).
    fn services() -> Vec<(String, String)> {
        let names = std::env::var("FLEET_INSTANCES")
            .or_else(|_| std::env::var("FLEET_SERVICES"))
            .unwrap_or_else(|_| "auth tickets orders payments expiration client".into());
        names
            .split_whitespace()
            .map(|name| {
                let variable = format!("{}_URL", name.to_uppercase().replace('#', "_"));
                let url = std::env::var(&variable).unwrap_or_else(|_| {
                    panic!(
                        "{variable} is not set: source the fleet's env.sh (scripts/test.sh does)"
                    )
                });
                (name.to_owned(), url)
            })
            .collect()
    }

    /// How many instances of each service run.
    pub fn replicas() -> usize {
        std::env::var("FLEET_REPLICAS")
            .ok()
            .and_then(|replicas| replicas.parse().ok())
            .unwrap_or(1)
    }

    async fn ready(&self, url: &str) -> bool {
        match self.http.get(format!("{url}/readyz")).send().await {
            Ok(response) => response.status() == 200,
            Err(_) => false,
        }
    }

    /// Waits until every service answers its /readyz with 200; else names those that do not.
    pub async fn all_ready(&self, patience: Duration) -> Result<(), String> {
        let deadline = Instant::now() + patience;
        loop {
            let mut down = Vec::new();
            for (name, url) in Self::services() {
                if !self.ready(&url).await {
                    down.push(name);
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
        if let Err(error) = self.run(&["infra", "start"]).await {
            eprintln!("faults: restoring the infra: {error}");
        }
        for (name, url) in Self::services() {
            if !self.ready(&url).await {
                // Fails harmlessly when it runs and is only slow to get ready.
                if let Err(error) = self.run(&["start", &name]).await {
                    eprintln!("faults: restoring {name}: {error}");
                }
            }
        }
        self.all_ready(Duration::from_secs(60)).await
    }
}
