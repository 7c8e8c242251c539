//! The HTTP shell every service shares: the layers, the 404/405 answers, health endpoints and
//! serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::input::MAX_BODY_BYTES;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// What `/readyz` checks: each named dependency must answer.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    pub fn mongo(self, db: mongodb::Database) -> Self {
        self.check("mongodb", move || {
            let db = db.clone();
            async move { crate::mongo::ping(&db).await }
        })
    }

    pub fn nats(self, client: async_nats::Client) -> Self {
        self.check("nats", move || {
            let state = client.connection_state();
            async move {
                match state {
                    async_nats::connection::State::Connected => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
    }

    async fn report(&self) -> Response {
        let mut failures = serde_json::Map::new();
        for (name, check) in &self.checks {
            let outcome = tokio::time::timeout(std::time::Duration::from_secs(2), check()).await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    failures.insert((*name).to_owned(), error.into());
                }
                Err(_) => {
                    failures.insert((*name).to_owned(), "timed out".into());
                }
            }
        }
        if failures.is_empty() {
            (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response()
        } else {
            let body = json!({
                "errors": [{ "message": "Service unavailable" }],
                "unavailable": failures,
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// Wraps a service's API routes with what every service has: health endpoints, the contract's
/// 404/405/413 answers, the body limit and a tracing span per request.
pub fn app(api: Router, readiness: Readiness) -> Router {
    let readiness = Arc::new(readiness);
    api.route("/healthz", get(|| async { axum::Json(json!({ "status": "alive" })) }))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move { readiness.report().await }
            }),
        )
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::map_response(contract_shape))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
}

/// Gives the bare error answers axum produces itself (405 for a wrong method) the contract's
/// JSON shape.
async fn contract_shape(response: Response) -> Response {
    let bare = response.headers().get(CONTENT_TYPE).is_none();
    match response.status() {
        StatusCode::METHOD_NOT_ALLOWED if bare => {
            let allow = response.headers().get(axum::http::header::ALLOW).cloned();
            let mut shaped = ApiError::MethodNotAllowed.into_response();
            if let Some(allow) = allow {
                shaped
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, allow);
            }
            shaped
        }
        StatusCode::PAYLOAD_TOO_LARGE if bare => ApiError::PayloadTooLarge.into_response(),
        _ => response,
    }
}

/// Binds the service's port (0 = any free port), as `startup` does before serving.
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
