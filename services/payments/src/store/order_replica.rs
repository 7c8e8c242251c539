//! The local replica of orders, fed by `order.created`, `order.confirmed` and `order.cancelled`,
//! and the claims payments take on its orders.

use chrono::Utc;
use common::bson::{self, doc, oid::ObjectId};
use common::events::{
    HandlerError, HandlerResult, OrderCancelled, OrderConfirmed, OrderCreated, OrderStatus,
    apply_in_order,
};
use common::money::Price;
use common::mongo::{self, CollectionSchema};
use futures::TryStreamExt;
use mongodb::{Collection, Database};

use crate::models::order::{Claim, Closing, Order, STALE_CLAIM};

#[derive(Clone)]
pub struct OrderReplica {
    collection: Collection<Order>,
}

impl OrderReplica {
    pub const COLLECTION: &'static str = "orders";

    /// The replica, with the index the settler's look for stale claims reads.
    pub fn schema() -> CollectionSchema {
        let claims = mongo::sparse_index(doc! { "claim.at": 1 }, "claims");
        CollectionSchema::new(Self::COLLECTION).index(claims)
    }

    pub fn new(db: &Database) -> Self {
        Self {
            collection: db.collection(Self::COLLECTION),
        }
    }

    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<Order>> {
        self.collection.find_one(doc! { "_id": id }).await
    }

    /// Takes the order, as it was read, for a payment with `token`: only if its reservation is
    /// confirmed, its window is open and it was not closed, and its claim is still the one read
    /// (none, or a stale one). `false` when someone else got there first.
    pub async fn claim(&self, order: &Order, token: &str) -> mongodb::error::Result<bool> {
        let now = Utc::now();
        let claim = Claim {
            token: token.to_owned(),
            at: bson::DateTime::from_chrono(now),
        };
        let mut filter = doc! {
            "_id": order.id,
            "status": OrderStatus::AwaitingPayment.as_str(),
            "closed": { "$ne": true },
            "expiresAt": { "$not": { "$lte": claim.at } },
        };
        match &order.claim {
            None => filter.insert("claim", doc! { "$exists": false }),
            Some(held) if held.at.to_chrono() < now - STALE_CLAIM => {
                filter.insert("claim.token", held.token.as_str());
                filter.insert("claim.at", held.at)
            }
            Some(_) => return Ok(false),
        };
        let update =
            doc! { "$set": { "claim": bson::to_bson(&claim).expect("a claim serialises") } };
        mongo::update_one_if(&self.collection, filter, update).await
    }

    /// Closes the order to payment unless a payment holds it. Final once closed: every claim
    /// checks it.
    pub async fn close(&self, id: ObjectId) -> mongodb::error::Result<Closing> {
        let unclaimed = doc! { "_id": id, "claim": { "$exists": false } };
        if mongo::update_one_if(
            &self.collection,
            unclaimed,
            doc! { "$set": { "closed": true } },
        )
        .await?
        {
            return Ok(Closing::Closed);
        }
        Ok(match self.find(id).await?.and_then(|order| order.claim) {
            Some(claim) => Closing::Held(claim),
            None => Closing::Closed,
        })
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

    /// Marks the order paid here, so no other claim can take it (a cancellation still wins:
    /// the payment is then refunded).
    pub async fn paid(&self, id: ObjectId) -> mongodb::error::Result<()> {
        self.collection
            .update_one(
                doc! { "_id": id, "status": { "$ne": OrderStatus::Cancelled.as_str() } },
                doc! { "$set": { "status": OrderStatus::Complete.as_str() } },
            )
            .await
            .map(drop)
    }

    /// Orders whose payment died holding the claim (a crash between charging and recording).
    pub async fn stale_claims(&self) -> mongodb::error::Result<Vec<Order>> {
        let stale_before = bson::DateTime::from_chrono(Utc::now() - STALE_CLAIM);
        let cursor = self
            .collection
            .find(doc! {
                "claim.at": { "$lt": stale_before },
                "status": { "$ne": OrderStatus::Complete.as_str() },
            })
            .await?;
        cursor.try_collect().await
    }

    /// `order.created`: inserts the replica; a redelivery changes nothing.
    pub async fn created(&self, event: &OrderCreated) -> HandlerResult {
        let id = object_id(&event.id)?;
        let fields = doc! {
            "userId": &event.user_id,
            "priceCents": Price::from_amount(event.ticket.price).cents(),
            "status": event.status.as_str(),
            "version": event.version,
            "expiresAt": bson::DateTime::from_chrono(event.expires_at),
        };
        Ok(mongo::insert_once(&self.collection, id, fields).await?)
    }

    /// `order.confirmed`: the reservation is confirmed, the order may be paid; in version order.
    pub async fn confirmed(&self, event: &OrderConfirmed) -> HandlerResult {
        let id = object_id(&event.id)?;
        let fields = doc! { "status": OrderStatus::AwaitingPayment.as_str() };
        apply_in_order(&self.collection, id, event.version, fields)
            .await?
            .outcome(event.version)
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
