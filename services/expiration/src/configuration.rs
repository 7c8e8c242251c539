use common::settings::{EventSettings, SettingError, metrics_port, optional, required};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Only health endpoints are served.
    pub port: u16,
    /// Where `GET /metrics` is served (`METRICS_PORT`); unset, nowhere.
    pub metrics_port: Option<u16>,
    pub redis_url: String,
    pub events: EventSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            port: optional("PORT", 3000)?,
            metrics_port: metrics_port()?,
            redis_url: required("REDIS_URL")?,
            events: EventSettings::from_env()?,
        })
    }
}
