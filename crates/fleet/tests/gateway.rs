//! The local gateway routes as the Kubernetes ingress does, and nginx takes its config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fleet::gateway::Settings;
use fleet::{SERVICES, Service};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The gateway's config with the given services running, one instance each.
fn config_with(running: &[&'static Service], dir: &str) -> String {
    Settings {
        port: 18080,
        listen_ipv6: false,
        nginx_dir: format!("{dir}/nginx"),
        log_dir: format!("{dir}/logs"),
        access_log: false,
        user: None,
        sign_in_rate: 20,
        instances: running
            .iter()
            .zip(20001..)
            .map(|(service, port)| (*service, vec![port]))
            .collect(),
    }
    .render()
}

/// `location` matcher (`= /api/users`, `/api/users/`, `/`) -> what it does, for the config's
/// locations outside the gateway's own error pages.
fn locations(config: &str) -> BTreeMap<String, String> {
    config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("location "))
        .filter(|location| !location.starts_with("= /.gateway/"))
        .map(|location| {
            let (matcher, body) = location
                .split_once(" { ")
                .expect("location MATCHER { ... }");
            let body = body.strip_suffix(" }").expect("a location on one line");
            (matcher.to_owned(), body.to_owned())
        })
        .collect()
}

/// The ingress's routes: path prefix -> the Kubernetes Service it sends them to.
fn ingress_routes() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repository().join("infra/k8s/ingress.yaml")).unwrap();
    let ingress: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut routes = Vec::new();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            assert_eq!(path["pathType"].as_str(), Some("Prefix"));
            routes.push((
                path["path"].as_str().unwrap().to_owned(),
                path["backend"]["service"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
    }
    routes
}

#[test]
fn the_gateway_routes_every_prefix_the_ingress_routes_to_the_same_service() {
    let all: Vec<&Service> = SERVICES.iter().collect();
    let locations = locations(&config_with(&all, "/tmp/fleet"));
    let ingress = ingress_routes();
    assert!(!ingress.is_empty());
    for (prefix, backend) in &ingress {
        let service = SERVICES
            .iter()
            .find(|service| service.kubernetes_service() == *backend)
            .unwrap_or_else(|| panic!("the ingress routes {prefix} to {backend}, no service's"));
        let proxy = format!("proxy_pass http://{};", service.name);
        let matchers = if prefix == "/" {
            vec!["/".to_owned()]
        } else {
            vec![format!("= {prefix}"), format!("{prefix}/")]
        };
        for matcher in matchers {
            assert_eq!(
                locations.get(&matcher),
                Some(&proxy),
                "the ingress sends {prefix} to {backend}; the gateway's `location {matcher}`"
            );
        }
    }
    // Nothing more: the description's routes are the ingress's.
    let described: Vec<(String, String)> = fleet::routes()
        .map(|route| (route.prefix.to_owned(), route.service.kubernetes_service()))
        .collect();
    assert_eq!(described, ingress);
}

#[test]
fn a_route_whose_service_does_not_run_answers_the_contracts_404() {
    let tickets = fleet::service("tickets").unwrap();
    let locations = locations(&config_with(&[tickets], "/tmp/fleet"));
    let not_found =
        r#"default_type application/json; return 404 '{"errors":[{"message":"Not Found"}]}';"#;
    assert_eq!(locations["= /api/tickets"], "proxy_pass http://tickets;");
    for matcher in ["= /api/users", "/api/orders/", "/api/docs/", "/"] {
        assert_eq!(locations[matcher], not_found, "{matcher}");
    }
    // The sign-in limits go with auth.
    assert!(!locations.contains_key("= /api/users/signin"));
}

#[test]
fn the_sign_in_paths_are_limited_per_address_before_auth() {
    let auth = fleet::service("auth").unwrap();
    let locations = locations(&config_with(&[auth], "/tmp/fleet"));
    for path in ["= /api/users/signin", "= /api/users/signup"] {
        assert_eq!(
            locations[path],
            "limit_req zone=sign_in burst=1200 nodelay; proxy_pass http://auth;"
        );
    }
}

#[test]
fn several_instances_share_an_upstream_and_a_dead_one_is_skipped() {
    let tickets = fleet::service("tickets").unwrap();
    let config = Settings {
        port: 18080,
        listen_ipv6: true,
        nginx_dir: "/tmp/fleet/nginx".into(),
        log_dir: "/tmp/fleet/logs".into(),
        access_log: true,
        user: Some("root".into()),
        sign_in_rate: 20,
        instances: vec![(tickets, vec![20001, 20002])],
    }
    .render();
    for server in [
        "server 127.0.0.1:20001 max_fails=1 fail_timeout=2s;",
        "server 127.0.0.1:20002 max_fails=1 fail_timeout=2s;",
        "listen [::1]:18080;",
        "access_log /tmp/fleet/logs/gateway-access.log;",
        "user root;",
    ] {
        assert!(config.contains(server), "{server} in:\n{config}");
    }
}

/// nginx itself (scripts/infra.sh installs it) accepts the config.
#[test]
fn nginx_accepts_the_config() {
    let Some(nginx) = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
    else {
        eprintln!("nginx is not installed (scripts/infra.sh install): not checked");
        return;
    };
    let dir = std::env::temp_dir().join(format!("fleet-gateway-test-{}", std::process::id()));
    for sub in ["nginx/tmp", "logs"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let all: Vec<&Service> = SERVICES.iter().collect();
    let conf = dir.join("nginx/nginx.conf");
    std::fs::write(&conf, config_with(&all, dir.to_str().unwrap())).unwrap();
    let output = std::process::Command::new(nginx)
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(dir.join("nginx"))
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.join("logs/gateway-error.log"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
