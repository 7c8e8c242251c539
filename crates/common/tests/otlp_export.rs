//! Spans exported over HTTPS: to a collector whose certificate is signed by the CA named in
//! `OTEL_EXPORTER_OTLP_CERTIFICATE` (here given to [`OtlpClient::new`] directly), and refused
//! without it. The collector is a real TLS server on a free port (`tests/fixtures/otlp-tls`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::telemetry::OtlpClient;
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

/// What the collector received: each request's path and the span names in its body.
type Received = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// An OTLP/HTTP collector over TLS on a free port; returns its port.
async fn collector(received: Received) -> u16 {
    let certificates = CertificateDer::pem_file_iter(fixture("collector.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("collector.key")).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .unwrap();
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

#[tokio::test]
async fn spans_reach_a_collector_over_https_signed_by_the_configured_ca() {
    let received = Received::default();
    let port = collector(received.clone()).await;
    let client = OtlpClient::new(Some(&fixture("ca.pem")), Duration::from_secs(5)).unwrap();

    assert!(export_one(client, port, "checkout").await);

    assert_eq!(
        *received.lock().unwrap(),
        vec![("/v1/traces".to_owned(), vec!["checkout".to_owned()])]
    );
}

#[tokio::test]
async fn a_collector_whose_certificate_is_not_trusted_gets_nothing() {
    let received = Received::default();
    let port = collector(received.clone()).await;
    // Mozilla's roots only: the test CA is not among them.
    let client = OtlpClient::new(None, Duration::from_secs(5)).unwrap();

    assert!(!export_one(client, port, "checkout").await);

    assert!(received.lock().unwrap().is_empty());
}

#[test]
fn a_certificate_file_without_a_certificate_is_refused_with_its_path() {
    let error = OtlpClient::new(Some(&fixture("README.md")), Duration::from_secs(5)).unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("README.md") && message.contains("no PEM certificate"),
        "{message}"
    );
}
