//! The local replica of tickets, fed by `ticket.created` and `ticket.updated`.

use std::time::Duration;

use common::bson::{doc, oid::ObjectId};
use common::events::{
    Applied, HandlerError, HandlerResult, TicketCreated, TicketUpdated, apply_in_order,
};
use common::money::Price;
use common::mongo::{self, CollectionSchema};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// Who sells it (never changes, so the replica always knows it once it has the ticket).
    #[serde(default)]
    pub seller_id: String,
    pub title: String,
    #[serde(rename = "priceCents")]
    pub price: Price,
    pub version: i64,
}

#[derive(Clone)]
pub struct TicketReplica {
    collection: Collection<Ticket>,
}

impl TicketReplica {
    pub const COLLECTION: &'static str = "tickets";

    pub fn schema() -> CollectionSchema {
        CollectionSchema::new(Self::COLLECTION)
    }

    pub fn new(db: &Database) -> Self {
        Self {
            collection: db.collection(Self::COLLECTION),
        }
    }

    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<Ticket>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// The ticket at `seen` or later. A buyer who saw a version the replica has not reached yet
    /// saw it at the tickets service, so its event is on the way: wait (up to `within`) for the
    /// replica to apply it instead of calling the buyer's version stale. `Ok(None)`: no such
    /// ticket here; `Err(Behind)`: still behind after `within`.
    pub async fn at_least(
        &self,
        id: ObjectId,
        seen: Option<i64>,
        within: Duration,
    ) -> Result<Option<Ticket>, Behind> {
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_millis(5);
        loop {
            let ticket = self.find(id).await?;
            let caught_up = match (&ticket, seen) {
                (Some(ticket), Some(seen)) => ticket.version >= seen,
                _ => true,
            };
            if caught_up {
                return Ok(ticket);
            }
            if Instant::now() + pause > deadline {
                return Err(Behind::Lagging);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// `ticket.created`: inserts the replica; a redelivery finds it there and changes nothing.
    pub async fn created(&self, event: &TicketCreated) -> HandlerResult {
        let id = object_id(&event.id)?;
        let fields = doc! {
            "title": &event.title,
            "priceCents": Price::from_amount(event.price).cents(),
            "version": event.version,
            "sellerId": &event.user_id,
        };
        Ok(mongo::insert_once(&self.collection, id, fields).await?)
    }

    /// `ticket.updated`: applied only as the next version (older: duplicate; newer: wait).
    pub async fn updated(&self, event: &TicketUpdated) -> HandlerResult {
        let id = object_id(&event.id)?;
        let fields = doc! {
            "title": &event.title,
            "priceCents": Price::from_amount(event.price).cents(),
            "sellerId": &event.user_id,
        };
        let applied: Applied = apply_in_order(&self.collection, id, event.version, fields).await?;
        applied.outcome(event.version)
    }
}

/// Why [`TicketReplica::at_least`] has no answer.
#[derive(Debug, thiserror::Error)]
pub enum Behind {
    #[error("the ticket replica is behind the version the buyer saw")]
    Lagging,
    #[error(transparent)]
    Store(#[from] mongodb::error::Error),
}

fn object_id(raw: &str) -> Result<ObjectId, HandlerError> {
    ObjectId::parse_str(raw)
        .map_err(|_| HandlerError::reject(format!("malformed ticket id {raw:?}")))
}
