use common::settings::{EventSettings, HttpSettings, SettingError, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    /// NATS: where signed-out sessions are written for every service to refuse.
    pub events: EventSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
        })
    }
}
