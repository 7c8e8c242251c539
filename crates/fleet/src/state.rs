//! A running fleet, as its launch (`fleet up`, from `scripts/fleet.sh`) left it:
//! `$FLEET_DIR/fleet.json`, beside the `env.sh` kept for people. Programs (the benchmark, the
//! tests) read this instead of the environment or generated shell.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file in a fleet's directory.
pub const STATE_FILE: &str = "fleet.json";
/// The same for people, to source.
pub const ENV_FILE: &str = "env.sh";
/// The infra servers' state, written by [`crate::infra`] in their directory.
pub const INFRA_FILE: &str = "infra.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source} (is a fleet running? scripts/fleet.sh --detach starts one)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a fleet state: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The fleet's directory: logs, pids, the gateway's config, env.sh, this state.
    pub dir: PathBuf,
    pub gateway: Gateway,
    pub prometheus_url: Option<String>,
    /// Instances of every service.
    pub replicas: usize,
    /// The key every service signs and checks sessions with.
    pub jwt_key: String,
    /// Every instance of every service, in start-up order.
    pub instances: Vec<Instance>,
    pub infra: Infra,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gateway {
    pub url: String,
    pub port: u16,
    /// None while it does not run.
    pub pid: Option<u32>,
}

/// One instance of a service: `auth` (its first), `auth#2`, ...
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub service: String,
    pub url: String,
    pub port: u16,
    /// None while it does not run (killed, or not started again yet).
    pub pid: Option<u32>,
    pub metrics_port: u16,
    pub log: PathBuf,
}

/// The servers the fleet runs on ([`crate::infra`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Infra {
    pub dir: PathBuf,
    /// `mongod`, or `secantus` (the wire-compatible stand-in).
    pub mongo_kind: String,
    /// The MongoDB server of tools that want one.
    pub default_mongo: String,
    pub nats_monitor_url: Option<String>,
    /// By name: nats, redis, auth-mongo, tickets-mongo, orders-mongo, payments-mongo, stripe.
    pub servers: BTreeMap<String, InfraServer>,
    /// What runs them, so that they can be started again ([`crate::infra::Servers::open`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<crate::infra::Programs>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfraServer {
    pub url: String,
    pub port: u16,
    /// None while it does not run.
    pub pid: Option<u32>,
}

/// A shell word: single-quoted, a quote inside closed, escaped and reopened.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Writes `text` to `path` through a temporary file, readable by the owner only.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), StateError> {
    let write_error = |source| StateError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(write_error)?;
    file.write_all(text.as_bytes()).map_err(write_error)?;
    std::fs::rename(&tmp, path).map_err(write_error)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StateError> {
    let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| StateError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// The directory of the fleet meant: `FLEET_DIR` (the fleet's env.sh exports it), else the
/// repository's `target/fleet` (scripts/fleet.sh's default).
pub fn fleet_dir() -> PathBuf {
    std::env::var_os("FLEET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fleet"),
        PathBuf::from,
    )
}

impl State {
    /// The state of the fleet in `dir` (`$FLEET_DIR`).
    pub fn load(dir: impl AsRef<Path>) -> Result<State, StateError> {
        read_json(&dir.as_ref().join(STATE_FILE))
    }

    /// Writes it to `dir/fleet.json`, and the same for people to `dir/env.sh`; both readable by
    /// the owner only (they hold the session key).
    pub fn save(&self) -> Result<(), StateError> {
        let mut json = serde_json::to_string_pretty(self).expect("a state serialises");
        json.push('\n');
        write_private(&self.dir.join(STATE_FILE), &json)?;
        write_private(&self.dir.join(ENV_FILE), &self.env_sh())
    }

    /// `env.sh`: the state as shell variables (GATEWAY_URL, AUTH_URL, AUTH_PID, AUTH_2_URL, ...),
    /// then the infra's own env.sh.
    fn env_sh(&self) -> String {
        let pid = |pid: Option<u32>| pid.map(|pid| pid.to_string()).unwrap_or_default();
        let mut services: Vec<&str> = Vec::new();
        for instance in &self.instances {
            if !services.contains(&instance.service.as_str()) {
                services.push(&instance.service);
            }
        }
        let instances: Vec<&str> = self.instances.iter().map(|i| i.name.as_str()).collect();
        let mut lines = vec![
            "# Written by the fleet binary (scripts/fleet.sh); describes the running fleet. Source it.".to_owned(),
            format!("export GATEWAY_URL={}", quoted(&self.gateway.url)),
            format!("export GATEWAY_PID={}", pid(self.gateway.pid)),
            format!("export FLEET_SERVICES={}", quoted(&services.join(" "))),
            format!("export FLEET_REPLICAS={}", self.replicas),
            format!("export FLEET_INSTANCES={}", quoted(&instances.join(" "))),
            format!("export FLEET_DIR={}", quoted(&self.dir.to_string_lossy())),
            format!("export JWT_KEY={}", quoted(&self.jwt_key)),
        ];
        if let Some(url) = &self.prometheus_url {
            lines.push(format!("export PROMETHEUS_URL={}", quoted(url)));
        }
        for instance in &self.instances {
            // AUTH for auth, AUTH_2 for auth#2.
            let prefix = instance.name.to_uppercase().replace('#', "_");
            lines.push(format!("export {prefix}_URL={}", quoted(&instance.url)));
            lines.push(format!(
                "export {prefix}_METRICS_URL='http://127.0.0.1:{}/metrics'",
                instance.metrics_port
            ));
            lines.push(format!("export {prefix}_PID={}", pid(instance.pid)));
        }
        let infra_env = self.infra.dir.join("env.sh");
        lines.push(format!("# infra ({}):", infra_env.display()));
        let infra = std::fs::read_to_string(&infra_env).unwrap_or_default();
        lines.extend(
            infra
                .lines()
                .filter(|line| line.starts_with("export "))
                .map(str::to_owned),
        );
        lines.push(String::new());
        lines.join("\n")
    }

    /// The instance of that name (`auth`, `auth#2`).
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|instance| instance.name == name)
    }

    /// The first instance of a service.
    pub fn first(&self, service: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|instance| instance.service == service)
    }

    /// An infra server by name (`nats`, `orders-mongo`, ...).
    pub fn server(&self, name: &str) -> Option<&InfraServer> {
        self.infra.servers.get(name)
    }

    /// The MongoDB server holding database `db`: its owner's own (`orders-mongo`), else the
    /// default one.
    pub fn mongo_server(&self, db: &str) -> Option<&InfraServer> {
        self.server(&format!("{db}-mongo"))
            .or_else(|| self.server(&self.infra.default_mongo))
    }

    /// The state of the fleet in `dir` as its run directory says now (what [`crate::launch`]
    /// records of each process it starts), on the infra of `infra_dir`.
    pub fn from_run_dir(
        dir: &Path,
        infra_dir: &Path,
        gateway_port: u16,
        jwt_key: String,
    ) -> Result<State, StateError> {
        let run = RunDir::of(dir);
        let instances = run
            .read("instances")
            .unwrap_or_default()
            .split_whitespace()
            .map(|name| run.instance(dir, name))
            .collect::<Result<Vec<Instance>, StateError>>()?;
        let replicas = crate::SERVICES
            .iter()
            .map(|service| {
                instances
                    .iter()
                    .filter(|i| i.service == service.name)
                    .count()
            })
            .max()
            .unwrap_or(0)
            .max(1);
        Ok(State {
            dir: dir.to_owned(),
            gateway: Gateway {
                url: format!("http://127.0.0.1:{gateway_port}"),
                port: gateway_port,
                pid: run.number("gateway.pid")?,
            },
            prometheus_url: run
                .number::<u16>("prometheus.port")?
                .map(|port| format!("http://127.0.0.1:{port}")),
            replicas,
            jwt_key,
            instances,
            infra: read_json(&infra_dir.join(INFRA_FILE))?,
        })
    }
}

/// Records of started processes, one value per file: the launch's (`$FLEET_DIR/run`, which the
/// supervisor and the state read) and each infra server's (`$INFRA_DIR/<server>`).
pub(crate) struct RunDir(pub(crate) PathBuf);

impl RunDir {
    /// The run directory of the fleet in `fleet_dir`.
    pub(crate) fn of(fleet_dir: &Path) -> Self {
        RunDir(fleet_dir.join("run"))
    }

    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The value, trimmed; None when the file is missing or empty.
    pub(crate) fn read(&self, file: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.0.join(file)).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn number<T: std::str::FromStr>(&self, file: &str) -> Result<Option<T>, StateError> {
        self.read(file)
            .map(|text| {
                text.parse().map_err(|_| StateError::Invalid {
                    path: self.0.join(file),
                    what: format!("'{text}' is not a number"),
                })
            })
            .transpose()
    }

    fn required<T: std::str::FromStr>(&self, file: &str) -> Result<T, StateError> {
        self.number(file)?.ok_or_else(|| StateError::Invalid {
            path: self.0.join(file),
            what: "missing or empty".into(),
        })
    }

    fn instance(&self, fleet_dir: &Path, name: &str) -> Result<Instance, StateError> {
        let port = self.required(&format!("{name}.port"))?;
        Ok(Instance {
            name: name.to_owned(),
            service: name.split('#').next().unwrap_or(name).to_owned(),
            url: format!("http://127.0.0.1:{port}"),
            port,
            pid: self.number(&format!("{name}.pid"))?,
            metrics_port: self.required(&format!("{name}.metrics_port"))?,
            log: fleet_dir.join("logs").join(format!("{name}.log")),
        })
    }
}
