//! Tickets: what a seller may list and change, and how reservations by orders hold them.

use bytes::Bytes;
use common::bson::{Document, doc, oid::ObjectId};
use common::events::outbox::{outbox_of, with_event};
use common::events::{
    HandlerError, HandlerResult, OrderCreated, Outbox, PendingEvent, TICKET_CHANGED, TicketCreated,
    TicketReservationRefused, TicketUpdated, update_if_current,
};
use common::metrics::{self, counter};
use common::money::Price;
use common::mongo::CollectionSchema;
use common::{ApiError, ApiResult, JsonBody};
use futures::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::listing::Listing;

const TITLE_REQUIRED: &str = "Title is required";
const TITLE_TOO_LONG: &str = "Title must be at most 200 characters";
const MAX_TITLE_CHARS: usize = 200;

/// How often a write re-reads and retries after losing a race on the version.
const WRITE_ATTEMPTS: usize = 5;

/// A non-blank title of reasonable length.
#[derive(Debug, Clone)]
pub struct Title(String);

impl Title {
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
    fn updated(
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

/// The tickets collection; every change records its event in the same write.
#[derive(Clone)]
pub struct Tickets {
    collection: Collection<Ticket>,
    outbox: Outbox,
    /// The listing of available tickets, dropped after every write that changes a ticket.
    listing: Listing,
}

impl Tickets {
    pub const COLLECTION: &'static str = "tickets";

    /// The collection with its outbox, and the index the listing of available tickets reads.
    pub fn schema() -> CollectionSchema {
        let available = IndexModel::builder()
            .keys(doc! { "orderId": 1 })
            .options(IndexOptions::builder().name("available".to_owned()).build())
            .build();
        CollectionSchema::new(Self::COLLECTION)
            .index(available)
            .with_outbox()
    }

    pub fn new(db: &Database, outbox: Outbox, listing: Listing) -> Self {
        Self {
            collection: db.collection(Self::COLLECTION),
            outbox,
            listing,
        }
    }

    /// A ticket changed: its event goes out, and the listing is read anew.
    fn changed(&self) {
        self.listing.changed();
        self.outbox.wake();
    }

    pub async fn create(&self, user_id: &str, draft: TicketDraft) -> ApiResult<Ticket> {
        let mut ticket = Ticket {
            id: ObjectId::new(),
            title: draft.title.0,
            price_cents: draft.price.cents(),
            user_id: user_id.to_owned(),
            version: 0,
            edited_version: 0,
            order_id: None,
            cancelled_orders: Vec::new(),
            outbox: Vec::new(),
        };
        ticket.outbox = outbox_of(&TicketCreated {
            id: ticket.id.to_hex(),
            version: 0,
            title: ticket.title.clone(),
            price: ticket.price().amount(),
            user_id: ticket.user_id.clone(),
        });
        self.collection.insert_one(&ticket).await?;
        self.changed();
        counter!(metrics::TICKETS_CREATED).increment(1);
        Ok(ticket)
    }

    pub async fn find(&self, id: ObjectId) -> mongodb::error::Result<Option<Ticket>> {
        self.collection
            .find_one(doc! { "_id": id })
            .projection(public_fields())
            .await
    }

    /// The JSON listing of the tickets not reserved, oldest first (see [`Listing`]).
    pub async fn available(&self) -> ApiResult<Bytes> {
        self.listing.get_or_read(|| self.read_available()).await
    }

    async fn read_available(&self) -> ApiResult<Bytes> {
        // The cheapest query for this answer on SecantusDB: no sort and no projection (each
        // costs the database more than the whole fetch; sorting 100 tickets here costs
        // microseconds). `orderId: null` matches the missing field (a ticket never stores null).
        let cursor = self.collection.find(doc! { "orderId": null }).await?;
        let mut tickets: Vec<Ticket> = cursor.try_collect().await?;
        tickets.sort_unstable_by_key(|ticket| ticket.id);
        let views: Vec<Value> = tickets.iter().map(Ticket::view).collect();
        let body = serde_json::to_vec(&views).map_err(|error| ApiError::Internal(error.into()))?;
        Ok(Bytes::from(body))
    }

    /// The owner's change of title and price; refused while reserved.
    pub async fn edit(&self, id: ObjectId, user_id: &str, draft: TicketDraft) -> ApiResult<Ticket> {
        for _ in 0..WRITE_ATTEMPTS {
            let ticket = self.find(id).await?.ok_or(ApiError::NotFound)?;
            if ticket.order_id.is_some() {
                return Err(ApiError::bad_request("Cannot edit a reserved ticket"));
            }
            if ticket.user_id != user_id {
                return Err(ApiError::NotAuthorized);
            }
            let title = draft.title.0.as_str();
            let event = ticket.updated(ticket.version + 1, title, draft.price, None);
            let update = doc! { "$set": {
                "title": title,
                "priceCents": draft.price.cents(),
                "editedVersion": ticket.version + 1,
            } };
            let filter = doc! { "_id": id, "orderId": { "$exists": false } };
            if let Some(updated) = update_if_current(
                &self.collection,
                filter,
                ticket.version,
                with_event(update, &event),
            )
            .await?
            {
                self.changed();
                return Ok(updated);
            }
        }
        Err(ApiError::Conflict("Ticket has changed".into()))
    }

    /// `order.created`: the tickets service, the owner of the ticket, decides the reservation.
    /// The order holds the ticket if the seller has not changed it since the version the order
    /// was priced at; otherwise the reservation is refused with `ticket.reservation-refused`, and
    /// the orders service cancels the order. A ticket held by another order waits for that
    /// order's cancellation (the orders service lets one order at a time hold a ticket, so the
    /// holder's cancellation is on its way).
    pub async fn reserve(&self, order: &OrderCreated) -> HandlerResult {
        let (ticket_id, order_id) = (order.ticket.id.as_str(), order.id.as_str());
        let id = ticket_object_id(ticket_id)?;
        for _ in 0..WRITE_ATTEMPTS {
            let ticket = self.find_with_tombstones(id).await?;
            if ticket.order_id.as_deref() == Some(order_id)
                || ticket.cancelled_orders.iter().any(|o| o == order_id)
            {
                return Ok(()); // already decided, or the order is already over
            }
            if let Some(holder) = &ticket.order_id {
                return Err(HandlerError::retry(format!(
                    "ticket {ticket_id} is held by order {holder}, whose cancellation has not arrived yet"
                )));
            }
            if ticket.edited_version > order.ticket.version {
                if self.refuse(&ticket, order).await? {
                    return Ok(());
                }
                continue;
            }
            let event = ticket.updated(
                ticket.version + 1,
                &ticket.title,
                ticket.price(),
                Some(order_id.to_owned()),
            );
            let update = doc! { "$set": { "orderId": order_id } };
            let filter = doc! { "_id": id, "orderId": { "$exists": false }, "cancelledOrders": { "$ne": order_id } };
            if update_if_current(
                &self.collection,
                filter,
                ticket.version,
                with_event(update, &event),
            )
            .await?
            .is_some()
            {
                self.changed();
                return Ok(());
            }
        }
        Err(HandlerError::retry("ticket kept changing"))
    }

    /// Records the refusal of `order` with its event, unless decided already; `false` when the
    /// ticket changed under the write (decide again).
    async fn refuse(&self, ticket: &Ticket, order: &OrderCreated) -> Result<bool, HandlerError> {
        let event = TicketReservationRefused {
            id: ticket.id.to_hex(),
            version: ticket.version,
            order_id: order.id.clone(),
            reason: TICKET_CHANGED.to_owned(),
        };
        tracing::info!(
            ticket = %ticket.id,
            order = %order.id,
            priced_at = order.ticket.version,
            changed_at = ticket.edited_version,
            "reservation refused: the seller changed the ticket after the order's version"
        );
        // Not a change of the ticket: no new version. Remembered with the cancelled orders, so a
        // redelivered `order.created` decides nothing twice.
        let update = with_event(
            doc! { "$addToSet": { "cancelledOrders": &order.id } },
            &event,
        );
        let filter = doc! {
            "_id": ticket.id,
            "version": ticket.version,
            "cancelledOrders": { "$ne": &order.id },
        };
        let refused = self
            .collection
            .update_one(filter, update)
            .await?
            .matched_count
            == 1;
        if refused {
            self.outbox.wake();
            counter!(metrics::RESERVATIONS_REFUSED).increment(1);
        }
        Ok(refused)
    }

    /// `order.cancelled`: frees the ticket only if this very order holds it.
    pub async fn release(&self, ticket_id: &str, order_id: &str) -> HandlerResult {
        let id = ticket_object_id(ticket_id)?;
        for _ in 0..WRITE_ATTEMPTS {
            let ticket = self.find_with_tombstones(id).await?;
            if ticket.order_id.as_deref() != Some(order_id) {
                // Not held by this order (never, or not yet): remember the cancellation so a
                // late `order.created` cannot reserve it. Not a visible change: no new version.
                // Only while still not held by it: a reservation that landed since the read
                // (its `order.created` is handled concurrently) must be released instead.
                let remembered = self
                    .collection
                    .update_one(
                        doc! { "_id": id, "orderId": { "$ne": order_id } },
                        doc! { "$addToSet": { "cancelledOrders": order_id } },
                    )
                    .await?;
                if remembered.matched_count == 1 {
                    return Ok(());
                }
                continue;
            }
            let event = ticket.updated(ticket.version + 1, &ticket.title, ticket.price(), None);
            let update =
                doc! { "$unset": { "orderId": "" }, "$addToSet": { "cancelledOrders": order_id } };
            let filter = doc! { "_id": id, "orderId": order_id };
            if update_if_current(
                &self.collection,
                filter,
                ticket.version,
                with_event(update, &event),
            )
            .await?
            .is_some()
            {
                self.changed();
                return Ok(());
            }
        }
        Err(HandlerError::retry("ticket kept changing"))
    }

    async fn find_with_tombstones(&self, id: ObjectId) -> Result<Ticket, HandlerError> {
        self.collection
            .find_one(doc! { "_id": id })
            .projection(doc! { "outbox": 0 })
            .await?
            .ok_or_else(|| HandlerError::reject(format!("unknown ticket {id}")))
    }
}

/// The fields a reader needs (not the outbox or the cancellation record).
fn public_fields() -> Document {
    doc! { "outbox": 0, "cancelledOrders": 0 }
}

fn ticket_object_id(raw: &str) -> Result<ObjectId, HandlerError> {
    ObjectId::parse_str(raw)
        .map_err(|_| HandlerError::reject(format!("malformed ticket id {raw:?}")))
}
