use common::testkit::assert_refuses_to_start;

const AUTH: &str = env!("CARGO_BIN_EXE_auth");

#[test]
fn auth_refuses_to_start_without_its_settings() {
    assert_refuses_to_start(
        AUTH,
        &[("MONGO_URL", "mongodb://127.0.0.1:1/auth")],
        "JWT_KEY",
    );
    assert_refuses_to_start(AUTH, &[("JWT_KEY", "k")], "MONGO_URL");
    assert_refuses_to_start(
        AUTH,
        &[("JWT_KEY", "k"), ("MONGO_URL", "mongodb://h/a")],
        "NATS_URL",
    );
    assert_refuses_to_start(
        AUTH,
        &[
            ("JWT_KEY", "k"),
            ("MONGO_URL", "not a url"),
            ("NATS_URL", "nats://127.0.0.1:1"),
        ],
        "MONGO_URL",
    );
    assert_refuses_to_start(
        AUTH,
        &[
            ("JWT_KEY", "k"),
            ("MONGO_URL", "mongodb://h/a"),
            ("PORT", "eighty"),
        ],
        "PORT",
    );
}
