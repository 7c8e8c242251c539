use common::settings::{HttpSettings, SettingError, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
        })
    }
}
