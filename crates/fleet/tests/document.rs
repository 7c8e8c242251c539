//! The committed docs/fleet.json is the description's.

const REGENERATE: &str = "run `cargo run -p fleet -- describe --write` and commit docs/fleet.json";

#[test]
fn the_committed_description_is_the_crates() {
    let committed = std::fs::read_to_string(fleet::document_path())
        .unwrap_or_else(|error| panic!("docs/fleet.json: {error}; {REGENERATE}"));
    let made = fleet::document();
    assert!(
        committed == made,
        "docs/fleet.json differs from crates/fleet; {REGENERATE}\ncommitted:\n{committed}\nthe description:\n{made}"
    );
}

#[test]
fn the_client_routes_everything_else_last() {
    let last = fleet::routes().last().unwrap();
    assert_eq!((last.prefix, last.service.name), ("/", "client"));
}
