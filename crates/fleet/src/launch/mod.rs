//! The fleet's start and stop: every instance of every service on ports of its own, pointed at
//! the infra servers `scripts/infra.sh` started; the gateway (nginx, its config made from the
//! description); Prometheus when it is installed; then the state (fleet.json, env.sh). In the
//! foreground it watches what it started until one of them exits or it is told to stop.
//! `scripts/fleet.sh` installs and starts the infra, builds the binaries and comes here; each
//! start is recorded in the run directory so that [`Supervisor`] can kill and start an instance
//! again exactly as it first ran.

mod gateway;
mod prometheus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::state::{INFRA_FILE, RunDir, read_json, write_private};
use crate::supervisor::{Probe, free_ports, io, log_tail, running, spawn_logged};
use crate::{Infra, Server, State, SuperviseError, Supervisor};

/// What the fleet is started with.
pub struct Launch {
    /// The fleet's directory ($FLEET_DIR): logs, run records, the gateway's config, the state.
    pub dir: PathBuf,
    /// The infra servers' directory (their `infra.json`).
    pub infra_dir: PathBuf,
    /// Where the services' binaries are.
    pub bin_dir: PathBuf,
    /// The repository (Prometheus's checked-in configuration and alert rules).
    pub repo: PathBuf,
    pub gateway_port: u16,
    /// `auth`, `auth#2`, ...: every instance, in start-up order.
    pub instances: Vec<String>,
    /// The key every service signs and checks sessions with.
    pub jwt_key: String,
}

/// The ports an instance was given.
struct Ports {
    instance: String,
    api: u16,
    metrics: u16,
}

impl Ports {
    fn service(&self) -> &str {
        self.instance.split('#').next().unwrap_or(&self.instance)
    }
}

/// A process the fleet watches in the foreground.
struct Watched {
    name: String,
    pid: u32,
    exited: oneshot::Receiver<()>,
}

fn say(what: impl std::fmt::Display) {
    println!("fleet: {what}");
}

/// A setting from the environment; empty counts as unset.
fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The program's path on PATH, or `fallback`.
fn on_path(program: &str, fallback: Option<&str>) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .or_else(|| fallback.map(PathBuf::from).filter(|path| path.is_file()))
}

/// A log file, emptied.
fn fresh_log(path: &Path) -> Result<std::fs::File, SuperviseError> {
    std::fs::File::create(path).map_err(io(path.display().to_string()))
}

impl Launch {
    fn run_file(&self, file: &str) -> PathBuf {
        RunDir::of(&self.dir).path(file)
    }

    fn record(&self, file: &str, value: impl std::fmt::Display) -> Result<(), SuperviseError> {
        let path = self.run_file(file);
        std::fs::write(&path, format!("{value}\n")).map_err(io(path.display().to_string()))
    }

    /// A path as the user reads it: from the repository when it is inside.
    fn shown<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.repo).unwrap_or(path).display()
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{name}.log"))
    }

    /// Starts everything, waits until it is ready and writes the state; prints `ready: URL`.
    /// The processes it returns are the ones a foreground fleet watches.
    async fn start(&self, supervisor: &Supervisor) -> Result<Vec<Watched>, SuperviseError> {
        for sub in ["logs", "run", "nginx/tmp", "prometheus"] {
            let path = self.dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io(path.display().to_string()))?;
        }
        let infra: Infra = read_json(&self.infra_dir.join(INFRA_FILE))?;
        let (mut watched, ports) = self.start_instances(supervisor, &infra).await?;
        watched.push(self.start_gateway(&supervisor.http, &ports).await?);
        watched.extend(self.start_prometheus(&supervisor.http, &ports).await?);
        State::from_run_dir(
            &self.dir,
            &self.infra_dir,
            self.gateway_port,
            self.jwt_key.clone(),
        )?
        .save()?;
        println!("ready: http://localhost:{}", self.gateway_port);
        Ok(watched)
    }

    /// The environment of one instance: this process's, plus the contract's settings pointed at
    /// the fleet's infra (the caller's own NATS_URL, STRIPE_API_BASE, ... give way to them).
    fn environment(
        &self,
        service: &crate::Service,
        port: u16,
        metrics_port: u16,
        infra: &Infra,
    ) -> BTreeMap<String, String> {
        let url = |server: &str| {
            infra
                .servers
                .get(server)
                .map(|server| server.url.clone())
                .unwrap_or_default()
        };
        let mut env: BTreeMap<String, String> = std::env::vars().collect();
        let mut set = |name: &str, value: String| {
            env.insert(name.to_owned(), value);
        };
        set("PORT", port.to_string());
        set("METRICS_PORT", metrics_port.to_string());
        // Only the gateway (and this machine) reaches the services, as in Kubernetes.
        set("BIND_ADDRESS", "127.0.0.1".into());
        set("JWT_KEY", self.jwt_key.clone());
        set("NATS_URL", url("nats"));
        set("COOKIE_SECURE", "false".into());
        for need in service.needs {
            match need {
                // Each owning service has a database server of its own, as in Kubernetes.
                Server::Mongo => {
                    let port = infra
                        .servers
                        .get(&format!("{}-mongo", service.name))
                        .map_or(0, |server| server.port);
                    set(
                        "MONGO_URL",
                        format!(
                            "mongodb://127.0.0.1:{port}/{}?directConnection=true",
                            service.name
                        ),
                    );
                }
                Server::Redis => set("REDIS_URL", url("redis")),
                // With the user's STRIPE_KEY: the real Stripe (their STRIPE_API_BASE, if any,
                // passes through); without it, the local mock.
                Server::Stripe if setting("STRIPE_KEY").is_none() => {
                    set("STRIPE_KEY", "sk_test_mock".into());
                    set("STRIPE_API_BASE", url("stripe"));
                }
                Server::Stripe | Server::Nats => {}
                Server::Gateway => {
                    set("API_URL", format!("http://127.0.0.1:{}", self.gateway_port));
                }
            }
        }
        env
    }

    /// Starts every instance (an API port and a metrics port each), recording how, then waits
    /// for all of them to be ready; fails as soon as one exits.
    async fn start_instances(
        &self,
        supervisor: &Supervisor,
        infra: &Infra,
    ) -> Result<(Vec<Watched>, Vec<Ports>), SuperviseError> {
        if self.instances.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let ports = free_ports(2 * self.instances.len(), &[self.gateway_port])?;
        let (api_ports, metrics_ports) = ports.split_at(self.instances.len());
        self.record("instances", self.instances.join(" "))?;
        let mut watched = Vec::new();
        let mut given = Vec::new();
        let mut starting = Vec::new();
        for ((name, &port), &metrics_port) in
            self.instances.iter().zip(api_ports).zip(metrics_ports)
        {
            let service_name = name.split('#').next().unwrap_or(name);
            let service = crate::service(service_name)
                .ok_or_else(|| SuperviseError::BadName(name.clone(), crate::NAMES.join(", ")))?;
            let binary = self.bin_dir.join(service.binary);
            let env = self.environment(service, port, metrics_port, infra);
            self.record(&format!("{name}.bin"), binary.display())?;
            self.record_environment(name, &env)?;
            let log_path = self.log(name);
            let mut command = Command::new(&binary);
            command.env_clear().envs(&env);
            let started = spawn_logged(&mut command, fresh_log(&log_path)?, &log_path)?;
            self.record(&format!("{name}.pid"), started.pid)?;
            self.record(&format!("{name}.port"), port)?;
            self.record(&format!("{name}.metrics_port"), metrics_port)?;
            say(format_args!(
                "started {name} (pid {}, port {port}, metrics port {metrics_port}, log {})",
                started.pid,
                self.shown(&log_path)
            ));
            starting.push((name.clone(), started.pid, port, log_path));
            given.push(Ports {
                instance: name.clone(),
                api: port,
                metrics: metrics_port,
            });
            watched.push(Watched {
                name: name.clone(),
                pid: started.pid,
                exited: started.exited,
            });
        }
        // (no word "ready" in progress lines: callers wait for the one `ready:` line)
        let names: Vec<&str> = self.instances.iter().map(String::as_str).collect();
        say(format_args!(
            "waiting for the health checks of: {}",
            names.join(" ")
        ));
        let began = Instant::now();
        let deadline = began + supervisor.ready_timeout;
        while !starting.is_empty() {
            let mut still = Vec::new();
            for (name, pid, port, log) in starting {
                match supervisor.probe(&name, pid, port, &log, deadline).await? {
                    Probe::Ready => say(format_args!(
                        "{name} is up on 127.0.0.1:{port} ({:.1}s)",
                        began.elapsed().as_secs_f64()
                    )),
                    Probe::Waiting => still.push((name, pid, port, log)),
                }
            }
            starting = still;
            if !starting.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok((watched, given))
    }

    /// The whole environment, as `env -0` writes it (NAME=value, each ended by a NUL), readable
    /// by the owner only: it holds the keys.
    fn record_environment(
        &self,
        name: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<(), SuperviseError> {
        let text: String = env
            .iter()
            .map(|(key, value)| format!("{key}={value}\0"))
            .collect();
        Ok(write_private(
            &self.run_file(&format!("{name}.env")),
            &text,
        )?)
    }
}

/// Starts the fleet. Detached, returns once it is ready and leaves it running; in the
/// foreground, watches it: any service or the gateway exiting ends the fleet (with that process's
/// log), and SIGINT or SIGTERM stops it. Returns the exit code.
pub async fn up(launch: Launch, detach: bool) -> Result<u8, SuperviseError> {
    let supervisor = Supervisor::of(&launch.dir);
    if detach {
        launch.start(&supervisor).await?;
        return Ok(0);
    }
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io("SIGINT"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(io("SIGTERM"))?;
    let grace = supervisor.stop_grace;
    // Stops everything it may have started; `code` is the exit code then.
    let stop_all = async |code: u8| -> Result<u8, SuperviseError> {
        stop(&launch.dir, &launch_names(&launch), grace).await?;
        Ok(code)
    };
    let watched = tokio::select! {
        started = launch.start(&supervisor) => started,
        _ = interrupt.recv() => return stop_all(130).await,
        _ = terminate.recv() => return stop_all(143).await,
    };
    let watched = match watched {
        Ok(watched) => watched,
        Err(error) => {
            stop_all(1).await?;
            return Err(error);
        }
    };
    say("running; Ctrl-C stops everything");
    let (exits, mut exited) = tokio::sync::mpsc::unbounded_channel();
    for process in watched {
        let exits = exits.clone();
        tokio::spawn(async move {
            let _ = process.exited.await;
            let _ = exits.send((process.name, process.pid));
        });
    }
    loop {
        tokio::select! {
            _ = interrupt.recv() => return stop_all(130).await,
            _ = terminate.recv() => return stop_all(143).await,
            Some((name, pid)) = exited.recv() => {
                if name == "prometheus" {
                    leftovers_of(pid);
                    let _ = std::fs::remove_file(launch.run_file("prometheus.pid"));
                    eprintln!("{}", log_tail(&launch.log("prometheus")));
                    say(format_args!("prometheus (pid {pid}) exited; the fleet runs on without it"));
                    continue;
                }
                eprintln!("{}", log_tail(&launch.log(&name)));
                if name == "gateway" {
                    eprintln!("{}", log_tail(&launch.dir.join("logs/gateway-error.log")));
                }
                eprintln!("fleet: error: {name} (pid {pid}) exited unexpectedly");
                return stop_all(1).await;
            }
        }
    }
}

/// Everything a fleet may have started: the gateway and Prometheus first, then the instances.
fn launch_names(launch: &Launch) -> Vec<String> {
    let mut names = vec!["gateway".to_owned(), "prometheus".to_owned()];
    names.extend(launch.instances.iter().cloned());
    names
}

/// Stops the named processes of the fleet in `dir` (those whose pid files say they run):
/// SIGTERM, then SIGKILL after `grace`. The gateway and Prometheus go first, so that nothing
/// reaches an instance that is stopping.
pub async fn stop(dir: &Path, names: &[String], grace: Duration) -> Result<(), SuperviseError> {
    let supervisor = Supervisor::of(dir);
    let (front, instances): (Vec<&String>, Vec<&String>) = names
        .iter()
        .partition(|name| *name == "gateway" || *name == "prometheus");
    for group in [front, instances] {
        let mut stopping = Vec::new();
        for name in group {
            match supervisor.pid(name) {
                Some(pid) if running(pid) => {
                    Supervisor::signal(pid, Signal::SIGTERM)?;
                    stopping.push((name, pid));
                }
                Some(pid) => {
                    leftovers_of(pid);
                    let _ = std::fs::remove_file(supervisor.run_file(&format!("{name}.pid")));
                }
                None => {}
            }
        }
        let deadline = Instant::now() + grace;
        for (name, pid) in stopping {
            let left = deadline.saturating_duration_since(Instant::now());
            if !Supervisor::gone(pid, Some(left)).await {
                say(format_args!(
                    "{name} ignored SIGTERM for {}s; SIGKILL",
                    grace.as_secs()
                ));
                Supervisor::signal(pid, Signal::SIGKILL)?;
                Supervisor::gone(pid, None).await;
            }
            leftovers_of(pid);
            let _ = std::fs::remove_file(supervisor.run_file(&format!("{name}.pid")));
            say(format_args!("stopped {name} (pid {pid})"));
        }
    }
    Ok(())
}

/// SIGKILL to what is left of the process group a fleet process led (each is started as the
/// leader of a group of its own): nginx's workers outlive a master that was killed, and would
/// hold the gateway's port.
fn leftovers_of(pid: u32) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
}

/// Every process the run directory of `dir` has a pid file for.
pub fn recorded(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("run")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".pid").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InfraServer;

    fn infra() -> Infra {
        let server = |url: &str, port| InfraServer {
            url: url.to_owned(),
            port,
            pid: None,
        };
        Infra {
            dir: PathBuf::from("/infra"),
            mongo_kind: "mongod".into(),
            default_mongo: "tickets-mongo".into(),
            nats_monitor_url: None,
            servers: BTreeMap::from([
                ("nats".to_owned(), server("nats://127.0.0.1:4001", 4001)),
                ("redis".to_owned(), server("redis://127.0.0.1:4002", 4002)),
                (
                    "orders-mongo".to_owned(),
                    server("mongodb://127.0.0.1:4003/?directConnection=true", 4003),
                ),
            ]),
            programs: None,
        }
    }

    fn launch() -> Launch {
        Launch {
            dir: PathBuf::from("/fleet"),
            infra_dir: PathBuf::from("/infra"),
            bin_dir: PathBuf::from("/bin"),
            repo: PathBuf::from("/repo"),
            gateway_port: 8080,
            instances: vec!["orders".into(), "expiration".into(), "client".into()],
            jwt_key: "key".into(),
        }
    }

    #[test]
    fn each_service_is_pointed_at_the_fleets_own_servers() {
        let (launch, infra) = (launch(), infra());
        let orders = launch.environment(crate::service("orders").unwrap(), 5001, 6001, &infra);
        assert_eq!(orders["PORT"], "5001");
        assert_eq!(orders["METRICS_PORT"], "6001");
        assert_eq!(orders["BIND_ADDRESS"], "127.0.0.1");
        assert_eq!(orders["JWT_KEY"], "key");
        assert_eq!(orders["NATS_URL"], "nats://127.0.0.1:4001");
        assert_eq!(
            orders["MONGO_URL"],
            "mongodb://127.0.0.1:4003/orders?directConnection=true"
        );
        assert!(!orders.contains_key("REDIS_URL") || std::env::var("REDIS_URL").is_ok());

        let expiration =
            launch.environment(crate::service("expiration").unwrap(), 5002, 6002, &infra);
        assert_eq!(expiration["REDIS_URL"], "redis://127.0.0.1:4002");
        assert!(!expiration.contains_key("MONGO_URL") || std::env::var("MONGO_URL").is_ok());

        let client = launch.environment(crate::service("client").unwrap(), 5003, 6003, &infra);
        assert_eq!(client["API_URL"], "http://127.0.0.1:8080");
    }

    #[test]
    fn free_ports_are_distinct_and_avoid_the_gateway() {
        let avoid = free_ports(1, &[]).unwrap()[0];
        let ports = free_ports(20, &[avoid]).unwrap();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 20);
        assert!(!ports.contains(&avoid));
    }
}
