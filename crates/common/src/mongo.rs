//! MongoDB connection and error classification shared by the services that own a database.

use std::time::Duration;

use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

/// MongoDB's code for a unique-index violation.
const DUPLICATE_KEY: i32 = 11000;

/// Connects to the database named in the URL's path (or `default_db` when it names none).
///
/// The driver connects lazily, so this succeeds while the server is down; requests then answer
/// 503 until it is back, and `/readyz` reports it.
pub async fn connect(url: &str, default_db: &str) -> mongodb::error::Result<Database> {
    let mut options = ClientOptions::parse(url).await?;
    // Fail a request in seconds (503) rather than hang for the driver's 30 s default.
    options
        .server_selection_timeout
        .get_or_insert(Duration::from_secs(5));
    options
        .connect_timeout
        .get_or_insert(Duration::from_secs(5));
    let name = options
        .default_database
        .clone()
        .unwrap_or_else(|| default_db.to_owned());
    Ok(Client::with_options(options)?.database(&name))
}

/// Whether the error means the server could not be reached (503) rather than a bug (500).
pub fn is_unavailable(error: &mongodb::error::Error) -> bool {
    matches!(
        *error.kind,
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
    )
}

/// Whether the error is a unique-index violation.
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        ErrorKind::Write(WriteFailure::WriteError(failure)) => failure.code == DUPLICATE_KEY,
        ErrorKind::Command(failure) => failure.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(failure) => failure
            .write_errors
            .iter()
            .flatten()
            .any(|failure| failure.code == DUPLICATE_KEY),
        _ => error.to_string().contains("E11000"),
    }
}

/// Pings the database; used by `/readyz`.
pub async fn ping(db: &Database) -> Result<(), String> {
    db.run_command(bson::doc! { "ping": 1 })
        .await
        .map(drop)
        .map_err(|error| error.to_string())
}

/// Indexes a collection's writes depend on (a unique index that makes a rule atomic), created
/// once: at start-up when the database is there, else before the first write that needs them.
/// A write never goes ahead without them.
#[derive(Clone)]
pub struct RequiredIndexes {
    collection: mongodb::Collection<bson::Document>,
    models: Vec<mongodb::IndexModel>,
    created: std::sync::Arc<tokio::sync::OnceCell<()>>,
}

impl RequiredIndexes {
    pub fn new<T: Send + Sync>(
        collection: &mongodb::Collection<T>,
        models: Vec<mongodb::IndexModel>,
    ) -> Self {
        Self {
            collection: collection.clone_with_type(),
            models,
            created: Default::default(),
        }
    }

    /// Creates the indexes unless done already; a failure is retried by the next call.
    pub async fn ensure(&self) -> mongodb::error::Result<()> {
        self.created
            .get_or_try_init(|| async {
                self.collection
                    .create_indexes(self.models.clone())
                    .await
                    .map(drop)
            })
            .await
            .map(drop)
    }

    /// At start-up: tries, and only warns when the database is not there yet.
    pub async fn try_now(&self) {
        if let Err(error) = self.ensure().await {
            tracing::warn!(%error, collection = %self.collection.name(), "indexes not created yet; retried before the first write");
        }
    }
}

/// A unique index on `keys`, named `name`; `sparse` leaves out documents without the field.
pub fn unique_index(keys: bson::Document, name: &str, sparse: bool) -> mongodb::IndexModel {
    mongodb::IndexModel::builder()
        .keys(keys)
        .options(
            mongodb::options::IndexOptions::builder()
                .unique(true)
                .sparse(sparse)
                .name(name.to_owned())
                .build(),
        )
        .build()
}
