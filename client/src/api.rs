//! The server side's view of the API: calls through the gateway/ingress on the browser's behalf,
//! with the browser's cookies. The JSON shapes it reads are in `contract`.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponseParts, ResponseParts};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contract::{Message, Order, OrderStatus, Ticket, User};
use crate::error::Error;

/// A page waits this long for the API before showing "unavailable" instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The API as reached from the client's server side.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    host: Option<HeaderValue>,
}

/// What the browser sent that the API needs to know who is asking: its cookies.
#[derive(Debug, Clone, Default)]
pub struct Browser {
    cookie: Option<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Browser {
            cookie: parts.headers.get(COOKIE).cloned(),
        })
    }
}

impl Browser {
    /// Without a `session` cookie nobody is signed in, so asking the API would be a wasted call.
    fn has_session(&self) -> bool {
        self.cookie
            .as_ref()
            .and_then(|cookie| cookie.to_str().ok())
            .is_some_and(|cookie| {
                cookie
                    .split(';')
                    .any(|pair| pair.trim_start().starts_with("session="))
            })
    }
}

/// The `Set-Cookie` headers of an API answer, passed on to the browser unchanged.
#[derive(Debug, Default)]
pub struct SetCookies(Vec<HeaderValue>);

impl IntoResponseParts for SetCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.0 {
            parts.headers_mut().append(SET_COOKIE, cookie);
        }
        Ok(parts)
    }
}

/// A successful API answer.
pub struct Reply<T> {
    pub body: T,
    pub cookies: SetCookies,
}

/// The contract's error body.
#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<Message>,
}

#[derive(Deserialize)]
struct CurrentUserBody {
    #[serde(rename = "currentUser")]
    current_user: Option<User>,
}

impl Api {
    pub fn new(base: &str, host: Option<&str>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            // An API redirect is not something a page could follow on the user's behalf.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| error.to_string())?;
        let host = host
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| "API_HOST is not a valid host name".to_owned())?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
            host,
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        browser: &Browser,
    ) -> Result<Reply<T>, Error> {
        self.send(Method::GET, path, browser, None::<&()>).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        browser: &Browser,
        body: &impl Serialize,
    ) -> Result<Reply<T>, Error> {
        self.send(Method::POST, path, browser, Some(body)).await
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        browser: &Browser,
        body: &impl Serialize,
    ) -> Result<Reply<T>, Error> {
        self.send(Method::PUT, path, browser, Some(body)).await
    }

    /// Who the browser's session belongs to. A failure only costs the header its user links, so
    /// it makes the visitor anonymous rather than failing the whole page.
    pub async fn current_user(&self, browser: &Browser) -> Option<User> {
        if !browser.has_session() {
            return None;
        }
        match self
            .get::<CurrentUserBody>("/api/users/currentuser", browser)
            .await
        {
            Ok(reply) => reply.body.current_user,
            Err(error) => {
                tracing::warn!(%error, "current user unknown; showing the page anonymously");
                None
            }
        }
    }

    pub async fn ticket(&self, id: &str, browser: &Browser) -> Result<Ticket, Error> {
        Ok(self.get(&format!("/api/tickets/{id}"), browser).await?.body)
    }

    pub async fn order(&self, id: &str, browser: &Browser) -> Result<Order, Error> {
        Ok(self.get(&format!("/api/orders/{id}"), browser).await?.body)
    }

    /// Polls the order until it is complete or `patience` runs out: a payment completes the order
    /// asynchronously (through the `payment.created` event), usually within moments.
    pub async fn wait_until_complete(&self, id: &str, browser: &Browser, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < deadline {
            match self.order(id, browser).await {
                Ok(order) if order.status == OrderStatus::Complete => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(_) => return,
            }
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        browser: &Browser,
        body: Option<&impl Serialize>,
    ) -> Result<Reply<T>, Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(host) = &self.host {
            request = request.header(HOST, host);
        }
        if let Some(cookie) = &browser.cookie {
            request = request.header(COOKIE, cookie);
        }
        // The API's spans join the page's trace.
        let mut trace = reqwest::header::HeaderMap::new();
        common::telemetry::inject_http(&mut trace);
        request = request.headers(trace);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| Error::Unavailable(error.to_string()))?;
        let status = response.status();
        let cookies = SetCookies(
            response
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .cloned()
                .collect(),
        );
        let bytes = response
            .bytes()
            .await
            .map_err(|error| Error::Unavailable(error.to_string()))?;
        if status.is_success() {
            // 204 has no body; `null` lets a caller that expects nothing ask for `Value`.
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            let body = serde_json::from_slice(text)
                .map_err(|error| Error::Broken(format!("{path}: unexpected body: {error}")))?;
            return Ok(Reply { body, cookies });
        }
        Err(failure(status, &bytes, path))
    }
}

/// Classifies an API error answer.
fn failure(status: StatusCode, body: &[u8], path: &str) -> Error {
    if status.is_client_error() {
        let errors = serde_json::from_slice::<ErrorBody>(body)
            .map(|body| body.errors)
            .unwrap_or_else(|_| {
                vec![Message {
                    message: status
                        .canonical_reason()
                        .unwrap_or("Request refused")
                        .to_owned(),
                    field: None,
                }]
            });
        return Error::Refused { status, errors };
    }
    let detail = format!("{path}: {status}: {}", String::from_utf8_lossy(body));
    match status {
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            Error::Unavailable(detail)
        }
        _ => Error::Broken(detail),
    }
}
