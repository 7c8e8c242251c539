//! `/api/docs`: the API's description for people (Swagger UI, its files built into the binary,
//! so the page works offline) and for tools (`/api/docs/openapi.json`). The document is
//! `docs/openapi.json`, the merge of every service's own made from their code by
//! `cargo run -p api-docs -- write`; its tests fail while the file differs from the code.

use axum::Router;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

/// The merged OpenAPI document, as committed.
const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub const DOCS_PATH: &str = "/api/docs";
pub const DOCUMENT_PATH: &str = "/api/docs/openapi.json";

pub fn router() -> Router<AppState> {
    let document: serde_json::Value =
        serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON (its test reads it)");
    let config = Config::new([DOCUMENT_PATH])
        // Swagger UI's default asks a public validator about the document: nothing leaves.
        .validator_url("none")
        .display_operation_id(true)
        .try_it_out_enabled(true);
    SwaggerUi::new(DOCS_PATH)
        .external_url_unchecked(DOCUMENT_PATH, document)
        .config(config)
        .into()
}
