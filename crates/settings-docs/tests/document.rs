//! The committed settings are the code's.

const REGENERATE: &str = "run `cargo run -p settings-docs -- write` and commit docs/settings.json";

#[test]
fn the_committed_settings_are_the_ones_the_code_reads() {
    let committed = std::fs::read_to_string(settings_docs::committed_path())
        .unwrap_or_else(|error| panic!("docs/settings.json: {error}; {REGENERATE}"));
    let made = settings_docs::render(&settings_docs::services().unwrap());
    assert!(
        committed == made,
        "docs/settings.json differs from the code; {REGENERATE}\ncommitted:\n{committed}\nthe code:\n{made}"
    );
}

#[test]
fn every_service_requires_what_it_cannot_start_without() {
    let services = settings_docs::services().unwrap();
    let required =
        |service: &str| -> Vec<&str> { services[service].required.iter().copied().collect() };
    for owner in ["auth", "tickets", "orders"] {
        assert_eq!(
            required(owner),
            ["JWT_KEY", "MONGO_URL", "NATS_URL"],
            "{owner}"
        );
    }
    assert_eq!(
        required("payments"),
        ["JWT_KEY", "MONGO_URL", "NATS_URL", "STRIPE_KEY"]
    );
    assert_eq!(required("expiration"), ["NATS_URL", "REDIS_URL"]);
    assert_eq!(required("client"), ["API_URL"]);
    assert!(
        services["orders"]
            .optional
            .contains("EXPIRATION_WINDOW_SECONDS")
    );
    assert!(services["payments"].optional.contains("STRIPE_API_BASE"));
}
