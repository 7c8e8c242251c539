//! Listening and serving connections: the bind address, a deadline for request headers, header
//! limits, the client's address for each request, and graceful shutdown.
//!
//! hyper serves each connection (HTTP/1.1: what the gateway and the ingress speak to services)
//! instead of `axum::serve`, which sets no timer and so never times out a client that sends its
//! headers a byte at a time.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::settings::{SettingError, optional};

/// How long a client may take to send a request's headers, and how long a kept-alive connection
/// may sit idle before its next request (hyper counts both on one clock). The gateway's own
/// keep-alive to the services is shorter, so it never reuses a connection being closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Request headers the service reads at most: their count and their total size. Within these
/// the shell answers too many ([`MAX_HEADERS`]) itself, with the contract's JSON 431; past them
/// hyper closes the connection with a bare 431.
const PARSED_HEADERS: usize = 1_000;
const PARSED_HEADER_BYTES: usize = 256 * 1024;
/// The most request headers a request may carry (browsers send about 20).
pub const MAX_HEADERS: usize = 100;
/// The most bytes of request headers a request may carry, as the gateway allows.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The address services listen on: `BIND_ADDRESS` (default every interface, as a container
/// needs; the local fleet sets 127.0.0.1 so that only its gateway reaches them).
pub fn bind_address() -> Result<IpAddr, SettingError> {
    optional("BIND_ADDRESS", IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Binds the service's port (0 = any free port) on [`bind_address`].
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let address = bind_address()
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
    let listener = TcpListener::bind((address, port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// Serves until `shutdown` resolves, then finishes the requests in flight. Each request carries
/// the peer's address as `ConnectInfo<SocketAddr>` (the rate limits key on it).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_header_timeout(listener, app, shutdown, HEADER_READ_TIMEOUT).await
}

/// [`serve`] with another header deadline (tests wait one second, not thirty).
pub async fn serve_with_header_timeout(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_timeout: Duration,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_headers(PARSED_HEADERS)
        .max_buf_size(PARSED_HEADER_BYTES);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
