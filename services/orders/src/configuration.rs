use std::time::Duration;

use common::settings::{EventSettings, HttpSettings, SettingError, optional, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
    /// How long an order holds its ticket before it expires.
    pub expiration_window: Duration,
    /// Whether the outbox relay runs (only tests turn it off).
    pub relay_events: bool,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
            expiration_window: Duration::from_secs(optional("EXPIRATION_WINDOW_SECONDS", 900)?),
            relay_events: true,
        })
    }
}
