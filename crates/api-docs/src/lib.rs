//! The API's one OpenAPI document: every service's own, merged. It is kept in the repository as
//! `docs/openapi.json` (the client serves it at `/api/docs/openapi.json`, with the docs page at
//! `/api/docs`); `cargo run -p api-docs -- write` makes it again after a change of the API, and
//! the tests fail while it differs from the code.

use std::path::PathBuf;

use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

/// Each service with an HTTP API, and its document.
pub fn services() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("auth", auth::routes::api().openapi()),
        ("tickets", tickets::routes::api().openapi()),
        ("orders", orders::routes::api().openapi()),
        ("payments", payments::routes::api().openapi()),
    ]
}

/// The merged document, as the gateway serves it.
pub fn merged() -> OpenApi {
    let mut merged = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Ticketing")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "List event tickets, reserve one for a limited time, pay for it. One entry \
                     point: `/api/users` is the auth service, `/api/tickets` tickets, \
                     `/api/orders` orders, `/api/payments` payments. Errors are always \
                     `{\"errors\":[{\"message\":\"...\",\"field\":\"...\"}]}`.",
                ))
                .build(),
        )
        .build();
    for (_, document) in services() {
        merged.merge(document);
    }
    common::api_docs::finish(merged)
}

/// The document as committed: pretty JSON with a final newline.
pub fn render(document: &OpenApi) -> String {
    let mut json = document
        .to_pretty_json()
        .expect("an OpenAPI document serialises");
    json.push('\n');
    json
}

/// Where the merged document is kept.
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}
