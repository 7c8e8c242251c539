use common::settings::{EventSettings, SettingError, optional, required};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Only health endpoints are served.
    pub port: u16,
    pub redis_url: String,
    pub events: EventSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            port: optional("PORT", 3000)?,
            redis_url: required("REDIS_URL")?,
            events: EventSettings::from_env()?,
        })
    }
}
