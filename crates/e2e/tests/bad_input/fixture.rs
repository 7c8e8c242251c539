//! The fleet and what the cases need from it: where to send requests, and a signed-up user
//! with tickets of their own.

use std::collections::BTreeMap;

use common::testkit::{TestClient, cookie_pair, status_and_json, unique_name};
use serde_json::json;

/// A valid ObjectId that names nothing.
pub const UNKNOWN_ID: &str = "ffffffffffffffffffffffff";
/// Tickets the `PUT /api/tickets/:id` cases spread over, each edited by one lane at a time (two
/// edits of one ticket at once may rightly end in 409, which would make the sweep flaky).
pub const EDIT_LANES: usize = 4;

/// Where a request goes: the gateway, or one service directly (to tell the gateway's answers
/// from the service's).
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// `host:port`
    pub addr: String,
}

impl Target {
    pub fn from_url(name: &str, url: &str) -> Target {
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("{name}: an http:// URL, got {url}"));
        Target {
            name: name.to_owned(),
            addr: rest.trim_end_matches('/').to_owned(),
        }
    }
}

pub struct Fixture {
    pub gateway: Target,
    /// The running services by name (their first instances, from the fleet's state).
    pub services: BTreeMap<String, Target>,
    /// Unique to this run: emails and titles made here never collide with an earlier run's.
    pub tag: String,
    pub email: String,
    pub password: String,
    pub user_id: String,
    /// `session=...` of the signed-up user.
    pub cookie: String,
    /// Tickets of that user, one per edit lane.
    pub tickets: Vec<String>,
    /// The fleet's JWT key, to forge tokens that differ from a real one in one respect only.
    pub jwt_key: Option<String>,
}

impl Fixture {
    pub async fn set_up() -> Fixture {
        // The fleet's state (`$FLEET_DIR/fleet.json`, written by scripts/fleet.sh): the gateway,
        // each service's first instance, to probe directly, and the session key.
        let state = e2e::fleet();
        let url = state.gateway.url.clone();
        let gateway = Target::from_url("gateway", &url);
        let services: BTreeMap<String, Target> = fleet::NAMES
            .iter()
            .filter_map(|name| {
                let instance = state.first(name)?;
                Some((name.to_string(), Target::from_url(name, &instance.url)))
            })
            .collect();
        if services.is_empty() {
            eprintln!(
                "bad input sweep: no service in the fleet's state: the services are not probed \
                 directly, only through the gateway"
            );
        }
        let jwt_key = Some(state.jwt_key).filter(|key| !key.is_empty());
        if jwt_key.is_none() {
            eprintln!(
                "bad input sweep: no session key in the fleet's state: the forged-token cases \
                 that need the real key are skipped"
            );
        }

        let api = TestClient::new(url);
        let tag = unique_name("bad");
        let email = format!("{tag}@e2e.test");
        let password = "password".to_owned();
        let response = api
            .post(
                "/api/users/signup",
                &json!({ "email": email, "password": password }),
                None,
            )
            .await;
        let cookie = cookie_pair(
            response
                .headers()
                .get(reqwest::header::SET_COOKIE)
                .expect("signup sets the session cookie")
                .to_str()
                .unwrap(),
        );
        let (status, user) = status_and_json(response).await;
        assert_eq!(status, 201, "signup of the sweep's user: {user}");
        let user_id = user["id"].as_str().expect("a user id").to_owned();
        let mut tickets = Vec::new();
        for lane in 0..EDIT_LANES {
            let (status, ticket) = status_and_json(
                api.post(
                    "/api/tickets",
                    &json!({ "title": format!("{tag} lane {lane}"), "price": 10 }),
                    Some(&cookie),
                )
                .await,
            )
            .await;
            assert_eq!(status, 201, "a ticket for the sweep: {ticket}");
            tickets.push(ticket["id"].as_str().expect("a ticket id").to_owned());
        }
        Fixture {
            gateway,
            services,
            tag,
            email,
            password,
            user_id,
            cookie,
            tickets,
            jwt_key,
        }
    }

    pub fn service(&self, name: &str) -> Option<&Target> {
        self.services.get(name)
    }
}
