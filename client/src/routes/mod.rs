mod account;
mod assets;
mod extract;
mod home;
mod orders;
mod tickets;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::response::Response;
use axum::routing::{any, get, post};

use crate::error::Error;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::index))
        .route(
            "/auth/signup",
            get(account::signup_form).post(account::signup),
        )
        .route(
            "/auth/signin",
            get(account::signin_form).post(account::signin),
        )
        .route(
            "/auth/signout",
            get(account::signout).post(account::signout),
        )
        .route("/tickets/new", get(tickets::new_form).post(tickets::create))
        .route("/tickets/{id}", get(tickets::show))
        .route("/tickets/{id}/purchase", post(tickets::purchase))
        .route(
            "/tickets/{id}/edit",
            get(tickets::edit_form).post(tickets::update),
        )
        .route("/orders", get(orders::index))
        .route("/orders/{id}", get(orders::show))
        .route("/orders/{id}/pay", post(orders::pay))
        .route("/static/app.css", get(assets::css))
        .route("/static/app.js", get(assets::js))
        // Unknown API paths reach the client too (everything outside the services' prefixes
        // does): they get the API's JSON 404; anything else a page.
        .route("/api/{*path}", any(|| async { common::ApiError::NotFound }))
        .route("/{*path}", any(|| async { Error::NotFound }))
        // A page for a wrong method too, not the API's JSON 405 of `common::http::app`.
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Our own files only, plus Stripe.js and the frames and calls it makes; no framing by other sites.
const CSP: &str = "default-src 'self'; script-src 'self' https://js.stripe.com; \
    frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; \
    img-src 'self' data: https://*.stripe.com; style-src 'self' 'unsafe-inline'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}
