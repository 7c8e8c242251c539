//! The fleet, described once: each service's binary, the gateway routes it owns, how to tell it is
//! ready, and the servers it needs, in start-up order. The local fleet is started from it
//! ([`launch`]: the instances, the gateway with its nginx config, Prometheus; `scripts/fleet.sh`
//! calls `fleet up` once the infra runs and the binaries are built), and `docs/fleet.json` (read
//! by the offline deployment validation, `scripts/deploy_crossref.py`) is made from it; the tests
//! check that the Kubernetes ingress routes as it says. A running fleet's state (`$FLEET_DIR/fleet.json`:
//! each instance's URL, pid, log and metrics port, the gateway, the infra servers) is [`State`].

pub mod gateway;
pub mod infra;
pub mod launch;
mod state;
mod supervisor;

pub use state::{Gateway, Infra, InfraServer, Instance, STATE_FILE, State, StateError, fleet_dir};
pub use supervisor::{SuperviseError, Supervisor, running};

use std::path::PathBuf;

use serde::Serialize;

/// A server a service needs before it can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    /// A MongoDB server of its own, holding the database named after the service.
    Mongo,
    /// NATS with JetStream.
    Nats,
    Redis,
    /// Stripe, or the local Stripe mock.
    Stripe,
    /// The gateway (the client's server side calls the API through it).
    Gateway,
}

/// One service of the fleet.
#[derive(Debug, Serialize)]
pub struct Service {
    pub name: &'static str,
    /// The workspace binary that runs it.
    pub binary: &'static str,
    /// Its crate, from the repository's root.
    #[serde(rename = "crate")]
    pub crate_dir: &'static str,
    /// The path prefixes the gateway (and the ingress) send to it, in the order the gateway
    /// lists them; `/` (everything else) is the client's and comes last.
    pub routes: &'static [&'static str],
    /// Exact paths the gateway limits per client address before they reach the service (each
    /// request a password hash).
    pub rate_limited: &'static [&'static str],
    /// Answers 200 once the service serves, listens and relays.
    pub readiness: &'static str,
    pub needs: &'static [Server],
}

impl Service {
    /// Its Kubernetes Service, the ingress's backend for its routes.
    pub fn kubernetes_service(&self) -> String {
        format!("{}-srv", self.name)
    }

    /// Whether the gateway proxies to it (expiration has no HTTP API of its own).
    pub fn behind_gateway(&self) -> bool {
        !self.routes.is_empty()
    }
}

/// Every service, in start-up order (those that route `/` last).
pub const SERVICES: [Service; 6] = [
    Service {
        name: "auth",
        binary: "auth",
        crate_dir: "services/auth",
        routes: &["/api/users"],
        rate_limited: &["/api/users/signin", "/api/users/signup"],
        readiness: "/readyz",
        needs: &[Server::Mongo, Server::Nats],
    },
    Service {
        name: "tickets",
        binary: "tickets",
        crate_dir: "services/tickets",
        routes: &["/api/tickets"],
        rate_limited: &[],
        readiness: "/readyz",
        needs: &[Server::Mongo, Server::Nats],
    },
    Service {
        name: "orders",
        binary: "orders",
        crate_dir: "services/orders",
        routes: &["/api/orders"],
        rate_limited: &[],
        readiness: "/readyz",
        needs: &[Server::Mongo, Server::Nats],
    },
    Service {
        name: "payments",
        binary: "payments",
        crate_dir: "services/payments",
        routes: &["/api/payments"],
        rate_limited: &[],
        readiness: "/readyz",
        needs: &[Server::Mongo, Server::Nats, Server::Stripe],
    },
    Service {
        name: "expiration",
        binary: "expiration",
        crate_dir: "services/expiration",
        routes: &[],
        rate_limited: &[],
        readiness: "/readyz",
        needs: &[Server::Nats, Server::Redis],
    },
    Service {
        name: "client",
        binary: "client",
        crate_dir: "client",
        // The API's description (the docs page and the merged OpenAPI document), and the pages.
        routes: &["/api/docs", "/"],
        rate_limited: &[],
        readiness: "/readyz",
        needs: &[Server::Gateway],
    },
];

/// The services' names, in start-up order: the list the tests and the benchmark iterate
/// (metrics jobs, trace services, per-service settings).
pub const NAMES: [&str; SERVICES.len()] = {
    let mut names = [""; SERVICES.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = SERVICES[i].name;
        i += 1;
    }
    names
};

/// The service of that name.
pub fn service(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|service| service.name == name)
}

/// A route of the gateway: a path prefix and the service it goes to.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Route {
    pub prefix: &'static str,
    #[serde(serialize_with = "by_name")]
    pub service: &'static Service,
}

fn by_name<S: serde::Serializer>(service: &&Service, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(service.name)
}

/// Every route, in the gateway's order (`/` last).
pub fn routes() -> impl Iterator<Item = Route> {
    SERVICES.iter().flat_map(|service| {
        service
            .routes
            .iter()
            .map(move |prefix| Route { prefix, service })
    })
}

/// `docs/fleet.json`: the description as the deployment validation reads it.
#[derive(Serialize)]
struct Document {
    services: Vec<DocumentedService>,
    routes: Vec<Route>,
}

#[derive(Serialize)]
struct DocumentedService {
    #[serde(flatten)]
    service: &'static Service,
    kubernetes_service: String,
}

/// `docs/fleet.json` as the description makes it: pretty JSON with a final newline.
pub fn document() -> String {
    let document = Document {
        services: SERVICES
            .iter()
            .map(|service| DocumentedService {
                service,
                kubernetes_service: service.kubernetes_service(),
            })
            .collect(),
        routes: routes().collect(),
    };
    let mut json = serde_json::to_string_pretty(&document).expect("the description serialises");
    json.push('\n');
    json
}

/// Where `docs/fleet.json` is kept.
pub fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/fleet.json")
}
