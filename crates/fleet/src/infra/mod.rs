//! The servers the tests and the local fleet run on: NATS with JetStream, Redis, one MongoDB
//! server per owning service (mongod, or the wire-compatible SecantusDB) as in Kubernetes, and the
//! Stripe mock. Each runs from its own directory under `$INFRA_DIR` (data, log, pid, port) on a
//! free loopback port, is reused while it runs, and comes back on the same port and data when it
//! is started again: a crash (`kill`) or a restart keeps every URL valid.
//!
//! `scripts/infra.sh` installs the programs and says where they are ([`Programs`]); `fleet infra
//! start|stop|kill|restart|status` and the fault tests come here. What runs is written to
//! `infra.json` (for programs, with the programs, so that a test can restart a server) and
//! `env.sh` (for people and scripts, to source).

mod programs;
mod readiness;
mod records;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::Infra as InfraState;
use crate::state::{INFRA_FILE, RunDir, read_json};
use crate::supervisor::{
    SuperviseError, Supervisor, append_log, free_ports, io, log_tail, port_released, running,
    seconds_from_env, spawn_logged,
};
pub use programs::Programs;
use programs::{Kind, kind};

/// Every server, in the order they start.
pub const SERVERS: [&str; 7] = [
    "nats",
    "redis",
    "auth-mongo",
    "tickets-mongo",
    "orders-mongo",
    "payments-mongo",
    "stripe",
];

/// The server env.sh's `MONGO_URL`, `MONGO_PORT` and `MONGO_PID` name, for tools that want one.
const DEFAULT_MONGO: &str = "tickets-mongo";

/// The infra servers of one directory.
pub struct Servers {
    dir: PathBuf,
    programs: Programs,
    /// How long a server may take to serve.
    pub start_timeout: Duration,
    /// Between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// The Stripe mock's log level.
    pub stripe_log_level: String,
    http: reqwest::Client,
}

impl Servers {
    /// The servers of `dir` run by `programs`; INFRA_START_TIMEOUT and INFRA_STOP_GRACE (seconds)
    /// and STRIPE_MOCK_LOG_LEVEL from the environment.
    pub fn new(dir: impl Into<PathBuf>, programs: Programs) -> Self {
        Self {
            dir: dir.into(),
            programs,
            start_timeout: seconds_from_env("INFRA_START_TIMEOUT", 60),
            stop_grace: seconds_from_env("INFRA_STOP_GRACE", 10),
            stripe_log_level: std::env::var("STRIPE_MOCK_LOG_LEVEL")
                .unwrap_or_else(|_| "info".into()),
            http: reqwest::Client::new(),
        }
    }

    /// The servers of `dir` as they were last started (their programs from its infra.json).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, SuperviseError> {
        let dir = dir.into();
        let state: InfraState = read_json(&dir.join(INFRA_FILE))?;
        let programs = state.programs.ok_or_else(|| {
            SuperviseError::Io(
                format!("{}: names no programs", dir.join(INFRA_FILE).display()),
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
        Ok(Self::new(dir, programs))
    }

    /// The servers `names` stand for (none: all; `mongo`: the four MongoDB servers).
    pub fn named(names: &[String]) -> Result<Vec<&'static str>, SuperviseError> {
        if names.is_empty() {
            return Ok(SERVERS.to_vec());
        }
        let mut servers = Vec::new();
        for name in names {
            if name == "mongo" {
                servers.extend(SERVERS.iter().filter(|server| kind(server) == Kind::Mongo));
                continue;
            }
            match SERVERS.iter().find(|server| *server == name) {
                Some(server) => servers.push(*server),
                None => return Err(SuperviseError::UnknownServer(name.clone())),
            }
        }
        Ok(servers)
    }

    /// A server's records beside its data and log: one value per file (port, pid, monitor_port).
    fn records(&self, server: &str) -> RunDir {
        RunDir(self.dir.join(server))
    }

    fn path(&self, server: &str, file: &str) -> PathBuf {
        self.records(server).path(file)
    }

    /// A recorded number; None when missing or not a number (a server never started).
    fn number<T: std::str::FromStr>(&self, server: &str, file: &str) -> Option<T> {
        self.records(server).read(file)?.parse().ok()
    }

    fn write(&self, server: &str, file: &str, value: impl ToString) -> Result<(), SuperviseError> {
        let path = self.path(server, file);
        std::fs::write(&path, value.to_string()).map_err(io(path.display().to_string()))
    }

    fn port(&self, server: &str) -> Option<u16> {
        self.number(server, "port")
    }

    /// The server's pid, if that process runs and is this server: a pid recorded before a
    /// reboot may since belong to another program.
    fn pid(&self, server: &str) -> Option<u32> {
        let pid: u32 = self.number(server, "pid")?;
        let token = match kind(server) {
            Kind::Nats => "nats-server",
            Kind::Redis => "redis-server",
            Kind::Mongo if self.programs.mongod() => "mongod",
            Kind::Mongo => "secantusd",
            Kind::Stripe => "stripe-mock",
        };
        let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let command_line = String::from_utf8_lossy(&command_line);
        (running(pid) && command_line.contains(token)).then_some(pid)
    }

    fn url(&self, server: &str) -> Option<String> {
        let port = self.port(server)?;
        Some(match kind(server) {
            Kind::Nats => format!("nats://127.0.0.1:{port}"),
            Kind::Redis => format!("redis://127.0.0.1:{port}"),
            Kind::Mongo => format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            Kind::Stripe => format!("http://127.0.0.1:{port}"),
        })
    }

    fn nats_monitor_url(&self) -> Option<String> {
        let port: u16 = self.number("nats", "monitor_port")?;
        Some(format!("http://127.0.0.1:{port}"))
    }

    async fn ready(&self, server: &str) -> bool {
        let Some(port) = self.port(server) else {
            return false;
        };
        match kind(server) {
            Kind::Nats => match self.nats_monitor_url() {
                Some(monitor) => readiness::nats(&self.http, &monitor).await,
                None => false,
            },
            Kind::Redis => readiness::redis(port).await,
            Kind::Mongo => readiness::mongo(port, self.programs.mongod()).await,
            Kind::Stripe => readiness::stripe(&self.http, port).await,
        }
    }

    /// Holds the directory while servers are started or stopped: two callers (a test restarting
    /// one, a script stopping all) never interleave.
    fn lock(&self) -> Result<File, SuperviseError> {
        std::fs::create_dir_all(&self.dir).map_err(io(self.dir.display().to_string()))?;
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(path.display().to_string()))?;
        file.lock().map_err(io(path.display().to_string()))?;
        Ok(file)
    }

    /// Starts `servers` (reusing those that run), waits until each serves, and writes the
    /// state. Says what it did, a line per server.
    pub async fn start(&self, servers: &[&str]) -> Result<(), SuperviseError> {
        let _lock = self.lock()?;
        let mut launched = Vec::new();
        for server in servers {
            launched.push(self.launch(server).await?);
        }
        for (server, started) in servers.iter().zip(launched) {
            self.wait(server, started).await?;
        }
        self.write_state()
    }

    /// Launches one server unless it runs; returns when it was launched (None: reused). Every
    /// server is launched before any is waited for, so they start side by side.
    async fn launch(&self, server: &str) -> Result<Option<Instant>, SuperviseError> {
        let dir = self.dir.join(server);
        std::fs::create_dir_all(&dir).map_err(io(dir.display().to_string()))?;
        if self.pid(server).is_some() {
            return Ok(None);
        }
        let port = self.choose_port(server, "port").await?;
        let monitor = match kind(server) {
            Kind::Nats => Some(self.choose_port(server, "monitor_port").await?),
            _ => None,
        };
        let data = dir.join(if kind(server) == Kind::Nats {
            "store"
        } else {
            "data"
        });
        std::fs::create_dir_all(&data).map_err(io(data.display().to_string()))?;
        let mut command = self.programs.command(server, port, monitor, &data);
        if kind(server) == Kind::Stripe {
            command.env("LOG_LEVEL", &self.stripe_log_level);
        }
        let log_path = dir.join("log");
        let log = append_log(&log_path, &format!("starting: {command:?}"))?;
        let started = spawn_logged(&mut command, log, &log_path)?;
        self.write(server, "pid", started.pid)?;
        Ok(Some(Instant::now()))
    }

    /// The port recorded in `file` (so a server comes back where its clients look for it), else
    /// a free one no other server of this directory has recorded. A server stopped a moment ago
    /// may hold its port until its last thread is gone: the recorded port is waited for a while.
    async fn choose_port(&self, server: &str, file: &str) -> Result<u16, SuperviseError> {
        if let Some(port) = self.number::<u16>(server, file) {
            if port_released(port).await {
                return Ok(port);
            }
            println!(
                "infra: {server}: port {port} is taken by another process; choosing a new one"
            );
        }
        self.new_port(server, file)
    }

    fn new_port(&self, server: &str, file: &str) -> Result<u16, SuperviseError> {
        let recorded: Vec<u16> = SERVERS
            .iter()
            .flat_map(|other| {
                [
                    self.number(other, "port"),
                    self.number(other, "monitor_port"),
                ]
            })
            .flatten()
            .collect();
        let port = free_ports(1, &recorded)?[0];
        self.write(server, file, port)?;
        Ok(port)
    }

    /// Waits until a launched server serves; one that exits, or does not serve in time (it is
    /// killed then), fails the start with its log.
    async fn wait(&self, server: &str, launched: Option<Instant>) -> Result<(), SuperviseError> {
        let pid = self.number::<u32>(server, "pid").unwrap_or_default();
        let url = self.url(server).unwrap_or_default();
        let deadline = Instant::now() + self.start_timeout;
        let log = self.path(server, "log");
        while !self.ready(server).await {
            if !running(pid) {
                let _ = std::fs::remove_file(self.path(server, "pid"));
                return Err(SuperviseError::Exited(server.to_owned(), log_tail(&log)));
            }
            if Instant::now() >= deadline {
                Supervisor::signal(pid, Signal::SIGKILL)?;
                let _ = std::fs::remove_file(self.path(server, "pid"));
                return Err(SuperviseError::NotReady(
                    server.to_owned(),
                    self.start_timeout,
                    "no answer; killed".into(),
                    log_tail(&log),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match launched {
            Some(at) => println!(
                "infra: {server}: started in {:.1}s (pid {pid}, {url})",
                at.elapsed().as_secs_f64()
            ),
            None => println!("infra: {server}: still running, reused (pid {pid}, {url})"),
        }
        Ok(())
    }

    /// Stops `servers` with `signal` (SIGTERM: SIGKILL after the grace period; SIGKILL: a
    /// crash), keeping their data and logs, and writes the state.
    pub async fn stop(&self, servers: &[&str], signal: Signal) -> Result<(), SuperviseError> {
        let _lock = self.lock()?;
        self.stop_locked(servers, signal).await?;
        self.write_state()
    }

    async fn stop_locked(&self, servers: &[&str], signal: Signal) -> Result<(), SuperviseError> {
        let mut stopping = Vec::new();
        for server in servers {
            match self.pid(server) {
                Some(pid) => {
                    Supervisor::signal(pid, signal)?;
                    stopping.push((*server, pid));
                }
                None => {
                    let _ = std::fs::remove_file(self.path(server, "pid"));
                }
            }
        }
        let deadline = Instant::now() + self.stop_grace;
        for (server, pid) in stopping {
            let grace = deadline.saturating_duration_since(Instant::now());
            if !Supervisor::gone(pid, Some(grace)).await {
                println!(
                    "infra: {server}: still running after {}s; SIGKILL",
                    self.stop_grace.as_secs()
                );
                Supervisor::signal(pid, Signal::SIGKILL)?;
                Supervisor::gone(pid, None).await;
            }
            let _ = std::fs::remove_file(self.path(server, "pid"));
            println!("infra: {server}: stopped (pid {pid}, {signal})");
        }
        Ok(())
    }

    /// A graceful stop of `servers` (all down at once), then a start on the same ports and data.
    pub async fn restart(&self, servers: &[&str]) -> Result<(), SuperviseError> {
        {
            let _lock = self.lock()?;
            self.stop_locked(servers, Signal::SIGTERM).await?;
        }
        self.start(servers).await
    }

    /// A line per server (running, not ready, or stopped); whether all serve.
    pub async fn status(&self) -> (String, bool) {
        let mut lines = Vec::new();
        let mut all = true;
        for server in SERVERS {
            let url = self.url(server).unwrap_or_default();
            match self.pid(server) {
                Some(pid) if self.ready(server).await => {
                    lines.push(format!("{server:<14} running   pid {pid:<7} {url}"));
                }
                Some(pid) => {
                    all = false;
                    lines.push(format!("{server:<14} NOT READY pid {pid:<7} {url}"));
                }
                None => {
                    all = false;
                    lines.push(format!("{server:<14} stopped"));
                }
            }
        }
        (lines.join("\n"), all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stand_for_servers() {
        let names = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
            Servers::named(&names).map_err(|error| error.to_string())
        };
        assert_eq!(names(&[]).unwrap(), SERVERS.to_vec());
        assert_eq!(
            names(&["mongo", "nats"]).unwrap(),
            [
                "auth-mongo",
                "tickets-mongo",
                "orders-mongo",
                "payments-mongo",
                "nats"
            ]
        );
        assert!(names(&["postgres"]).unwrap_err().contains("postgres"));
    }
}
