//! The local gateway: nginx in front of the services with the ingress's routing, its config
//! rendered from `infra/local/nginx.conf.j2`.

use askama::Template;

use crate::{Route, SERVICES, Service};

/// What the config is made from; the routes come from the fleet's description.
pub struct Settings {
    /// Port the gateway listens on, on 127.0.0.1 (and [::1] when `listen_ipv6`).
    pub port: u16,
    pub listen_ipv6: bool,
    /// Directory of nginx's pid file and temporary files.
    pub nginx_dir: String,
    /// Directory of the gateway's error log (and access log).
    pub log_dir: String,
    pub access_log: bool,
    /// The user the workers run as (`root` when nginx starts as root: `nobody` could not write
    /// the temporary directories).
    pub user: Option<String>,
    /// Sign-ins + sign-ups per second per client address; a burst of 60 times that passes at once.
    pub sign_in_rate: u32,
    /// The running services and the ports of their instances (on 127.0.0.1).
    pub instances: Vec<(&'static Service, Vec<u16>)>,
}

/// An error the gateway answers itself: the contract's JSON under /api/, a page elsewhere.
pub struct GatewayError {
    pub kind: &'static str,
    pub status: u16,
    pub message: &'static str,
    pub title: &'static str,
    pub text: &'static str,
    /// Headers added to the answer.
    pub headers: &'static str,
}

const GATEWAY_ERRORS: [GatewayError; 7] = [
    GatewayError {
        kind: "bad_request",
        status: 400,
        message: "Bad request",
        title: "Bad request",
        text: "That address or request could not be read.",
        headers: "",
    },
    GatewayError {
        kind: "not_allowed",
        status: 405,
        message: "Method not allowed",
        title: "That did not work",
        text: "This page cannot be used that way.",
        // A method nginx does not serve (TRACE, ...) is answered with the ones the routes take.
        headers: r#"add_header Allow "GET, HEAD, POST, PUT, DELETE" always;"#,
    },
    GatewayError {
        kind: "too_large",
        status: 413,
        message: "Request body too large",
        title: "That did not work",
        text: "What was sent is too large.",
        headers: "",
    },
    GatewayError {
        kind: "uri_too_long",
        status: 414,
        message: "URI too long",
        title: "Address too long",
        text: "That address is too long.",
        headers: "",
    },
    GatewayError {
        kind: "headers_too_large",
        status: 431,
        message: "Request headers too large",
        title: "Too many cookies",
        text: "The browser sent more cookies than this site takes.",
        headers: "",
    },
    GatewayError {
        kind: "unavailable",
        status: 503,
        message: "Service unavailable",
        title: "Temporarily unavailable",
        text: "Please try again in a moment.",
        headers: "",
    },
    GatewayError {
        kind: "too_many",
        status: 429,
        message: "Too many attempts; try again later",
        title: "Too many attempts",
        text: "Please wait a moment and try again.",
        headers: "add_header Retry-After 1 always;",
    },
];

/// An upstream: the instances of one service behind the gateway.
pub struct Upstream {
    pub name: &'static str,
    pub ports: Vec<u16>,
}

impl Upstream {
    /// One instance is never marked down (the gateway would answer 503 for a while after it is
    /// back). Several: a refused connection moves the request to the next instance (even a POST:
    /// nothing was sent), and the dead one is left alone for 2 s.
    fn health(&self) -> &'static str {
        if self.ports.len() > 1 {
            "max_fails=1 fail_timeout=2s"
        } else {
            "max_fails=0"
        }
    }
}

/// A route as the gateway serves it: to its service's upstream when that runs, else the
/// contract's 404.
pub struct Location {
    pub prefix: &'static str,
    pub upstream: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "nginx.conf.j2", escape = "none")]
struct NginxConf<'a> {
    settings: &'a Settings,
    upstreams: Vec<Upstream>,
    rate_limited: Vec<(&'static str, &'static str)>,
    locations: Vec<Location>,
    errors: &'static [GatewayError],
}

impl NginxConf<'_> {
    fn access_log(&self) -> String {
        if self.settings.access_log {
            format!("{}/gateway-access.log", self.settings.log_dir)
        } else {
            "off".to_owned()
        }
    }

    fn sign_in_burst(&self) -> u32 {
        self.settings.sign_in_rate.saturating_mul(60)
    }
}

impl Settings {
    fn runs(&self, service: &Service) -> bool {
        self.instances
            .iter()
            .any(|(running, _)| running.name == service.name)
    }

    /// The nginx config.
    pub fn render(&self) -> String {
        let upstreams = SERVICES
            .iter()
            .filter(|service| service.behind_gateway())
            .filter_map(|service| {
                let (_, ports) = self
                    .instances
                    .iter()
                    .find(|(running, _)| running.name == service.name)?;
                Some(Upstream {
                    name: service.name,
                    ports: ports.clone(),
                })
            })
            .collect();
        let rate_limited = SERVICES
            .iter()
            .filter(|service| self.runs(service))
            .flat_map(|service| {
                service
                    .rate_limited
                    .iter()
                    .map(|path| (*path, service.name))
            })
            .collect();
        let locations = crate::routes()
            .map(|Route { prefix, service }| Location {
                prefix,
                upstream: self.runs(service).then_some(service.name),
            })
            .collect();
        NginxConf {
            settings: self,
            upstreams,
            rate_limited,
            locations,
            errors: &GATEWAY_ERRORS,
        }
        .render()
        .expect("the gateway template renders")
    }
}
