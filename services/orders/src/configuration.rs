use std::time::Duration;

use common::settings::{EventServiceSettings, SettingError, optional};

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: EventServiceSettings,
    /// How long an order holds its ticket before it expires.
    pub expiration_window: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            service: EventServiceSettings::from_env()?,
            expiration_window: Duration::from_secs(optional("EXPIRATION_WINDOW_SECONDS", 900)?),
        })
    }
}
