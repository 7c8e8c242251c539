//! An order as payments knows it (a replica of the orders service's), and the claim a payment
//! takes on it before charging.

use std::time::Duration;

use common::bson::{self, oid::ObjectId};
use common::events::OrderStatus;
use common::money::Price;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// A claim older than this belongs to a payment that died mid-way; another may take over.
pub const STALE_CLAIM: Duration = Duration::from_secs(60);

/// An in-flight payment's hold on the order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// The card token being charged.
    pub token: String,
    pub at: bson::DateTime,
}

#[skip_serializing_none]
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    #[serde(rename = "priceCents")]
    pub price: Price,
    pub user_id: String,
    pub status: OrderStatus,
    pub version: i64,
    /// When the order's window ends (its expiration then cancels it, unless paid).
    pub expires_at: Option<bson::DateTime>,
    pub claim: Option<Claim>,
    /// Closed to payment: the order's window passed and the orders service was told it is not
    /// paid ([`crate::store::order_replica::OrderReplica::close`]), so no claim may be taken any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
}

/// What [`crate::store::order_replica::OrderReplica::close`] found.
#[derive(Debug)]
pub enum Closing {
    /// Closed (or unknown here: no payment can be taken for an order this replica lacks).
    Closed,
    /// A payment holds the order: it must finish first.
    Held(Claim),
}
