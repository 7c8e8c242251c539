//! Whether a server serves: each kind is asked what its clients need of it.

use std::time::Duration;

use mongodb::bson::doc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one look may take.
const PATIENCE: Duration = Duration::from_secs(2);

/// NATS: its monitor says JetStream is enabled and healthy.
pub async fn nats(http: &reqwest::Client, monitor: &str) -> bool {
    let health = http
        .get(format!("{monitor}/healthz?js-enabled-only=true"))
        .timeout(PATIENCE)
        .send()
        .await;
    health.is_ok_and(|answer| answer.status().is_success())
}

/// The Stripe mock: it lists charges for a test key.
pub async fn stripe(http: &reqwest::Client, port: u16) -> bool {
    let charges = http
        .get(format!("http://127.0.0.1:{port}/v1/charges?limit=1"))
        .basic_auth("sk_test_mock", Some(""))
        .timeout(PATIENCE)
        .send()
        .await;
    charges.is_ok_and(|answer| answer.status().is_success())
}

/// Redis: PING is answered PONG.
pub async fn redis(port: u16) -> bool {
    let ping = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).await?;
        std::io::Result::Ok(line.trim_end() == "+PONG")
    };
    matches!(tokio::time::timeout(PATIENCE, ping).await, Ok(Ok(true)))
}

/// MongoDB: a writable primary (transactions need a replica set). A real mongod's one-member
/// replica set is initiated here; SecantusDB presents itself as replica set `secantus` already.
pub async fn mongo(port: u16, mongod: bool) -> bool {
    // A cheap look first: a driver's client costs more than a refused connection.
    if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        return false;
    }
    let url = format!(
        "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=500&connectTimeoutMS=500"
    );
    let Ok(client) = mongodb::Client::with_uri_str(&url).await else {
        return false;
    };
    let admin = client.database("admin");
    let ask = async {
        let hello = admin.run_command(doc! { "hello": 1 }).await.ok()?;
        if mongod && !hello.contains_key("setName") {
            let members = vec![doc! { "_id": 0, "host": format!("127.0.0.1:{port}") }];
            let initiate = doc! { "replSetInitiate": { "_id": "secantus", "members": members } };
            // AlreadyInitialized (23) is what a second caller gets; either way, not ready yet.
            let _ = admin.run_command(initiate).await;
            return Some(false);
        }
        hello.get_bool("isWritablePrimary").ok()
    };
    let ready = matches!(tokio::time::timeout(PATIENCE, ask).await, Ok(Some(true)));
    client.shutdown().immediate(true).await;
    ready
}
