use common::testkit::assert_refuses_to_start;

const TICKETS: &str = env!("CARGO_BIN_EXE_tickets");

#[test]
fn tickets_refuses_to_start_without_its_settings() {
    let mongo = ("MONGO_URL", "mongodb://127.0.0.1:1/tickets");
    let nats = ("NATS_URL", "nats://127.0.0.1:1");
    assert_refuses_to_start(TICKETS, &[mongo, nats], "JWT_KEY");
    assert_refuses_to_start(TICKETS, &[("JWT_KEY", "k"), nats], "MONGO_URL");
    assert_refuses_to_start(TICKETS, &[("JWT_KEY", "k"), mongo], "NATS_URL");
}
