//! The events of the contract: subjects and payloads, shared by the services that publish them
//! and the services that consume them.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where an event lives: its subject and the stream that stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    TicketCreated,
    TicketUpdated,
    TicketReservationRefused,
    OrderCreated,
    OrderConfirmed,
    OrderCancelled,
    ExpirationComplete,
    PaymentCreated,
}

impl Subject {
    pub const ALL: [Subject; 8] = [
        Subject::TicketCreated,
        Subject::TicketUpdated,
        Subject::TicketReservationRefused,
        Subject::OrderCreated,
        Subject::OrderConfirmed,
        Subject::OrderCancelled,
        Subject::ExpirationComplete,
        Subject::PaymentCreated,
    ];

    /// The subject as published (before any namespace prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::TicketCreated => "ticket.created",
            Subject::TicketUpdated => "ticket.updated",
            Subject::TicketReservationRefused => "ticket.reservation-refused",
            Subject::OrderCreated => "order.created",
            Subject::OrderConfirmed => "order.confirmed",
            Subject::OrderCancelled => "order.cancelled",
            Subject::ExpirationComplete => "expiration.complete",
            Subject::PaymentCreated => "payment.created",
        }
    }

    pub fn parse(subject: &str) -> Option<Subject> {
        Subject::ALL
            .into_iter()
            .find(|known| known.as_str() == subject)
    }

    pub fn stream(self) -> StreamName {
        match self {
            Subject::TicketCreated | Subject::TicketUpdated | Subject::TicketReservationRefused => {
                StreamName::Tickets
            }
            _ => StreamName::Orders,
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamName {
    Tickets,
    Orders,
}

impl StreamName {
    pub const ALL: [StreamName; 2] = [StreamName::Tickets, StreamName::Orders];

    pub fn as_str(self) -> &'static str {
        match self {
            StreamName::Tickets => "TICKETS",
            StreamName::Orders => "ORDERS",
        }
    }

    /// The subject filters the stream stores.
    pub fn subjects(self) -> &'static [&'static str] {
        match self {
            StreamName::Tickets => &["ticket.>"],
            StreamName::Orders => &["order.>", "payment.>", "expiration.>"],
        }
    }
}

/// A payload with its subject and a message id that is unique per event and the same every time
/// the event is (re)published, so the stream's duplicate window drops repeats.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    const SUBJECT: Subject;
    fn message_id(&self) -> String;
    /// The aggregate the event is about (a ticket's or an order's id): a listener handles the
    /// events of one key in stream order, and events of different keys side by side.
    fn key(&self) -> &str;
}

/// The status of an order, as the API and the events spell it: `created` until the tickets
/// service confirms the reservation (`awaiting:payment`) or refuses it (`cancelled`, reason
/// `ticket changed`); then `complete` once paid, or `cancelled` by the buyer or its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum OrderStatus {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    /// Whether the order still holds (or waits for) its ticket and may be cancelled by its
    /// expiration.
    pub fn is_pending(self) -> bool {
        matches!(self, OrderStatus::Created | OrderStatus::AwaitingPayment)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Complete => "complete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketCreated {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub price: f64,
    pub user_id: String,
}

impl Event for TicketCreated {
    const SUBJECT: Subject = Subject::TicketCreated;
    fn message_id(&self) -> String {
        format!("ticket.created:{}", self.id)
    }
    fn key(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketUpdated {
    pub id: String,
    pub version: i64,
    pub title: String,
    pub price: f64,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

impl Event for TicketUpdated {
    const SUBJECT: Subject = Subject::TicketUpdated;
    fn message_id(&self) -> String {
        format!("ticket.updated:{}:{}", self.id, self.version)
    }
    fn key(&self) -> &str {
        &self.id
    }
}

/// Why the tickets service refused a reservation: the seller changed the ticket after the
/// version the order was priced at.
pub const TICKET_CHANGED: &str = "ticket changed";

/// The tickets service refused an order's reservation (the ticket changed since the version the
/// order was priced at); the orders service cancels that order with `reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketReservationRefused {
    /// The ticket.
    pub id: String,
    /// The ticket's version when it refused.
    pub version: i64,
    pub order_id: String,
    pub reason: String,
}

impl Event for TicketReservationRefused {
    const SUBJECT: Subject = Subject::TicketReservationRefused;
    fn message_id(&self) -> String {
        format!("ticket.reservation-refused:{}", self.order_id)
    }
    fn key(&self) -> &str {
        &self.order_id
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTicket {
    pub id: String,
    pub price: f64,
    /// The ticket version the order was priced at: the tickets service reserves only if the
    /// seller has not changed the ticket since.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub id: String,
    pub version: i64,
    pub status: OrderStatus,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub ticket: OrderTicket,
}

impl Event for OrderCreated {
    const SUBJECT: Subject = Subject::OrderCreated;
    fn message_id(&self) -> String {
        format!("order.created:{}", self.id)
    }
    fn key(&self) -> &str {
        &self.id
    }
}

/// The tickets service confirmed the order's reservation: the order awaits payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    pub id: String,
    pub version: i64,
    pub ticket: TicketRef,
}

impl Event for OrderConfirmed {
    const SUBJECT: Subject = Subject::OrderConfirmed;
    fn message_id(&self) -> String {
        format!("order.confirmed:{}", self.id)
    }
    fn key(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRef {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub id: String,
    pub version: i64,
    pub ticket: TicketRef,
}

impl Event for OrderCancelled {
    const SUBJECT: Subject = Subject::OrderCancelled;
    fn message_id(&self) -> String {
        format!("order.cancelled:{}:{}", self.id, self.version)
    }
    fn key(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationComplete {
    pub order_id: String,
}

impl Event for ExpirationComplete {
    const SUBJECT: Subject = Subject::ExpirationComplete;
    fn message_id(&self) -> String {
        format!("expiration.complete:{}", self.order_id)
    }
    fn key(&self) -> &str {
        &self.order_id
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreated {
    pub id: String,
    pub order_id: String,
    pub stripe_id: String,
}

impl Event for PaymentCreated {
    const SUBJECT: Subject = Subject::PaymentCreated;
    fn message_id(&self) -> String {
        format!("payment.created:{}", self.id)
    }
    fn key(&self) -> &str {
        &self.order_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_camel_case_as_the_contract_spells_them() {
        let event = OrderCreated {
            id: "o".into(),
            version: 0,
            status: OrderStatus::Created,
            user_id: "u".into(),
            expires_at: DateTime::from_timestamp(0, 0).unwrap(),
            ticket: OrderTicket {
                id: "t".into(),
                price: 19.99,
                version: 3,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "o", "version": 0, "status": "created", "userId": "u",
                "expiresAt": "1970-01-01T00:00:00Z",
                "ticket": { "id": "t", "price": 19.99, "version": 3 }
            })
        );
        let updated = TicketUpdated {
            id: "t".into(),
            version: 2,
            title: "x".into(),
            price: 1.0,
            user_id: "u".into(),
            order_id: None,
        };
        assert!(
            serde_json::to_value(&updated)
                .unwrap()
                .get("orderId")
                .is_none()
        );
    }

    #[test]
    fn every_subject_belongs_to_its_stream() {
        for subject in Subject::ALL {
            let stream = subject.stream();
            let family = subject.as_str().split('.').next().unwrap();
            assert!(stream.subjects().iter().any(|s| s.starts_with(family)));
            assert_eq!(Subject::parse(subject.as_str()), Some(subject));
        }
    }
}
