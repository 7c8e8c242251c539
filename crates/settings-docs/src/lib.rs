//! The environment settings each service's configuration reads, required and optional. It is kept
//! in the repository as `docs/settings.json`, so that the offline deployment validation
//! (`scripts/deploy_crossref.py`) can check every Deployment gives its service what it requires
//! without building Rust; `cargo run -p settings-docs -- write` makes it again after a change of
//! a configuration, and the tests fail while it differs from the code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::settings::{SettingError, SettingNames, listed_by};

/// Each service of the fleet, and the settings its `Settings::from_env` reads (what its main
/// reads at start-up).
pub fn services() -> Result<BTreeMap<&'static str, SettingNames>, SettingError> {
    Ok(BTreeMap::from([
        ("auth", listed_by(auth::configuration::Settings::from_env)?),
        (
            "tickets",
            listed_by(tickets::configuration::Settings::from_env)?,
        ),
        (
            "orders",
            listed_by(orders::configuration::Settings::from_env)?,
        ),
        (
            "payments",
            listed_by(payments::configuration::Settings::from_env)?,
        ),
        (
            "expiration",
            listed_by(expiration::configuration::Settings::from_env)?,
        ),
        (
            "client",
            listed_by(client::configuration::Settings::from_env)?,
        ),
    ]))
}

/// The document as committed: pretty JSON with a final newline.
pub fn render(services: &BTreeMap<&'static str, SettingNames>) -> String {
    let mut json = serde_json::to_string_pretty(services).expect("names serialise");
    json.push('\n');
    json
}

/// Where the document is kept.
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/settings.json")
}
