use common::testkit::assert_refuses_to_start;

const ORDERS: &str = env!("CARGO_BIN_EXE_orders");

#[test]
fn orders_refuses_to_start_without_its_settings() {
    let key = ("JWT_KEY", "k");
    let mongo = ("MONGO_URL", "mongodb://127.0.0.1:1/orders");
    let nats = ("NATS_URL", "nats://127.0.0.1:1");
    assert_refuses_to_start(ORDERS, &[mongo, nats], "JWT_KEY");
    assert_refuses_to_start(ORDERS, &[key, nats], "MONGO_URL");
    assert_refuses_to_start(ORDERS, &[key, mongo], "NATS_URL");
    assert_refuses_to_start(
        ORDERS,
        &[key, mongo, nats, ("EXPIRATION_WINDOW_SECONDS", "soon")],
        "EXPIRATION_WINDOW_SECONDS",
    );
}
