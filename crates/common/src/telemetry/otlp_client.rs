//! The HTTP client the OTLP exporter sends spans with: plain HTTP or HTTPS (`https://` endpoints,
//! a hosted collector), verified against Mozilla's roots plus the certificate named by
//! `OTEL_EXPORTER_OTLP_CERTIFICATE` (a private collector's CA), and presenting the client
//! certificate of `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `OTEL_EXPORTER_OTLP_CLIENT_KEY` to a
//! collector that asks for one (mutual TLS), as the OpenTelemetry settings define them.
//!
//! The batch exporter runs on a thread of its own and waits for each export with a plain
//! executor, so the requests run on a small Tokio runtime of their own (one thread, as the blocking
//! client it replaces had).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the exporter cannot be built: a certificate or key file that is missing or holds none, a
/// client certificate without its key (or the reverse), or the runtime's thread.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the certificate file {path}: {reason}")]
    Certificate { path: String, reason: String },
    #[error("the key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("{given} is set but {missing} is not: a client certificate needs both")]
    HalfAnIdentity {
        given: &'static str,
        missing: &'static str,
    },
    #[error("the client certificate and key: {0}")]
    Identity(rustls::Error),
    #[error("the exporter's runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// The exporter's TLS files, from the standard settings (the traces-only form first).
#[derive(Debug, Default, Clone)]
pub struct OtlpTls {
    /// PEM certificates trusted besides Mozilla's roots: a private collector's CA.
    pub certificate: Option<PathBuf>,
    /// The client certificate (PEM chain) and its key (PEM), for a collector that asks for one.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl OtlpTls {
    /// Reads the settings through `setting` (a name to its non-empty value).
    pub fn from_settings(setting: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let first = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|name| setting(name).map(|value| (name, PathBuf::from(value))))
        };
        let certificate = first([
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ]);
        let client_certificate = first([
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ]);
        let client_key = first([
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        ]);
        let client = match (client_certificate, client_key) {
            (Some((_, certificate)), Some((_, key))) => Some((certificate, key)),
            (None, None) => None,
            (Some((given, _)), None) => {
                return Err(ClientError::HalfAnIdentity {
                    given,
                    missing: "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                });
            }
            (None, Some((given, _))) => {
                return Err(ClientError::HalfAnIdentity {
                    given,
                    missing: "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                });
            }
        };
        Ok(OtlpTls {
            certificate: certificate.map(|(_, path)| path),
            client,
        })
    }
}

/// See the module's description.
#[derive(Debug, Clone)]
pub struct OtlpClient {
    inner: Arc<HyperClient<HttpsConnector<HttpConnector>>>,
    runtime: tokio::runtime::Handle,
}

impl OtlpClient {
    /// A client trusting Mozilla's roots and `tls.certificate`'s, presenting `tls.client` when
    /// asked; each request ends after `timeout`.
    pub fn new(tls: &OtlpTls, timeout: Duration) -> Result<Self, ClientError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = &tls.certificate {
            roots.add_parsable_certificates(certificates(path)?);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots);
        let tls = match &tls.client {
            Some((certificate, key)) => config
                .with_client_auth_cert(certificates(certificate)?, private_key(key)?)
                .map_err(ClientError::Identity)?,
            None => config.with_no_client_auth(),
        };
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

/// The private key of a PEM file (PKCS #8, PKCS #1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ClientError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| ClientError::Key {
        path: path.display().to_string(),
        reason: match e {
            rustls_pki_types::pem::Error::NoItemsFound => "no PEM private key in it".to_owned(),
            other => other.to_string(),
        },
    })
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
