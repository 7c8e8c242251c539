use std::time::Duration;

use common::rate_limit::PerUserLimit;
use common::settings::{EventServiceSettings, SettingError, optional};

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: EventServiceSettings,
    /// How long an order holds its ticket before it expires.
    pub expiration_window: Duration,
}

impl Settings {
    /// How many orders a user may make per minute: each holds a ticket for the whole window.
    pub fn per_user_limit(&self) -> PerUserLimit {
        PerUserLimit::per_minute(self.service.base.http.rate_limits.orders_per_user)
    }

    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            service: EventServiceSettings::from_env()?,
            expiration_window: Duration::from_secs(optional("EXPIRATION_WINDOW_SECONDS", 900)?),
        })
    }
}
