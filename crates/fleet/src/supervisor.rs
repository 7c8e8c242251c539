//! One instance of a detached fleet's service: killed (a crash), started again exactly as
//! the launch first started it (same binary, port and environment, its log appended), or
//! restarted gracefully. `scripts/fleet.sh kill|start|restart|status` and the fault tests both
//! come here, and each change is written to the fleet's state (fleet.json, env.sh).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::state::RunDir;
use crate::{State, StateError};

#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error("'{0}': an instance is SERVICE or SERVICE#i (i from 1), SERVICE one of: {1}")]
    BadName(String, String),
    #[error(
        "'{0}': a server is one of nats, redis, auth-mongo, tickets-mongo, orders-mongo, payments-mongo, stripe, or mongo (the four MongoDB servers)"
    )]
    UnknownServer(String),
    #[error("{0} is not part of the fleet in {1}")]
    NotInFleet(String, PathBuf),
    #[error("the fleet runs in the foreground (pid {0}); this needs a detached fleet")]
    Foreground(u32),
    #[error("{0} already runs (pid {1})")]
    AlreadyRuns(String, u32),
    #[error("{0} was not started by this fleet (no {1})")]
    NotRecorded(String, PathBuf),
    #[error("port {1} of {0} is still in use")]
    PortInUse(String, u16),
    #[error("{0} exited during startup\n{1}")]
    Exited(String, String),
    #[error("{0} is not ready after {1:?}; /readyz answered: {2}\n{3}")]
    NotReady(String, Duration, String, String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The gateway did not start (nginx missing, its config refused, or no answer).
    #[error("{0}")]
    Gateway(String),
    #[error("signal to pid {0}: {1}")]
    Signal(u32, nix::Error),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The running fleet of a directory (`$FLEET_DIR`).
pub struct Supervisor {
    dir: PathBuf,
    /// How long a started instance may take to answer its readiness check.
    pub ready_timeout: Duration,
    /// Between SIGTERM and SIGKILL when an instance is stopped.
    pub stop_grace: Duration,
    /// Readiness checks (2 s per answer at most).
    pub(crate) http: reqwest::Client,
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SuperviseError {
    let what = what.into();
    move |error| SuperviseError::Io(what, error)
}

/// A duration setting in whole seconds from the environment, else `default`.
pub(crate) fn seconds_from_env(name: &str, default: u64) -> Duration {
    let seconds = std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok());
    Duration::from_secs(seconds.unwrap_or(default))
}

/// Whether the process runs (a zombie does not).
pub fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    format!("----- last lines of {} -----\n{tail}\n-----", log.display())
}

/// How long the port of a process that just stopped may stay taken: a killed process's listening
/// socket closes only once its last thread is gone.
const PORT_RELEASE: Duration = Duration::from_secs(10);

/// Whether `port` is free on loopback, or frees within [`PORT_RELEASE`].
pub(crate) async fn port_released(port: u16) -> bool {
    let deadline = Instant::now() + PORT_RELEASE;
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// `count` free loopback ports, none of them in `avoid`: all held open together so none repeats.
pub(crate) fn free_ports(count: usize, avoid: &[u16]) -> Result<Vec<u16>, SuperviseError> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < count {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(io("a free port"))?;
        let port = listener.local_addr().map_err(io("a free port"))?.port();
        if !avoid.contains(&port) {
            ports.push(port);
        }
        held.push(listener);
    }
    Ok(ports)
}

/// Opens a process's log for appending, with a line that marks this start (`what`), so the
/// output of every start stays in one file.
pub(crate) fn append_log(path: &Path, what: &str) -> Result<std::fs::File, SuperviseError> {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path.display().to_string()))?;
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z");
    writeln!(log, "\n===== {now} {what}").map_err(io(path.display().to_string()))?;
    Ok(log)
}

/// What one look at a starting instance found (see [`Supervisor::probe`]).
pub(crate) enum Probe {
    Ready,
    Waiting,
}

/// A process the fleet started.
pub(crate) struct Started {
    pub pid: u32,
    /// Answers once the process has exited (it is reaped then, so that it is gone rather than a
    /// zombie).
    pub exited: tokio::sync::oneshot::Receiver<()>,
}

/// Starts `command` with its output appended to `log`, in a process group of its own: a Ctrl-C
/// or a test runner's clean-up meant for the caller does not reach it.
pub(crate) fn spawn_logged(
    command: &mut Command,
    log: std::fs::File,
    log_path: &Path,
) -> Result<Started, SuperviseError> {
    let stderr = log
        .try_clone()
        .map_err(io(log_path.display().to_string()))?;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(io(program))?;
    let pid = child.id();
    let (exited, on_exit) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = child.wait();
        let _ = exited.send(());
    });
    Ok(Started {
        pid,
        exited: on_exit,
    })
}

impl Supervisor {
    /// The fleet in `dir`; FLEET_READY_TIMEOUT and FLEET_STOP_GRACE (seconds) as the launch
    /// reads them.
    pub fn of(dir: impl Into<PathBuf>) -> Self {
        Supervisor {
            dir: dir.into(),
            ready_timeout: seconds_from_env("FLEET_READY_TIMEOUT", 120),
            stop_grace: seconds_from_env("FLEET_STOP_GRACE", 10),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client"),
        }
    }

    pub(crate) fn run_file(&self, file: &str) -> PathBuf {
        RunDir::of(&self.dir).path(file)
    }

    fn read(&self, file: &str) -> Option<String> {
        RunDir::of(&self.dir).read(file)
    }

    pub(crate) fn pid(&self, instance: &str) -> Option<u32> {
        self.read(&format!("{instance}.pid"))?.parse().ok()
    }

    /// The instance's name as the run directory knows it (`auth#1` is `auth`), once it is
    /// checked to be one of this detached fleet's.
    fn instance(&self, name: &str) -> Result<String, SuperviseError> {
        let (service, index) = match name.split_once('#') {
            Some((service, index)) => (service, Some(index)),
            None => (name, None),
        };
        let names = || {
            let names: Vec<&str> = crate::SERVICES.iter().map(|s| s.name).collect();
            names.join(", ")
        };
        let index = match index.map(str::parse::<usize>) {
            None => None,
            Some(Ok(index)) if index >= 1 => Some(index),
            Some(_) => return Err(SuperviseError::BadName(name.to_owned(), names())),
        };
        if crate::service(service).is_none() {
            return Err(SuperviseError::BadName(name.to_owned(), names()));
        }
        let instance = match index {
            None | Some(1) => service.to_owned(),
            Some(index) => format!("{service}#{index}"),
        };
        if let Some(mode) = self.read("mode")
            && let Some(pid) = mode.strip_prefix("foreground ")
            && let Ok(pid) = pid.parse()
            && running(pid)
        {
            return Err(SuperviseError::Foreground(pid));
        }
        if self.read(&format!("{instance}.port")).is_none() {
            return Err(SuperviseError::NotInFleet(instance, self.dir.clone()));
        }
        Ok(instance)
    }

    pub(crate) fn signal(pid: u32, signal: Signal) -> Result<(), SuperviseError> {
        match kill(Pid::from_raw(pid as i32), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(error) => Err(SuperviseError::Signal(pid, error)),
        }
    }

    /// Waits until the process is gone, at most `within` (None: as long as it takes).
    pub(crate) async fn gone(pid: u32, within: Option<Duration>) -> bool {
        let deadline = within.map(|within| Instant::now() + within);
        while running(pid) {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// SIGKILL, no clean-up: a crash. Returns the pid it had, if it ran.
    pub async fn kill(&self, name: &str) -> Result<Option<u32>, SuperviseError> {
        let instance = self.instance(name)?;
        let pid = self.pid(&instance).filter(|pid| running(*pid));
        if let Some(pid) = pid {
            Self::signal(pid, Signal::SIGKILL)?;
            Self::gone(pid, None).await;
        }
        let _ = std::fs::remove_file(self.run_file(&format!("{instance}.pid")));
        self.refresh_state()?;
        Ok(pid)
    }

    /// SIGTERM, then SIGKILL after the grace period.
    async fn stop(&self, instance: &str) -> Result<(), SuperviseError> {
        if let Some(pid) = self.pid(instance).filter(|pid| running(*pid)) {
            Self::signal(pid, Signal::SIGTERM)?;
            if !Self::gone(pid, Some(self.stop_grace)).await {
                Self::signal(pid, Signal::SIGKILL)?;
                Self::gone(pid, None).await;
            }
        }
        let _ = std::fs::remove_file(self.run_file(&format!("{instance}.pid")));
        Ok(())
    }

    /// Starts a stopped instance again as it was first started, and waits for its readiness.
    /// Returns its pid.
    pub async fn start(&self, name: &str) -> Result<u32, SuperviseError> {
        let instance = self.instance(name)?;
        if let Some(pid) = self.pid(&instance).filter(|pid| running(*pid)) {
            return Err(SuperviseError::AlreadyRuns(instance, pid));
        }
        self.launch(&instance).await
    }

    /// Graceful stop, then start. Returns the new pid.
    pub async fn restart(&self, name: &str) -> Result<u32, SuperviseError> {
        let instance = self.instance(name)?;
        self.stop(&instance).await?;
        self.launch(&instance).await
    }

    async fn launch(&self, instance: &str) -> Result<u32, SuperviseError> {
        let recorded = |file: String| {
            let path = self.run_file(&file);
            std::fs::read(&path)
                .ok()
                .filter(|bytes| !bytes.is_empty())
                .ok_or_else(|| SuperviseError::NotRecorded(instance.to_owned(), path))
        };
        let binary = String::from_utf8_lossy(&recorded(format!("{instance}.bin"))?)
            .trim()
            .to_owned();
        let port: u16 = String::from_utf8_lossy(&recorded(format!("{instance}.port"))?)
            .trim()
            .parse()
            .map_err(|_| {
                SuperviseError::NotRecorded(
                    instance.to_owned(),
                    self.run_file(&format!("{instance}.port")),
                )
            })?;
        // As the launch recorded it: NAME=value, each ended by a NUL.
        let environment = recorded(format!("{instance}.env"))?;
        let variables = environment.split(|byte| *byte == 0).filter_map(|pair| {
            let pair = String::from_utf8_lossy(pair).into_owned();
            pair.split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
        });

        if !port_released(port).await {
            return Err(SuperviseError::PortInUse(instance.to_owned(), port));
        }

        let log_path = self.dir.join("logs").join(format!("{instance}.log"));
        let log = append_log(&log_path, &format!("fleet: starting {instance} again"))?;
        let mut command = Command::new(&binary);
        command.env_clear().envs(variables);
        let started = spawn_logged(&mut command, log, &log_path)?;
        let pid = started.pid;
        std::fs::write(
            self.run_file(&format!("{instance}.pid")),
            format!("{pid}\n"),
        )
        .map_err(io("the pid file"))?;
        self.wait_ready(instance, pid, port, &log_path).await?;
        self.refresh_state()?;
        Ok(pid)
    }

    async fn wait_ready(
        &self,
        instance: &str,
        pid: u32,
        port: u16,
        log: &Path,
    ) -> Result<(), SuperviseError> {
        let deadline = Instant::now() + self.ready_timeout;
        loop {
            match self.probe(instance, pid, port, log, deadline).await? {
                Probe::Ready => return Ok(()),
                Probe::Waiting => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// One look at a starting instance: ready, still coming, or failed (it exited, or it is not
    /// ready by the deadline).
    pub(crate) async fn probe(
        &self,
        instance: &str,
        pid: u32,
        port: u16,
        log: &Path,
        deadline: Instant,
    ) -> Result<Probe, SuperviseError> {
        let readiness = crate::service(instance.split('#').next().unwrap_or(instance))
            .map_or("/readyz", |service| service.readiness);
        if !running(pid) {
            return Err(SuperviseError::Exited(instance.to_owned(), log_tail(log)));
        }
        let answer = self
            .http
            .get(format!("http://127.0.0.1:{port}{readiness}"))
            .send()
            .await;
        if answer.as_ref().is_ok_and(|answer| answer.status() == 200) {
            return Ok(Probe::Ready);
        }
        if Instant::now() < deadline {
            return Ok(Probe::Waiting);
        }
        let answer = match answer {
            Ok(answer) => format!("HTTP {}", answer.status()),
            Err(_) => "nothing".into(),
        };
        Err(SuperviseError::NotReady(
            instance.to_owned(),
            self.ready_timeout,
            answer,
            log_tail(log),
        ))
    }

    /// The state (fleet.json and env.sh) with the pids as they are now, and the infra's.
    pub fn refresh_state(&self) -> Result<(), SuperviseError> {
        let state = State::load(&self.dir)?;
        let infra_dir = state.infra.dir.clone();
        State::from_run_dir(&self.dir, &infra_dir, state.gateway.port, state.jwt_key)?.save()?;
        Ok(())
    }

    /// What runs: the gateway, Prometheus and each instance, with pid and port.
    pub fn status(&self) -> String {
        let mut names = vec!["gateway".to_owned(), "prometheus".to_owned()];
        names.extend(
            self.read("instances")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned),
        );
        let lines: Vec<String> = names
            .iter()
            .filter_map(|name| {
                let pid = self.pid(name).filter(|pid| running(*pid))?;
                let port = self.read(&format!("{name}.port")).unwrap_or_default();
                Some(format!("{name:<11} running  pid {pid:<7} port {port}"))
            })
            .collect();
        if lines.is_empty() {
            "no fleet process runs".into()
        } else {
            lines.join("\n")
        }
    }
}
