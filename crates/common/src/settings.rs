//! Settings from the environment (contract section 6).
//!
//! Services read every setting through [`required`] and [`optional`], so a missing or unusable
//! value stops start-up with one line naming the variable, and [`listed_by`] can tell which
//! settings a configuration reads without an environment (docs/settings.json, from which the
//! deployment cross-check proves every manifest provides what its service requires).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::num::NonZeroU32;
use std::str::FromStr;

use secrecy::SecretString;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("missing required setting {0}: set the environment variable {0}")]
    Missing(&'static str),
    #[error("unusable setting {name}={value:?}: {reason}")]
    Unusable {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The settings a configuration reads, as [`listed_by`] finds them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SettingNames {
    /// Start-up stops without these.
    pub required: BTreeSet<&'static str>,
    /// These have a default.
    pub optional: BTreeSet<&'static str>,
}

thread_local! {
    /// While [`listed_by`] runs on this thread: the names read so far.
    static LISTING: RefCell<Option<SettingNames>> = const { RefCell::new(None) };
}

/// What [`required`] answers while a configuration is listed: a value its readers accept (some
/// check that it is a URL).
const STAND_IN: &str = "http://stand-in.invalid/";

/// Lists the settings `read` (a service's `Settings::from_env`) reads, by running it with the
/// environment set aside: each required setting answers a stand-in value, each optional one its
/// default. The answer is the code's own, so it cannot drift from what start-up reads.
pub fn listed_by<T>(
    read: impl FnOnce() -> Result<T, SettingError>,
) -> Result<SettingNames, SettingError> {
    LISTING.with_borrow_mut(|listing| *listing = Some(SettingNames::default()));
    let outcome = read();
    let names = LISTING.with_borrow_mut(Option::take).unwrap_or_default();
    outcome.map(|_| names)
}

/// Notes that `name` is read, when a configuration is being listed (and then says so).
fn listed(name: &'static str, required: bool) -> bool {
    LISTING.with_borrow_mut(|listing| {
        let Some(names) = listing else {
            return false;
        };
        let kind = if required {
            &mut names.required
        } else {
            &mut names.optional
        };
        kind.insert(name);
        true
    })
}

/// A setting that must be present and non-blank.
pub fn required(name: &'static str) -> Result<String, SettingError> {
    if listed(name, true) {
        return Ok(STAND_IN.to_owned());
    }
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(SettingError::Missing(name)),
    }
}

/// A setting parsed from the environment, or `default` when unset or blank.
pub fn optional<T>(name: &'static str, default: T) -> Result<T, SettingError>
where
    T: FromStr,
    T::Err: Display,
{
    if listed(name, false) {
        return Ok(default);
    }
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse(name, &value),
        _ => Ok(default),
    }
}

/// Parses a raw setting value, naming the variable when it is unusable.
pub fn parse<T>(name: &'static str, value: &str) -> Result<T, SettingError>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .trim()
        .parse()
        .map_err(|error: T::Err| SettingError::Unusable {
            name,
            value: value.to_owned(),
            reason: error.to_string(),
        })
}

/// The settings every HTTP service shares.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub port: u16,
    /// Where `GET /metrics` is served (`METRICS_PORT`); unset, nowhere.
    pub metrics_port: Option<u16>,
    /// Signs and checks session tokens; `Debug` shows it redacted.
    pub jwt_key: SecretString,
    pub cookie_secure: bool,
    pub rate_limits: RateLimitSettings,
}

impl HttpSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            port: optional("PORT", 3000)?,
            metrics_port: metrics_port()?,
            jwt_key: required("JWT_KEY")?.into(),
            cookie_secure: optional("COOKIE_SECURE", false)?,
            rate_limits: RateLimitSettings::from_env()?,
        })
    }

    pub fn ports(&self) -> Ports {
        Ports {
            http: self.port,
            metrics: self.metrics_port,
        }
    }
}

/// `METRICS_PORT`: where a service serves `GET /metrics` (unset: it does not).
pub fn metrics_port() -> Result<Option<u16>, SettingError> {
    if listed("METRICS_PORT", false) {
        return Ok(None);
    }
    match std::env::var("METRICS_PORT") {
        Ok(value) if !value.trim().is_empty() => parse("METRICS_PORT", &value).map(Some),
        _ => Ok(None),
    }
}

/// Exits the process with one line on stderr when start-up fails.
pub fn or_exit<T, E: Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(1)
    })
}

/// Where the event bus is, and the namespace isolating this fleet on it.
#[derive(Debug, Clone)]
pub struct EventSettings {
    pub nats_url: String,
    /// Prefix for streams and subjects; empty in production (see `events::Namespace`).
    pub namespace: String,
    /// How many JetStream servers keep a copy of each stream the services create: 1 on a single
    /// server, 3 on a three-node cluster (a stream then survives the loss of one node).
    pub stream_replicas: usize,
}

/// JetStream keeps at most five copies of a stream.
const MAX_STREAM_REPLICAS: usize = 5;

impl EventSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            nats_url: required("NATS_URL")?,
            namespace: optional("NATS_NAMESPACE", String::new())?,
            stream_replicas: stream_replicas(optional("NATS_STREAM_REPLICAS", 1)?)?,
        })
    }
}

/// `NATS_STREAM_REPLICAS` must be one JetStream can hold: 1 to 5.
fn stream_replicas(replicas: usize) -> Result<usize, SettingError> {
    if (1..=MAX_STREAM_REPLICAS).contains(&replicas) {
        Ok(replicas)
    } else {
        Err(SettingError::Unusable {
            name: "NATS_STREAM_REPLICAS",
            value: replicas.to_string(),
            reason: format!("JetStream keeps 1 to {MAX_STREAM_REPLICAS} copies of a stream"),
        })
    }
}

/// The settings of a service that owns a MongoDB database and talks over the bus.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
}

impl ServiceSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
        })
    }
}

/// The settings of a service that also publishes the events of its writes through an outbox
/// ([`crate::service::EventService`]).
#[derive(Debug, Clone)]
pub struct EventServiceSettings {
    pub base: ServiceSettings,
    /// Whether the outbox relay runs. Only tests turn it off, to stand for a crash between a
    /// write and its publication.
    pub relay_events: bool,
}

impl EventServiceSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            base: ServiceSettings::from_env()?,
            relay_events: true,
        })
    }
}

/// The limits, in attempts per minute (every service reads them all and uses its own).
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Sign-ins and sign-ups together, per client address.
    pub sign_in_per_address: NonZeroU32,
    /// Sign-ins and sign-ups together, per email.
    pub sign_in_per_email: NonZeroU32,
    pub orders_per_user: NonZeroU32,
    pub payments_per_user: NonZeroU32,
}

impl Default for RateLimitSettings {
    /// Far above what a person does, low enough to bound a flood: 20 hashes a second from one
    /// address; 10 tries at one account's password a minute.
    fn default() -> Self {
        let per_minute = |n| NonZeroU32::new(n).expect("not zero");
        Self {
            sign_in_per_address: per_minute(1200),
            sign_in_per_email: per_minute(10),
            orders_per_user: per_minute(120),
            payments_per_user: per_minute(120),
        }
    }
}

impl RateLimitSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        let defaults = Self::default();
        Ok(Self {
            sign_in_per_address: optional(
                "SIGN_IN_LIMIT_PER_ADDRESS",
                defaults.sign_in_per_address,
            )?,
            sign_in_per_email: optional("SIGN_IN_LIMIT_PER_EMAIL", defaults.sign_in_per_email)?,
            orders_per_user: optional("ORDER_LIMIT_PER_USER", defaults.orders_per_user)?,
            payments_per_user: optional("PAYMENT_LIMIT_PER_USER", defaults.payments_per_user)?,
        })
    }
}

/// The ports a service listens on: its API, and its metrics when `metrics` is set (0 picks a
/// free one for either).
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub http: u16,
    pub metrics: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_does_not_show_the_jwt_key() {
        let settings = HttpSettings {
            port: 3000,
            metrics_port: None,
            jwt_key: "a-very-secret-signing-key".into(),
            cookie_secure: true,
            rate_limits: Default::default(),
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("a-very-secret-signing-key"), "{printed}");
        assert!(printed.contains("REDACTED"), "{printed}");
    }

    #[test]
    fn a_listed_configuration_names_what_it_requires_and_what_has_a_default() {
        let names = listed_by(EventServiceSettings::from_env).unwrap();
        let required: Vec<_> = names.required.iter().copied().collect();
        assert_eq!(required, ["JWT_KEY", "MONGO_URL", "NATS_URL"]);
        for optional in ["PORT", "METRICS_PORT", "COOKIE_SECURE", "NATS_NAMESPACE"] {
            assert!(names.optional.contains(optional), "{optional}: {names:?}");
        }
        assert!(names.required.is_disjoint(&names.optional), "{names:?}");
    }

    #[test]
    fn listing_is_over_when_it_returns() {
        listed_by(HttpSettings::from_env).unwrap();
        // Read from the environment again, where this name is not set.
        assert!(matches!(
            required("HOUSE_TEST_UNSET_SETTING"),
            Err(SettingError::Missing("HOUSE_TEST_UNSET_SETTING"))
        ));
    }

    #[test]
    fn stream_replicas_are_one_to_five() {
        assert_eq!(stream_replicas(1).unwrap(), 1);
        assert_eq!(stream_replicas(3).unwrap(), 3);
        assert_eq!(stream_replicas(5).unwrap(), 5);
        for bad in [0, 6] {
            let error = stream_replicas(bad).unwrap_err().to_string();
            assert!(error.contains("NATS_STREAM_REPLICAS"), "{bad}: {error}");
        }
    }
}
