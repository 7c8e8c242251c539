//! The HTTP client the OTLP exporter sends spans with: plain HTTP or HTTPS (`https://` endpoints,
//! a hosted collector), verified against Mozilla's roots plus the certificate named by
//! `OTEL_EXPORTER_OTLP_CERTIFICATE` (a private collector's CA), as the OpenTelemetry settings
//! define it.
//!
//! The batch exporter runs on a thread of its own and waits for each export with a plain
//! executor, so the requests run on a small Tokio runtime of their own (one thread, as the blocking
//! client it replaces had).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Why the exporter cannot be built: a certificate file that is missing or holds no certificate,
/// or the runtime's thread.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the certificate file {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("the exporter's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// See the module's description.
#[derive(Debug, Clone)]
pub struct OtlpClient {
    inner: Arc<HyperClient<HttpsConnector<HttpConnector>>>,
    runtime: tokio::runtime::Handle,
}

impl OtlpClient {
    /// A client trusting Mozilla's roots and the PEM certificates in `extra_roots`, if given;
    /// each request ends after `timeout`.
    pub fn new(extra_roots: Option<&Path>, timeout: Duration) -> Result<Self, ClientError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = extra_roots {
            roots.add_parsable_certificates(certificates(path)?);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(OtlpClient {
            inner: Arc::new(HyperClient::new(connector, timeout, None)),
            runtime: export_runtime()?,
        })
    }
}

#[async_trait::async_trait]
impl HttpClient for OtlpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let inner = self.inner.clone();
        self.runtime
            .spawn(async move { inner.send_bytes(request).await })
            .await?
    }
}

/// The certificates of a PEM file; none is an error (a wrong path would otherwise pass silently).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let error = |reason: String| ClientError::Certificate {
        path: path.display().to_string(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(error("no PEM certificate in it".to_owned()));
    }
    Ok(certificates)
}

/// A one-thread runtime that lives as long as the process, for the exporter's requests.
fn export_runtime() -> Result<tokio::runtime::Handle, ClientError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("otlp-export".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}
