use common::testkit::assert_refuses_to_start;

const PAYMENTS: &str = env!("CARGO_BIN_EXE_payments");

#[test]
fn payments_refuses_to_start_without_its_settings() {
    let key = ("JWT_KEY", "k");
    let mongo = ("MONGO_URL", "mongodb://127.0.0.1:1/payments");
    let nats = ("NATS_URL", "nats://127.0.0.1:1");
    assert_refuses_to_start(PAYMENTS, &[key, mongo, nats], "STRIPE_KEY");
    assert_refuses_to_start(PAYMENTS, &[("STRIPE_KEY", "sk"), mongo, nats], "JWT_KEY");
}
