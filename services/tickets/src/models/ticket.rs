//! Tickets: what a seller may list and change, and what a ticket says about itself.

use common::bson::oid::ObjectId;
use common::events::{PendingEvent, TicketUpdated};
use common::money::Price;
use common::{ApiError, ApiResult, JsonBody};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use utoipa::ToSchema;

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

/// What listing or changing a ticket reads (the API's description of [`TicketDraft`]'s input).
#[derive(ToSchema)]
#[allow(dead_code)] // Described, never built: the body is parsed field by field.
pub struct TicketInput {
    /// Not blank; at most 200 characters once trimmed.
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// At least 0.50 and less than 1,000,000, with at most two decimals; a numeric string
    /// (`"20.00"`) is read as its number.
    #[schema(minimum = 0.5, exclusive_maximum = 1000000.0)]
    price: f64,
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

#[skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub title: String,
    #[serde(rename = "priceCents")]
    pub price: Price,
    pub user_id: String,
    pub version: i64,
    /// The version of the seller's last change (creation or edit of title and price): an order
    /// priced at an earlier version saw a ticket that no longer is, and is refused. Reservations
    /// move `version` but not this, so they never make a later buyer's price stale.
    #[serde(default)]
    pub edited_version: i64,
    /// The order holding the ticket, while reserved.
    pub order_id: Option<String>,
    /// Orders already cancelled or refused: a late or repeated `order.created` for them must not
    /// reserve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled_orders: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<PendingEvent>,
}

impl Ticket {
    pub fn view(&self) -> TicketView {
        TicketView {
            id: self.id.to_hex(),
            title: self.title.clone(),
            price: self.price.amount(),
            user_id: self.user_id.clone(),
            version: self.version,
            order_id: self.order_id.clone(),
        }
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

/// A ticket as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    /// 24 hex digits.
    #[schema(pattern = "^[0-9a-f]{24}$")]
    pub id: String,
    pub title: String,
    pub price: f64,
    /// The seller.
    pub user_id: String,
    /// Grows by one on every change: an edit, a reservation, a release.
    pub version: i64,
    /// The order holding the ticket, while one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}
