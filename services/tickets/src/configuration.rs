use common::settings::{EventSettings, HttpSettings, SettingError, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
    /// Whether the outbox relay runs. Only tests turn it off, to stand for a crash between
    /// a write and its publication.
    pub relay_events: bool,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
            relay_events: true,
        })
    }
}
