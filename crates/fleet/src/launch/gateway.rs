//! The local gateway: nginx with the ingress's routes, its config rendered from the description.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Launch, Ports, Watched, fresh_log, on_path, say, setting};
use crate::SuperviseError;
use crate::gateway::Settings;
use crate::supervisor::{io, log_tail, running, spawn_logged};

impl Launch {
    /// nginx with the ingress's routes (its config made from the description), each to its
    /// service's instances; waits until it answers.
    pub(super) async fn start_gateway(
        &self,
        http: &reqwest::Client,
        instances: &[Ports],
    ) -> Result<Watched, SuperviseError> {
        let nginx = on_path("nginx", Some("/usr/sbin/nginx")).ok_or_else(|| {
            SuperviseError::Gateway("nginx not found (scripts/infra.sh install installs it)".into())
        })?;
        let nginx_dir = self.dir.join("nginx");
        let log_dir = self.dir.join("logs");
        let conf = nginx_dir.join("nginx.conf");
        let mut routed = Vec::new();
        for service in &crate::SERVICES {
            let ports: Vec<u16> = instances
                .iter()
                .filter(|instance| instance.service() == service.name)
                .map(|instance| instance.api)
                .collect();
            if !ports.is_empty() {
                routed.push((service, ports));
            }
        }
        let settings = Settings {
            port: self.gateway_port,
            // localhost may resolve to ::1 first (browsers, curl): listen there too when this
            // machine has IPv6.
            listen_ipv6: TcpListener::bind(("::1", 0)).is_ok(),
            nginx_dir: nginx_dir.display().to_string(),
            log_dir: log_dir.display().to_string(),
            access_log: setting("FLEET_ACCESS_LOG").as_deref() == Some("1"),
            // As root the workers would switch to `nobody`, who cannot write our temp dirs.
            user: nix::unistd::getuid().is_root().then(|| "root".to_owned()),
            sign_in_rate: setting("GATEWAY_SIGN_IN_RATE")
                .and_then(|rate| rate.parse().ok())
                .unwrap_or(20),
            instances: routed,
        };
        std::fs::write(&conf, settings.render()).map_err(io(conf.display().to_string()))?;
        let error_log = log_dir.join("gateway-error.log");
        let check = Command::new(&nginx)
            .args(["-t", "-q", "-p"])
            .arg(&nginx_dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .output()
            .map_err(io(nginx.display().to_string()))?;
        if !check.status.success() {
            return Err(SuperviseError::Gateway(format!(
                "the generated gateway config is invalid: {}\n{}",
                conf.display(),
                String::from_utf8_lossy(&check.stderr).trim()
            )));
        }
        fresh_log(&error_log)?;
        let log_path = self.log("gateway");
        let mut command = Command::new(&nginx);
        command
            .arg("-p")
            .arg(&nginx_dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log);
        let started = spawn_logged(&mut command, fresh_log(&log_path)?, &log_path)?;
        self.record("gateway.pid", started.pid)?;
        self.record("gateway.port", self.gateway_port)?;
        let probe = format!(
            "http://127.0.0.1:{}/api/users/currentuser",
            self.gateway_port
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if !running(started.pid) {
                return Err(SuperviseError::Gateway(format!(
                    "the gateway (nginx) exited during startup\n{}\n{}",
                    log_tail(&log_path),
                    log_tail(&error_log)
                )));
            }
            if Instant::now() >= deadline {
                return Err(SuperviseError::Gateway(format!(
                    "the gateway does not answer on port {}",
                    self.gateway_port
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            // Any answer will do: the gateway serves.
            if http.get(&probe).send().await.is_ok() {
                break;
            }
        }
        say(format_args!(
            "gateway (nginx) on port {}, config {}",
            self.gateway_port,
            self.shown(&conf)
        ));
        Ok(Watched {
            name: "gateway".into(),
            pid: started.pid,
            exited: started.exited,
        })
    }
}
