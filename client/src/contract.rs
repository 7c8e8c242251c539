//! The contract's JSON shapes, as the client reads them from the API.

use chrono::{DateTime, Utc};
use common::money::Price;
use serde::Deserialize;

/// One entry of the contract's error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: String,
    pub title: String,
    pub price: f64,
    pub user_id: String,
    pub version: i64,
    #[serde(default)]
    pub order_id: Option<String>,
}

impl Ticket {
    pub fn price(&self) -> Price {
        Price::from_amount(self.price)
    }

    pub fn is_reserved(&self) -> bool {
        self.order_id.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OrderStatus {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    /// The contract's name, for markup and tests.
    pub fn code(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Complete => "complete",
        }
    }

    /// What a buyer reads.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Created => "Reserving",
            OrderStatus::AwaitingPayment => "Awaiting payment",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Complete => "Complete",
        }
    }

    /// The style of the status badge.
    pub fn css_class(self) -> &'static str {
        match self {
            OrderStatus::Created | OrderStatus::AwaitingPayment => "awaiting-payment",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Complete => "complete",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Created | OrderStatus::AwaitingPayment)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub expires_at: DateTime<Utc>,
    pub ticket: OrderTicket,
    /// Why a cancelled order was cancelled (`ticket changed`, `expired`, ...).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderTicket {
    pub id: String,
    pub title: String,
    pub price: f64,
}

impl OrderTicket {
    pub fn price(&self) -> Price {
        Price::from_amount(self.price)
    }
}

impl Order {
    /// Whole seconds until the order expires; 0 once it has.
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.expires_at - now).num_seconds().max(0)
    }

    pub fn is_payable(&self, now: DateTime<Utc>) -> bool {
        self.status.is_open() && self.seconds_left(now) > 0
    }
}

#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: String,
}
