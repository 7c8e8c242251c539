//! Spans exported over HTTPS: to a collector whose certificate is signed by the CA named in
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, and refused without it; to a collector that asks for a client
//! certificate, with the one of `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`. The
//! settings are given to [`OtlpTls::from_settings`] directly. The collector is a real TLS server on
//! a free port (`tests/fixtures/otlp-tls`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::telemetry::{OtlpClient, OtlpTls};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/otlp-tls")
        .join(name)
}

fn certificates_of(name: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(fixture(name))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The TLS files of the given settings (names as the OpenTelemetry settings spell them).
fn tls(settings: &[(&str, &str)]) -> Result<OtlpTls, common::telemetry::OtlpClientError> {
    OtlpTls::from_settings(|name| {
        settings
            .iter()
            .find(|(setting, _)| *setting == name)
            .map(|(_, file)| fixture(file).display().to_string())
    })
}

/// The settings trusting the test collector's CA.
const TRUSTING: (&str, &str) = ("OTEL_EXPORTER_OTLP_CERTIFICATE", "ca.pem");

/// What the collector received: each request's path and the span names in its body.
type Received = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// Whether the collector asks clients for a certificate (signed by `client-ca.pem`).
enum ClientCertificates {
    NotAsked,
    Required,
}

/// An OTLP/HTTP collector over TLS on a free port; returns its port.
async fn collector(received: Received, clients: ClientCertificates) -> u16 {
    let certificates = certificates_of("collector.pem");
    let key = PrivateKeyDer::from_pem_file(fixture("collector.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let config = match clients {
        ClientCertificates::NotAsked => config.with_no_client_auth(),
        ClientCertificates::Required => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(certificates_of("client-ca.pem"));
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            config.with_client_cert_verifier(verifier)
        }
    };
    let tls = config.with_single_cert(certificates, key).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let received = received.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let received = received.clone();
                    async move {
                        let path = request.uri().path().to_owned();
                        let body = request.into_body().collect().await?.to_bytes();
                        let export = ExportTraceServiceRequest::decode(body).unwrap_or_default();
                        let names = export
                            .resource_spans
                            .iter()
                            .flat_map(|resource| &resource.scope_spans)
                            .flat_map(|scope| &scope.spans)
                            .map(|span| span.name.clone())
                            .collect();
                        received.lock().unwrap().push((path, names));
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

/// Ends one span named `name` through a provider exporting to `https://localhost:port` with
/// `client`, and flushes: whether the export succeeded.
async fn export_one(client: OtlpClient, port: u16, name: &'static str) -> bool {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(format!("https://localhost:{port}/v1/traces"))
        .build()
        .unwrap();
    // The batch exporter blocks its caller while it flushes: off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .build();
        provider.tracer("test").in_span(name, |_| {});
        let flushed = provider.force_flush();
        let _ = provider.shutdown();
        flushed.is_ok()
    })
    .await
    .unwrap()
}

/// Exports one span named `checkout` with the exporter of `settings` to a collector asking
/// `clients` for certificates: whether the export succeeded, and what the collector received.
async fn export_checkout(
    clients: ClientCertificates,
    settings: &[(&str, &str)],
) -> (bool, Vec<(String, Vec<String>)>) {
    let received = Received::default();
    let port = collector(received.clone(), clients).await;
    let client = OtlpClient::new(&tls(settings).unwrap(), Duration::from_secs(5)).unwrap();
    let exported = export_one(client, port, "checkout").await;
    let received = received.lock().unwrap().clone();
    (exported, received)
}

/// What the collector receives of a successful export.
fn the_checkout_span() -> Vec<(String, Vec<String>)> {
    vec![("/v1/traces".to_owned(), vec!["checkout".to_owned()])]
}

#[tokio::test]
async fn spans_reach_a_collector_over_https_signed_by_the_configured_ca() {
    let outcome = export_checkout(ClientCertificates::NotAsked, &[TRUSTING]).await;

    assert_eq!(outcome, (true, the_checkout_span()));
}

#[tokio::test]
async fn a_collector_whose_certificate_is_not_trusted_gets_nothing() {
    // Mozilla's roots only: the test CA is not among them.
    let outcome = export_checkout(ClientCertificates::NotAsked, &[]).await;

    assert_eq!(outcome, (false, vec![]));
}

#[tokio::test]
async fn a_collector_asking_for_a_client_certificate_gets_the_configured_one() {
    let settings = [
        TRUSTING,
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "client.pem"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "client.key"),
    ];
    let outcome = export_checkout(ClientCertificates::Required, &settings).await;

    assert_eq!(outcome, (true, the_checkout_span()));
}

#[tokio::test]
async fn a_collector_asking_for_a_client_certificate_refuses_a_client_without_one() {
    let outcome = export_checkout(ClientCertificates::Required, &[TRUSTING]).await;

    assert_eq!(outcome, (false, vec![]));
}

/// Why the exporter's client is not built from these settings.
fn refusal(settings: &[(&str, &str)]) -> String {
    let settings = tls(settings).unwrap();
    OtlpClient::new(&settings, Duration::from_secs(5))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_certificate_file_without_a_certificate_is_refused_with_its_path() {
    let message = refusal(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", "README.md")]);

    assert!(
        message.contains("README.md") && message.contains("no PEM certificate"),
        "{message}"
    );
}

#[test]
fn a_key_file_without_a_key_is_refused_with_its_path() {
    let message = refusal(&[
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "client.pem"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "client.pem"),
    ]);

    assert!(
        message.contains("key file") && message.contains("client.pem"),
        "{message}"
    );
}

#[test]
fn a_client_certificate_without_its_key_is_refused_by_name() {
    let error = tls(&[("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "client.pem")]).unwrap_err();

    assert_eq!(
        error.to_string(),
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE is set but OTEL_EXPORTER_OTLP_CLIENT_KEY is \
         not: a client certificate needs both"
    );
}
