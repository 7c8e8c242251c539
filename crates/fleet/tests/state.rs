//! The state file: made from scripts/fleet.sh's run directory and the infra's infra.json, kept
//! private (it holds the session key), read back as written.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use fleet::State;

/// A fleet directory laid out as scripts/fleet.sh and scripts/infra.sh leave it: two instances
/// of tickets (the second killed), one of auth, a gateway, no Prometheus.
fn fleet_dir(test: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("fleet-state-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = dir.join("run");
    let infra = dir.join("infra");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(&infra).unwrap();
    let files = [
        ("instances", "auth tickets tickets#2\n"),
        ("auth.port", "41001\n"),
        ("auth.metrics_port", "42001\n"),
        ("auth.pid", "501\n"),
        ("tickets.port", "41002\n"),
        ("tickets.metrics_port", "42002\n"),
        ("tickets.pid", "502\n"),
        ("tickets#2.port", "41003\n"),
        ("tickets#2.metrics_port", "42003\n"),
        ("gateway.pid", "500\n"),
    ];
    for (file, text) in files {
        std::fs::write(run.join(file), text).unwrap();
    }
    std::fs::write(
        infra.join("infra.json"),
        r#"{
  "dir": "/tmp/infra",
  "mongo_kind": "secantus",
  "default_mongo": "tickets-mongo",
  "nats_monitor_url": null,
  "servers": {
    "nats": {"url": "nats://127.0.0.1:4222", "port": 4222, "pid": 10},
    "tickets-mongo": {"url": "mongodb://127.0.0.1:27017/?directConnection=true", "port": 27017, "pid": 11},
    "orders-mongo": {"url": "mongodb://127.0.0.1:27018/?directConnection=true", "port": 27018, "pid": null}
  }
}
"#,
    )
    .unwrap();
    (dir, infra)
}

#[test]
fn the_state_is_made_from_the_run_directory_and_read_back() {
    let (dir, infra) = fleet_dir("roundtrip");
    State::from_run_dir(&dir, &infra, 8080, "key".into())
        .unwrap()
        .save()
        .unwrap();
    let mode = std::fs::metadata(dir.join("fleet.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the session key stays private");

    let state = State::load(&dir).unwrap();
    assert_eq!(state.gateway.url, "http://127.0.0.1:8080");
    assert_eq!(state.gateway.pid, Some(500));
    assert_eq!(state.prometheus_url, None);
    assert_eq!(state.replicas, 2);
    assert_eq!(state.jwt_key, "key");
    let names: Vec<&str> = state.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["auth", "tickets", "tickets#2"]);
    let second = state.instance("tickets#2").unwrap();
    assert_eq!(second.service, "tickets");
    assert_eq!(second.url, "http://127.0.0.1:41003");
    assert_eq!(second.pid, None, "killed: no pid file");
    assert_eq!(second.log, dir.join("logs/tickets#2.log"));
    assert_eq!(state.first("tickets").unwrap().pid, Some(502));
    // Each database on its owner's server, else on the default one.
    assert_eq!(state.mongo_server("orders").unwrap().port, 27018);
    assert_eq!(state.mongo_server("auth").unwrap().port, 27017);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fleet_that_does_not_run_is_named_in_the_error() {
    let dir = std::env::temp_dir().join("fleet-state-none");
    let error = State::load(&dir).unwrap_err().to_string();
    assert!(error.contains("fleet.json"), "{error}");
    assert!(error.contains("scripts/fleet.sh --detach"), "{error}");
}

#[test]
fn env_sh_says_the_same_to_a_shell() {
    let (dir, infra) = fleet_dir("env");
    let key = r#"a 'quoted' $key"#;
    State::from_run_dir(&dir, &infra, 8080, key.into())
        .unwrap()
        .save()
        .unwrap();
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1/env.sh" && printf '%s|' "$JWT_KEY" "$GATEWAY_URL" "$FLEET_INSTANCES" "$TICKETS_2_URL" "$TICKETS_2_PID" "$AUTH_PID""#)
        .arg("bash")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{key}|http://127.0.0.1:8080|auth tickets tickets#2|http://127.0.0.1:41003||501|")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
