//! What runs each server, as scripts/infra.sh found or installed it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Where the servers' programs are, as `scripts/infra.sh` found or installed them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Programs {
    pub nats: PathBuf,
    /// `mongod`, or `secantus` (the stand-in, a Python program run by `python`).
    pub mongo_kind: String,
    pub mongo: PathBuf,
    /// The Python that runs SecantusDB.
    pub python: PathBuf,
    /// The `stripe-stateful-mock` package's directory.
    pub stripe_mock: PathBuf,
}

impl Programs {
    /// From the environment scripts/infra.sh exports: NATS_BIN, MONGO_KIND, MONGO_BIN, VENV_PY,
    /// STRIPE_MOCK_DIR.
    pub fn from_env() -> Self {
        let path = |name: &str| PathBuf::from(std::env::var_os(name).unwrap_or_default());
        Self {
            nats: path("NATS_BIN"),
            mongo_kind: std::env::var("MONGO_KIND").unwrap_or_else(|_| "secantus".into()),
            mongo: path("MONGO_BIN"),
            python: path("VENV_PY"),
            stripe_mock: path("STRIPE_MOCK_DIR"),
        }
    }

    pub(super) fn mongod(&self) -> bool {
        self.mongo_kind == "mongod"
    }

    /// The command that runs `server` on `port` with its data in `data` (NATS: its store, and its
    /// monitor on `monitor`).
    pub(super) fn command(
        &self,
        server: &str,
        port: u16,
        monitor: Option<u16>,
        data: &Path,
    ) -> Command {
        let port_text = port.to_string();
        match kind(server) {
            Kind::Nats => {
                let mut command = Command::new(&self.nats);
                command.args(["-a", "127.0.0.1", "-js", "-p", &port_text]);
                if let Some(monitor) = monitor {
                    command.args(["-m", &monitor.to_string()]);
                }
                command
                    .arg("-sd")
                    .arg(data)
                    .args(["--server_name", &format!("ticketing-{port}")]);
                command
            }
            Kind::Redis => {
                let mut command = Command::new("redis-server");
                command
                    .args(["--bind", "127.0.0.1", "--port", &port_text, "--dir"])
                    .arg(data)
                    .args([
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "everysec",
                        "--save",
                        "",
                    ])
                    .args(["--daemonize", "no", "--protected-mode", "yes"]);
                command
            }
            Kind::Mongo if self.mongod() => {
                let mut command = Command::new(&self.mongo);
                command
                    .args(["--bind_ip", "127.0.0.1", "--port", &port_text, "--dbpath"])
                    .arg(data)
                    .args(["--replSet", "secantus"]);
                command
            }
            Kind::Mongo => {
                let mut command = Command::new(&self.python);
                command
                    .arg(&self.mongo)
                    .args([
                        "--host",
                        "127.0.0.1",
                        "--port",
                        &port_text,
                        "--storage-path",
                    ])
                    .arg(data)
                    .args(["--log-level", "INFO"]);
                command
            }
            Kind::Stripe => {
                // The package's own command listens on every interface; this, on loopback only.
                let mut command = Command::new("node");
                command
                    .args(["-e", STRIPE_MOCK, "stripe-mock"])
                    .env("MOCK_DIR", &self.stripe_mock)
                    .env("PORT", &port_text);
                command
            }
        }
    }
}

/// What a server is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Nats,
    Redis,
    Mongo,
    Stripe,
}

pub(super) fn kind(server: &str) -> Kind {
    match server {
        "nats" => Kind::Nats,
        "redis" => Kind::Redis,
        "stripe" => Kind::Stripe,
        _ => Kind::Mongo,
    }
}

/// The Stripe mock, bound to loopback (`node -e`; MOCK_DIR, PORT and LOG_LEVEL from the
/// environment).
const STRIPE_MOCK: &str = r#"
const mock = process.env.MOCK_DIR;
const log = require(require.resolve("loglevel", { paths: [mock] }));
log.setLevel(process.env.LOG_LEVEL);
const app = require(mock).createExpressApp();
app.listen(+process.env.PORT, "127.0.0.1", () => log.info("stripe-mock listening on 127.0.0.1:" + process.env.PORT));
"#;
