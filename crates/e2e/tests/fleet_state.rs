//! The running fleet's state (`$FLEET_DIR/fleet.json`, read through `fleet::State`) describes it
//! as it runs: what the benchmark and the fault tests read instead of the environment.

use std::path::Path;

use fleet::State;

fn running(pid: Option<u32>) -> bool {
    pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn the_state_names_every_running_instance_and_server() {
    let dir = std::env::var("FLEET_DIR").expect("FLEET_DIR: the fleet's env.sh exports it");
    let state = State::load(&dir).unwrap();
    let http = reqwest::Client::new();

    assert_eq!(
        Some(state.gateway.url.as_str()),
        std::env::var("GATEWAY_URL").ok().as_deref()
    );
    assert!(
        running(state.gateway.pid),
        "the gateway: {:?}",
        state.gateway
    );
    for service in &fleet::SERVICES {
        let instances: Vec<_> = state
            .instances
            .iter()
            .filter(|instance| instance.service == service.name)
            .collect();
        assert_eq!(instances.len(), state.replicas, "{}", service.name);
        assert_eq!(instances[0].name, service.name, "its first instance");
    }
    for instance in &state.instances {
        assert!(running(instance.pid), "{instance:?}");
        let ready = http
            .get(format!("{}/readyz", instance.url))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{}", instance.name);
        let metrics = http
            .get(format!(
                "http://127.0.0.1:{}/metrics",
                instance.metrics_port
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 200, "{}", instance.name);
        let log = std::fs::read_to_string(&instance.log).unwrap();
        assert!(
            log.contains("listening"),
            "{}: its start-up is logged",
            instance.name
        );
        assert!(
            !log.contains('\x1b'),
            "{}: a log file is plain text, without terminal colour codes",
            instance.name
        );
    }
    for name in [
        "nats",
        "redis",
        "stripe",
        "auth-mongo",
        "tickets-mongo",
        "orders-mongo",
        "payments-mongo",
    ] {
        let server = state.server(name).unwrap_or_else(|| panic!("{name}"));
        assert!(running(server.pid), "{name}: {server:?}");
    }
    assert_eq!(
        state.mongo_server("orders").map(|server| server.port),
        state.server("orders-mongo").map(|server| server.port)
    );
}
