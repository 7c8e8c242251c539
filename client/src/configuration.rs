use common::settings::{SettingError, metrics_port, optional, parse, required};

#[derive(Debug, Clone)]
pub struct Settings {
    pub port: u16,
    /// Where `GET /metrics` is served (`METRICS_PORT`); unset, nowhere.
    pub metrics_port: Option<u16>,
    /// Where the server side reaches the API: the gateway or the ingress, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
    /// The `Host` header the ingress routes on (`ticketing.dev`); unset sends the URL's own host.
    pub api_host: Option<String>,
    /// With a key, the payment page tokenises cards with Stripe.js; without one it offers test tokens.
    pub stripe_publishable_key: Option<String>,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingError> {
        let api_url = required("API_URL")?;
        // Checked here so that a typo stops start-up instead of failing every page later.
        parse::<reqwest::Url>("API_URL", &api_url)?;
        Ok(Self {
            port: optional("PORT", 3000)?,
            metrics_port: metrics_port()?,
            api_url,
            api_host: non_blank(optional("API_HOST", String::new())?),
            stripe_publishable_key: non_blank(optional("STRIPE_PUBLISHABLE_KEY", String::new())?),
        })
    }
}

fn non_blank(value: String) -> Option<String> {
    Some(value).filter(|value| !value.is_empty())
}
