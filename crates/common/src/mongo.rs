//! MongoDB connection and error classification shared by the services that own a database.

use std::time::Duration;

use bson::{Document, doc, oid::ObjectId};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};

/// MongoDB's code for a unique-index violation.
const DUPLICATE_KEY: i32 = 11000;

/// Inserts the document `id` with `fields` unless it is already there, as a replica does with the
/// event that creates its copy: a redelivery, or one that arrives after later changes were
/// applied, changes nothing.
pub async fn insert_once<T: Send + Sync>(
    collection: &Collection<T>,
    id: ObjectId,
    fields: Document,
) -> mongodb::error::Result<()> {
    collection
        .update_one(doc! { "_id": id }, doc! { "$setOnInsert": fields })
        .upsert(true)
        .await?;
    Ok(())
}

/// Updates the one document `condition` matches, if there is one, and says whether there was: a
/// write that must happen only while the document is still as it was read.
pub async fn update_one_if<T: Send + Sync>(
    collection: &Collection<T>,
    condition: Document,
    update: Document,
) -> mongodb::error::Result<bool> {
    Ok(collection
        .update_one(condition, update)
        .await?
        .matched_count
        == 1)
}

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

/// Turns a unique-index violation into a domain error (`ResultExt::on_duplicate_key`): the
/// index is the rule, the error says which rule was hit.
pub trait ResultExt<T> {
    fn on_duplicate_key<E>(self, error: impl FnOnce() -> E) -> Result<T, E>
    where
        E: From<mongodb::error::Error>;
}

impl<T> ResultExt<T> for mongodb::error::Result<T> {
    fn on_duplicate_key<E>(self, error: impl FnOnce() -> E) -> Result<T, E>
    where
        E: From<mongodb::error::Error>,
    {
        self.map_err(|failure| match is_duplicate_key(&failure) {
            true => error(),
            false => failure.into(),
        })
    }
}

/// Pings the database; used by `/readyz`.
pub async fn ping(db: &Database) -> Result<(), String> {
    db.run_command(bson::doc! { "ping": 1 })
        .await
        .map(drop)
        .map_err(|error| error.to_string())
}

/// MongoDB's code for "the collection already exists".
const NAMESPACE_EXISTS: i32 = 48;

/// A collection a service owns and the indexes its rules and reads rest on (a unique index that
/// makes a rule atomic, an index a hot read needs).
#[derive(Clone, Debug)]
pub struct CollectionSchema {
    pub name: &'static str,
    pub indexes: Vec<mongodb::IndexModel>,
    /// Whether the collection's documents carry an outbox of pending events.
    pub outbox: bool,
}

impl CollectionSchema {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            indexes: Vec::new(),
            outbox: false,
        }
    }

    pub fn index(mut self, index: mongodb::IndexModel) -> Self {
        self.indexes.push(index);
        self
    }

    /// Marks the collection as one whose documents hold pending events for the outbox relay.
    pub fn with_outbox(mut self) -> Self {
        self.outbox = true;
        self
    }
}

/// Creates the collections that are missing and then their indexes, one at a time.
///
/// Done before anything writes: DDL racing writes on a new collection is where a server may
/// serialise badly or, SecantusDB in tests, wedge; and a rule resting on a unique index must
/// never meet a write without it. Idempotent: existing collections and indexes are kept.
pub async fn prepare(db: &Database, schema: &[CollectionSchema]) -> mongodb::error::Result<()> {
    let existing = db.list_collection_names().await?;
    for collection in schema {
        if !existing.iter().any(|name| name == collection.name) {
            match db.create_collection(collection.name).await {
                Ok(()) => {}
                Err(error) if command_code(&error) == Some(NAMESPACE_EXISTS) => {}
                Err(error) => return Err(error),
            }
        }
        let handle = db.collection::<bson::Document>(collection.name);
        for index in &collection.indexes {
            handle.create_index(index.clone()).await?;
        }
    }
    Ok(())
}

/// At start-up: [`prepare`]s the schema, waiting (with a warning every try) while the database
/// cannot be reached; any other failure (an index that conflicts with an existing one) is final.
pub async fn prepare_when_reachable(
    db: &Database,
    schema: &[CollectionSchema],
) -> mongodb::error::Result<()> {
    let mut delay = Duration::from_millis(200);
    loop {
        match prepare(db, schema).await {
            Ok(()) => return Ok(()),
            Err(error) if is_unavailable(&error) => {
                tracing::warn!(%error, "database not reachable yet; collections and indexes are prepared before serving");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

fn command_code(error: &mongodb::error::Error) -> Option<i32> {
    match &*error.kind {
        ErrorKind::Command(failure) => Some(failure.code),
        _ => None,
    }
}

/// An index on `keys` named `name`: a name of our own, so that a schema's index is found again
/// by name at every start.
pub fn index(keys: bson::Document, name: &str) -> mongodb::IndexModel {
    index_with(keys, name, |_| {})
}

/// An index on `keys` named `name` that leaves out documents without the field.
pub fn sparse_index(keys: bson::Document, name: &str) -> mongodb::IndexModel {
    index_with(keys, name, |options| options.sparse = Some(true))
}

/// A unique index on `keys`, named `name`; `sparse` leaves out documents without the field.
pub fn unique_index(keys: bson::Document, name: &str, sparse: bool) -> mongodb::IndexModel {
    index_with(keys, name, |options| {
        options.unique = Some(true);
        options.sparse = Some(sparse);
    })
}

fn index_with(
    keys: bson::Document,
    name: &str,
    set: impl FnOnce(&mut mongodb::options::IndexOptions),
) -> mongodb::IndexModel {
    let mut options = mongodb::options::IndexOptions::builder()
        .name(name.to_owned())
        .build();
    set(&mut options);
    mongodb::IndexModel::builder()
        .keys(keys)
        .options(options)
        .build()
}
