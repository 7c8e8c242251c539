//! The local replica of tickets, fed by `ticket.created` and `ticket.updated`.

use common::bson::{doc, oid::ObjectId};
use common::events::{
    Applied, HandlerError, HandlerResult, TicketCreated, TicketUpdated, apply_in_order,
};
use common::money::Price;
use common::mongo::CollectionSchema;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub title: String,
    pub price_cents: i64,
    pub version: i64,
    /// Who sells it (never changes, so the replica always knows it once it has the ticket).
    #[serde(default)]
    pub seller_id: String,
}

impl Ticket {
    pub fn price(&self) -> Price {
        Price::from_cents(self.price_cents)
    }
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

    /// `ticket.created`: inserts the replica; a redelivery finds it there and changes nothing.
    pub async fn created(&self, event: &TicketCreated) -> HandlerResult {
        let id = object_id(&event.id)?;
        self.collection
            .update_one(
                doc! { "_id": id },
                doc! { "$setOnInsert": {
                    "title": &event.title,
                    "priceCents": Price::from_amount(event.price).cents(),
                    "version": event.version,
                    "sellerId": &event.user_id,
                } },
            )
            .upsert(true)
            .await?;
        Ok(())
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

fn object_id(raw: &str) -> Result<ObjectId, HandlerError> {
    ObjectId::parse_str(raw)
        .map_err(|_| HandlerError::reject(format!("malformed ticket id {raw:?}")))
}
