//! Tickets: what a seller may list and change, and what a ticket says about itself.

use common::bson::oid::ObjectId;
use common::events::{PendingEvent, TicketUpdated};
use common::money::Price;
use common::{ApiError, ApiResult, JsonBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const TITLE_REQUIRED: &str = "Title is required";
const TITLE_TOO_LONG: &str = "Title must be at most 200 characters";
const MAX_TITLE_CHARS: usize = 200;

/// A non-blank title of reasonable length.
#[derive(Debug, Clone)]
pub struct Title(String);

impl Title {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(body: &JsonBody) -> Result<Self, &'static str> {
        let title = body.text("title").ok_or(TITLE_REQUIRED)?;
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(TITLE_TOO_LONG);
        }
        Ok(Title(title.to_owned()))
    }
}

/// What a seller sends to list or change a ticket.
#[derive(Debug, Clone)]
pub struct TicketDraft {
    pub title: Title,
    pub price: Price,
}

impl TicketDraft {
    pub fn parse(body: &JsonBody) -> ApiResult<Self> {
        match (Title::parse(body), Price::parse(body.get("price"))) {
            (Ok(title), Ok(price)) => Ok(TicketDraft { title, price }),
            (title, price) => Err(ApiError::validation([
                ("title", title.err()),
                ("price", price.err()),
            ])),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub title: String,
    pub price_cents: i64,
    pub user_id: String,
    pub version: i64,
    /// The version of the seller's last change (creation or edit of title and price): an order
    /// priced at an earlier version saw a ticket that no longer is, and is refused. Reservations
    /// move `version` but not this, so they never make a later buyer's price stale.
    #[serde(default)]
    pub edited_version: i64,
    /// The order holding the ticket, while reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Orders already cancelled or refused: a late or repeated `order.created` for them must not
    /// reserve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_orders: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
}

impl Ticket {
    pub fn price(&self) -> Price {
        Price::from_cents(self.price_cents)
    }

    pub fn view(&self) -> Value {
        let mut view = json!({
            "id": self.id.to_hex(),
            "title": self.title,
            "price": self.price().amount(),
            "userId": self.user_id,
            "version": self.version,
        });
        if let Some(order_id) = &self.order_id {
            view["orderId"] = json!(order_id);
        }
        view
    }

    /// The `ticket.updated` event describing this ticket once at `version` with `order_id`.
    pub(crate) fn updated(
        &self,
        version: i64,
        title: &str,
        price: Price,
        order_id: Option<String>,
    ) -> TicketUpdated {
        TicketUpdated {
            id: self.id.to_hex(),
            version,
            title: title.to_owned(),
            price: price.amount(),
            user_id: self.user_id.clone(),
            order_id,
        }
    }
}
