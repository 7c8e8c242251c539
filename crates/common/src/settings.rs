//! Settings from the environment (contract section 6).
//!
//! Services read every setting through [`required`] and [`optional`], so a missing or unusable
//! value stops start-up with one line naming the variable. (The deployment cross-check scans the
//! code for `required("NAME")` calls to prove every manifest provides them.)

use std::fmt::Display;
use std::str::FromStr;

use secrecy::SecretString;

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

/// A setting that must be present and non-blank.
pub fn required(name: &'static str) -> Result<String, SettingError> {
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
}

impl HttpSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            port: optional("PORT", 3000)?,
            metrics_port: metrics_port()?,
            jwt_key: required("JWT_KEY")?.into(),
            cookie_secure: optional("COOKIE_SECURE", false)?,
        })
    }

    pub fn ports(&self) -> crate::service::Ports {
        crate::service::Ports {
            http: self.port,
            metrics: self.metrics_port,
        }
    }
}

/// `METRICS_PORT`: where a service serves `GET /metrics` (unset: it does not).
pub fn metrics_port() -> Result<Option<u16>, SettingError> {
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
}

impl EventSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            nats_url: required("NATS_URL")?,
            namespace: optional("NATS_NAMESPACE", String::new())?,
        })
    }
}

/// The settings of a service that owns a MongoDB database and talks over the bus.
#[derive(Debug, Clone)]
pub struct EventServiceSettings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
    /// Whether the outbox relay runs. Only tests turn it off, to stand for a crash between a
    /// write and its publication.
    pub relay_events: bool,
}

impl EventServiceSettings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
            relay_events: true,
        })
    }
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
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("a-very-secret-signing-key"), "{printed}");
        assert!(printed.contains("REDACTED"), "{printed}");
    }
}
