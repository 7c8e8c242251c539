use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

use crate::assets::{CSS, JS};

/// Pages link the assets with a content hash (`?v=`), so a URL's content never changes.
const FOREVER: &str = "public, max-age=31536000, immutable";

pub async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, FOREVER),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, FOREVER),
        ],
        JS,
    )
}
