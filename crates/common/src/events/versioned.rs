//! Versioned optimistic concurrency (the original's mongoose-update-if-current, made explicit).
//!
//! Writers: [`update_if_current`] changes a document only if it is still at the version the
//! writer read, and bumps the version. Replicas: [`apply_in_order`] applies an event only when
//! it is the next version; older ones are duplicates, newer ones wait for the gap to fill.

use bson::{Bson, Document, doc};
use mongodb::Collection;
use serde::de::DeserializeOwned;

use super::listener::{HandlerError, HandlerResult};

/// Applies `update` (plus `$inc: {version: 1}`) to the document matching `filter` (its `_id`
/// and any other condition) if it is still at `version`, and returns it as it is afterwards.
/// `None` means someone else changed it first: re-read and decide again.
///
/// A conditional `update_one` and a read rather than one `findAndModify`: the same guarantee,
/// and it stays fast on servers (SecantusDB in tests) whose `findAndModify` scans the
/// collection. The document returned may already include a later writer's change.
pub async fn update_if_current<T>(
    collection: &Collection<T>,
    mut filter: Document,
    version: i64,
    mut update: Document,
) -> mongodb::error::Result<Option<T>>
where
    T: DeserializeOwned + Send + Sync,
{
    match update.get_document_mut("$inc") {
        Ok(increments) => {
            increments.insert("version", 1_i64);
        }
        Err(_) => {
            update.insert("$inc", doc! { "version": 1_i64 });
        }
    }
    let id = filter.get("_id").cloned().unwrap_or(Bson::Null);
    filter.insert("version", version);
    if !crate::mongo::update_one_if(collection, filter, update).await? {
        return Ok(None);
    }
    collection
        .find_one(doc! { "_id": id })
        .projection(doc! { "outbox": 0 })
        .await
}

/// What an event did to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It was the next version and is now applied.
    Applied,
    /// The replica already had it (a redelivery): acknowledge, change nothing.
    Duplicate,
    /// An earlier version is missing (or the replica does not exist yet): retry later.
    Gap { local: Option<i64> },
}

impl Applied {
    /// Decides from the replica's version alone.
    pub fn classify(local: Option<i64>, event_version: i64) -> Applied {
        match local {
            Some(local) if event_version <= local => Applied::Duplicate,
            Some(local) if event_version == local + 1 => Applied::Applied,
            local => Applied::Gap { local },
        }
    }

    /// The listener's outcome: applied and duplicates are done, gaps retry later.
    pub fn outcome(self, event_version: i64) -> HandlerResult {
        match self {
            Applied::Applied | Applied::Duplicate => Ok(()),
            Applied::Gap { local } => Err(HandlerError::retry(format!(
                "version {event_version} arrived before its predecessor (replica at {local:?})"
            ))),
        }
    }
}

/// Sets `fields` and `version = event_version` on replica `id` only if the replica is at
/// `event_version - 1`.
///
/// When the update misses, the replica's version says why: already there (a duplicate) or
/// behind (a gap). A replica found at `event_version - 1` got there between the update and the
/// read — inserted by its `created` event, handled by another consumer at the same moment — so
/// the update is tried again rather than the event taken for a duplicate and lost.
pub async fn apply_in_order<T>(
    collection: &Collection<T>,
    id: impl Into<Bson>,
    event_version: i64,
    mut fields: Document,
) -> mongodb::error::Result<Applied>
where
    T: Send + Sync,
{
    let id = id.into();
    fields.insert("version", event_version);
    let mut local = None;
    for _ in 0..APPLY_ATTEMPTS {
        let previous_version = doc! { "_id": id.clone(), "version": event_version - 1 };
        let set = doc! { "$set": fields.clone() };
        if crate::mongo::update_one_if(collection, previous_version, set).await? {
            return Ok(Applied::Applied);
        }
        local = collection
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": id.clone() })
            .projection(doc! { "version": 1 })
            .await?
            .and_then(|replica| replica.get("version").and_then(bson_i64));
        match Applied::classify(local, event_version) {
            // At the predecessor now: it moved since the update; apply again.
            Applied::Applied => continue,
            other => return Ok(other),
        }
    }
    Ok(Applied::Gap { local })
}

/// How often [`apply_in_order`] tries an update whose replica keeps reaching the predecessor
/// version just after the update missed it.
const APPLY_ATTEMPTS: usize = 3;

fn bson_i64(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(value) => Some(i64::from(*value)),
        Bson::Int64(value) => Some(*value),
        Bson::Double(value) => Some(*value as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Applied;

    #[test]
    fn only_the_next_version_applies() {
        assert_eq!(Applied::classify(Some(3), 4), Applied::Applied);
        assert_eq!(Applied::classify(Some(3), 3), Applied::Duplicate);
        assert_eq!(Applied::classify(Some(3), 1), Applied::Duplicate);
        assert_eq!(
            Applied::classify(Some(3), 5),
            Applied::Gap { local: Some(3) }
        );
        assert_eq!(Applied::classify(None, 1), Applied::Gap { local: None });
        assert!(Applied::Duplicate.outcome(1).is_ok());
        assert!(Applied::Gap { local: None }.outcome(1).is_err());
    }
}
