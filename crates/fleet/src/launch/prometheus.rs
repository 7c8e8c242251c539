//! Prometheus beside the local fleet, when it is installed.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{Launch, Ports, Watched, free_ports, fresh_log, on_path, say, setting, stop};
use crate::SuperviseError;
use crate::supervisor::{io, log_tail, running, spawn_logged};

impl Launch {
    /// Prometheus scraping every instance with the checked-in configuration and alert rules,
    /// when it is installed. It is a window on the fleet, not a part: nothing here fails the
    /// fleet.
    pub(super) async fn start_prometheus(
        &self,
        http: &reqwest::Client,
        instances: &[Ports],
    ) -> Result<Option<Watched>, SuperviseError> {
        let _ = std::fs::remove_file(self.run_file("prometheus.port"));
        if setting("FLEET_PROMETHEUS").as_deref() == Some("0") {
            say("FLEET_PROMETHEUS=0: no Prometheus");
            return Ok(None);
        }
        let Some(prometheus) = on_path("prometheus", None) else {
            say(
                "prometheus is not installed (apt-get install prometheus): no metrics are collected",
            );
            return Ok(None);
        };
        let port = match setting("FLEET_PROMETHEUS_PORT").and_then(|port| port.parse().ok()) {
            Some(port) => port,
            None => free_ports(1, &[self.gateway_port])?[0],
        };
        let dir = self.dir.join("prometheus");
        // A fresh database per fleet: the series of an earlier fleet's ports would still answer.
        let data = dir.join("data");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).map_err(io(data.display().to_string()))?;
        for file in ["prometheus.yml", "alerts.yml"] {
            let from = self.repo.join("infra/prometheus").join(file);
            std::fs::copy(&from, dir.join(file)).map_err(io(from.display().to_string()))?;
        }
        // The instances' metrics addresses as file-based service discovery (the `job` label of
        // each is its service's name).
        let targets: Vec<serde_json::Value> = instances
            .iter()
            .map(|instance| {
                serde_json::json!({
                    "targets": [format!("127.0.0.1:{}", instance.metrics)],
                    "labels": {"job": instance.service()},
                })
            })
            .collect();
        let targets_path = dir.join("targets.json");
        std::fs::write(
            &targets_path,
            serde_json::to_string_pretty(&targets).unwrap_or_default(),
        )
        .map_err(io(targets_path.display().to_string()))?;
        let log_path = self.log("prometheus");
        let mut command = Command::new(&prometheus);
        command
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=1d")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let started = spawn_logged(&mut command, fresh_log(&log_path)?, &log_path)?;
        self.record("prometheus.pid", started.pid)?;
        let ready = format!("http://127.0.0.1:{port}/-/ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = http.get(&ready).send().await;
            if answer.is_ok_and(|answer| answer.status().is_success()) {
                break;
            }
            if !running(started.pid) || Instant::now() >= deadline {
                eprintln!("{}", log_tail(&log_path));
                stop(
                    &self.dir,
                    &["prometheus".to_owned()],
                    Duration::from_secs(5),
                )
                .await?;
                say("prometheus did not start; the fleet runs without it");
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.record("prometheus.port", port)?;
        let services: Vec<&str> = crate::SERVICES
            .iter()
            .map(|service| service.name)
            .filter(|name| instances.iter().any(|instance| instance.service() == *name))
            .collect();
        say(format_args!(
            "prometheus: http://127.0.0.1:{port} (scraping {} every 5 s; alerts: /alerts)",
            services.join(" ")
        ));
        Ok(Some(Watched {
            name: "prometheus".into(),
            pid: started.pid,
            exited: started.exited,
        }))
    }
}
