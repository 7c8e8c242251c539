use common::rate_limit::PerUserLimit;
use common::settings::{EventServiceSettings, SettingError, optional, required};
use secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: EventServiceSettings,
    pub stripe_key: SecretString,
    /// Stripe's API base URL; a local mock in development and tests, Stripe itself when empty.
    pub stripe_api_base: Option<String>,
}

impl Settings {
    /// How many payments a user may make per minute: each is a call to the card processor.
    pub fn per_user_limit(&self) -> PerUserLimit {
        PerUserLimit::per_minute(self.service.base.http.rate_limits.payments_per_user)
    }

    pub fn from_env() -> Result<Self, SettingError> {
        let stripe_api_base: String = optional("STRIPE_API_BASE", String::new())?;
        Ok(Self {
            service: EventServiceSettings::from_env()?,
            stripe_key: required("STRIPE_KEY")?.into(),
            stripe_api_base: (!stripe_api_base.is_empty()).then_some(stripe_api_base),
        })
    }
}

#[cfg(test)]
mod tests {
    use common::settings::{EventSettings, HttpSettings, ServiceSettings};

    use super::*;

    #[test]
    fn debug_output_does_not_show_the_stripe_key() {
        let settings = Settings {
            service: EventServiceSettings {
                base: ServiceSettings {
                    http: HttpSettings {
                        port: 0,
                        metrics_port: None,
                        jwt_key: "jwt-key".into(),
                        cookie_secure: false,
                        rate_limits: Default::default(),
                    },
                    mongo_url: "mongodb://localhost".into(),
                    events: EventSettings {
                        nats_url: "nats://localhost".into(),
                        namespace: String::new(),
                        stream_replicas: 1,
                    },
                },
                relay_events: true,
            },
            stripe_key: "sk_test_very_secret".into(),
            stripe_api_base: None,
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("sk_test_very_secret"), "{printed}");
        assert!(!printed.contains("jwt-key"), "{printed}");
    }
}
