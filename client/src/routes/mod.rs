mod account;
mod api_docs;
mod assets;
mod extract;
mod home;
mod orders;
mod tickets;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERER, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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
        // A POST only: a link or an image on any site could trigger a GET.
        .route("/auth/signout", post(account::signout))
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
        .merge(api_docs::router())
        // Unknown API paths reach the client too (everything outside the services' prefixes
        // does): they get the API's JSON 404; anything else a page.
        .route("/api/{*path}", any(|| async { common::ApiError::NotFound }))
        .route("/{*path}", any(|| async { Error::NotFound }))
        // A page for a wrong method too, not the API's JSON 405 of `common::http::app`.
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(refuse_cross_site_posts))
        .with_state(state)
}

/// Every form that changes something (sign in/up/out, sell, edit, purchase, pay) must be posted
/// from this site's own pages. The session cookie is `SameSite=Lax`, so another site's form
/// never carries it; this also stops one that needs no cookie (signing a visitor in to the
/// attacker's account). Browsers send `Origin` on every POST (older ones at least `Referer`); a
/// request with neither is not a browser's, and passes.
async fn refuse_cross_site_posts(request: Request, next: Next) -> Response {
    if request.method().is_safe() || from_this_site(request.headers()) {
        next.run(request).await
    } else {
        Error::CrossSite.into_response()
    }
}

fn from_this_site(headers: &HeaderMap) -> bool {
    let host = headers.get(HOST).and_then(|host| host.to_str().ok());
    let source = headers.get(ORIGIN).or_else(|| headers.get(REFERER));
    match (source, host) {
        (None, _) => true,
        (Some(source), Some(host)) => source
            .to_str()
            .ok()
            .and_then(|source| source.parse::<Uri>().ok())
            .and_then(|source| source.authority().cloned())
            .is_some_and(|authority| authority.as_str().eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
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
