//! The local replica of orders, fed by `order.created` and `order.cancelled`, and the claim a
//! payment takes on an order before charging.

use std::time::Duration;

use chrono::Utc;
use common::bson::{self, doc, oid::ObjectId};
use common::events::{
    HandlerError, HandlerResult, OrderCancelled, OrderCreated, OrderStatus, apply_in_order,
};
use common::money::Price;
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

/// A claim older than this belongs to a payment that died mid-way; another may take over.
pub const STALE_CLAIM: Duration = Duration::from_secs(60);

/// An in-flight payment's hold on the order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// The card token being charged.
    pub token: String,
    pub at: bson::DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: String,
    pub price_cents: i64,
    pub status: OrderStatus,
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

impl Order {
    pub fn price(&self) -> Price {
        Price::from_cents(self.price_cents)
    }
}

#[derive(Clone)]
pub struct OrderReplica {
    collection: Collection<Order>,
}

impl OrderReplica {
    pub fn new(db: &Database) -> Self {
        Self {
            collection: db.collection("orders"),
        }
    }

    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<Order>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// Takes the order for a payment with `token`, if it is payable and nobody else is paying it
    /// (or the other payment's claim went stale). `None` when someone else holds it.
    pub async fn claim(&self, id: ObjectId, token: &str) -> mongodb::error::Result<Option<Order>> {
        let now = Utc::now();
        let stale_before = bson::DateTime::from_chrono(now - STALE_CLAIM);
        let claim = Claim {
            token: token.to_owned(),
            at: bson::DateTime::from_chrono(now),
        };
        self.collection
            .find_one_and_update(
                doc! {
                    "_id": id,
                    "status": { "$in": [OrderStatus::Created.as_str(), OrderStatus::AwaitingPayment.as_str()] },
                    "$or": [{ "claim": { "$exists": false } }, { "claim.at": { "$lt": stale_before } }],
                },
                doc! { "$set": { "claim": bson::to_bson(&claim).expect("a claim serialises") } },
            )
            .return_document(ReturnDocument::Before)
            .await
    }

    /// Gives the order back after a declined charge, if this payment still holds it.
    pub async fn release(&self, id: ObjectId, token: &str) -> mongodb::error::Result<()> {
        self.collection
            .update_one(
                doc! { "_id": id, "claim.token": token },
                doc! { "$unset": { "claim": "" } },
            )
            .await
            .map(drop)
    }

    /// `order.created`: inserts the replica; a redelivery changes nothing.
    pub async fn created(&self, event: &OrderCreated) -> HandlerResult {
        let id = object_id(&event.id)?;
        self.collection
            .update_one(
                doc! { "_id": id },
                doc! { "$setOnInsert": {
                    "userId": &event.user_id,
                    "priceCents": Price::from_amount(event.ticket.price).cents(),
                    "status": event.status.as_str(),
                    "version": event.version,
                } },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    /// `order.cancelled`: applied in version order.
    pub async fn cancelled(&self, event: &OrderCancelled) -> HandlerResult {
        let id = object_id(&event.id)?;
        let fields = doc! { "status": OrderStatus::Cancelled.as_str() };
        apply_in_order(&self.collection, id, event.version, fields)
            .await?
            .outcome(event.version)
    }
}

fn object_id(raw: &str) -> Result<ObjectId, HandlerError> {
    ObjectId::parse_str(raw)
        .map_err(|_| HandlerError::reject(format!("malformed order id {raw:?}")))
}
