//! Orders: a buyer's hold on a ticket for a limited time, then its payment or cancellation —
//! what a buyer sends, and what an order says about itself.

use chrono::{DateTime, SecondsFormat, Utc};
use common::bson::{self, oid::ObjectId};
use common::events::{OrderCreated, OrderStatus, OrderTicket, PendingEvent};
use common::input::ParseBody;
use common::money::Price;
use common::{ApiError, ApiResult, JsonBody};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use utoipa::ToSchema;

const TICKET_ID_REQUIRED: &str = "TicketId must be provided";
const TICKET_VERSION_INVALID: &str = "TicketVersion must be a non-negative integer";

/// Why an order was cancelled, as the API shows it (`reason`).
pub const CANCELLED_BY_BUYER: &str = "cancelled by the buyer";
pub const EXPIRED: &str = "expired";

/// What ordering reads (the API's description of [`OrderRequest`]'s input).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // Described, never built: the body is parsed field by field.
pub struct OrderInput {
    /// The ticket's id, 24 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{24}$")]
    ticket_id: String,
    /// The version of the ticket the buyer saw: an order for a ticket changed since is refused
    /// (409, or cancelled with reason `ticket changed`).
    #[schema(minimum = 0)]
    ticket_version: Option<i64>,
}

/// What a buyer sends to reserve a ticket.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub ticket_id: ObjectId,
    /// The version of the ticket the buyer saw (the price lock), when sent.
    pub ticket_version: Option<i64>,
}

impl ParseBody for OrderRequest {
    fn parse(body: &JsonBody) -> ApiResult<Self> {
        let ticket_id = body.object_id("ticketId").ok_or(TICKET_ID_REQUIRED);
        let ticket_version = match body.get("ticketVersion") {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .filter(|version| *version >= 0)
                .map(Some)
                .ok_or(TICKET_VERSION_INVALID),
        };
        match (ticket_id, ticket_version) {
            (Ok(ticket_id), Ok(ticket_version)) => Ok(OrderRequest {
                ticket_id,
                ticket_version,
            }),
            (id, version) => Err(ApiError::validation([
                ("ticketId", id.err()),
                ("ticketVersion", version.err()),
            ])),
        }
    }
}

/// The ticket as it was when the order was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketSnapshot {
    pub id: String,
    pub title: String,
    #[serde(rename = "priceCents")]
    pub price: Price,
    pub version: i64,
}

/// An order as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// 24 hex digits.
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    /// The buyer.
    pub user_id: String,
    pub status: OrderStatus,
    /// When an unpaid order is cancelled (RFC 3339, milliseconds, UTC).
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub version: i64,
    pub ticket: OrderTicketView,
    /// Why the order was cancelled: `cancelled by the buyer`, `expired`, `ticket changed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The ticket as it was priced for the order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTicketView {
    pub id: String,
    pub title: String,
    pub price: f64,
    pub version: i64,
}

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub version: i64,
    pub user_id: String,
    pub status: OrderStatus,
    pub expires_at: bson::DateTime,
    pub ticket: TicketSnapshot,
    /// The ticket id while this order holds it. A unique sparse index on it is what makes
    /// reservation atomic: of concurrent orders for one ticket, one insert wins.
    pub active_ticket: Option<String>,
    /// Why the order was cancelled: by the buyer, expired, or `ticket changed` (the tickets
    /// service refused the reservation).
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
}

impl Order {
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at.to_chrono()
    }

    pub fn view(&self) -> OrderView {
        OrderView {
            id: self.id.to_hex(),
            user_id: self.user_id.clone(),
            status: self.status,
            expires_at: self
                .expires_at()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            version: self.version,
            ticket: OrderTicketView {
                id: self.ticket.id.clone(),
                title: self.ticket.title.clone(),
                price: self.ticket.price.amount(),
                version: self.ticket.version,
            },
            reason: self.reason.clone(),
        }
    }

    pub(crate) fn created_event(&self) -> OrderCreated {
        OrderCreated {
            id: self.id.to_hex(),
            version: self.version,
            status: self.status,
            user_id: self.user_id.clone(),
            expires_at: self.expires_at(),
            ticket: OrderTicket {
                id: self.ticket.id.clone(),
                price: self.ticket.price.amount(),
                version: self.ticket.version,
            },
        }
    }
}
