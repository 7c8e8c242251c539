use common::settings::{EventSettings, HttpSettings, SettingError, optional, required};
use secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub mongo_url: String,
    pub events: EventSettings,
    pub stripe_key: SecretString,
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
            stripe_key: required("STRIPE_KEY")?.into(),
            stripe_api_base: (!stripe_api_base.is_empty()).then_some(stripe_api_base),
            relay_events: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_does_not_show_the_stripe_key() {
        let settings = Settings {
            http: HttpSettings {
                port: 0,
                jwt_key: "jwt-key".into(),
                cookie_secure: false,
            },
            mongo_url: "mongodb://localhost".into(),
            events: EventSettings {
                nats_url: "nats://localhost".into(),
                namespace: String::new(),
            },
            stripe_key: "sk_test_very_secret".into(),
            stripe_api_base: None,
            relay_events: true,
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("sk_test_very_secret"), "{printed}");
        assert!(!printed.contains("jwt-key"), "{printed}");
    }
}
