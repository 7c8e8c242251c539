use common::settings::{EventSettings, HttpSettings, SettingError, optional, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
    pub stripe_key: String,
    /// Stripe's API base URL; a local mock in development and tests, Stripe itself when empty.
    pub stripe_api_base: Option<String>,
    /// Whether the outbox relay runs (only tests turn it off).
    pub relay_events: bool,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        let stripe_api_base: String = optional("STRIPE_API_BASE", String::new())?;
        Ok(Self {
            http: HttpSettings::from_env()?,
            mongo_url: required("MONGO_URL")?,
            events: EventSettings::from_env()?,
            stripe_key: required("STRIPE_KEY")?,
            stripe_api_base: (!stripe_api_base.is_empty()).then_some(stripe_api_base),
            relay_events: true,
        })
    }
}
