//! The tickets collection: how reservations by orders hold tickets, every change written with
//! its event.

use bytes::Bytes;
use common::bson::{Document, doc, oid::ObjectId};
use common::events::outbox::{outbox_of, with_event};
use common::events::{
    OrderCreated, Outbox, TICKET_CHANGED, TicketCreated, TicketReservationRefused,
    update_if_current,
};
use common::metrics::{self, counter};
use common::mongo::{self, CollectionSchema};
use futures::TryStreamExt;
use mongodb::{Collection, Database};

use crate::error::{TicketError, TicketResult};
use crate::models::listing::Listing;
use crate::models::ticket::{Ticket, TicketDraft, TicketView};

/// How often a write re-reads and retries after losing a race on the version.
const WRITE_ATTEMPTS: usize = 5;

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
        let available = mongo::index(doc! { "orderId": 1 }, "available");
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

    pub async fn create(&self, user_id: &str, draft: TicketDraft) -> TicketResult<Ticket> {
        let mut ticket = Ticket {
            id: ObjectId::new(),
            title: draft.title.as_str().to_owned(),
            price: draft.price,
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
            price: ticket.price.amount(),
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
    pub async fn available(&self) -> TicketResult<Bytes> {
        self.listing.get_or_read(|| self.read_available()).await
    }

    async fn read_available(&self) -> TicketResult<Bytes> {
        // The cheapest query for this answer on SecantusDB: no sort and no projection (each
        // costs the database more than the whole fetch; sorting 100 tickets here costs
        // microseconds). `orderId: null` matches the missing field (a ticket never stores null).
        let cursor = self.collection.find(doc! { "orderId": null }).await?;
        let mut tickets: Vec<Ticket> = cursor.try_collect().await?;
        tickets.sort_unstable_by_key(|ticket| ticket.id);
        let views: Vec<TicketView> = tickets.iter().map(Ticket::view).collect();
        let body = serde_json::to_vec(&views)?;
        Ok(Bytes::from(body))
    }

    /// The owner's change of title and price; refused while reserved.
    pub async fn edit(
        &self,
        id: ObjectId,
        user_id: &str,
        draft: TicketDraft,
    ) -> TicketResult<Ticket> {
        for _ in 0..WRITE_ATTEMPTS {
            let ticket = self.find(id).await?.ok_or(TicketError::NotFound)?;
            if ticket.order_id.is_some() {
                return Err(TicketError::Reserved);
            }
            if ticket.user_id != user_id {
                return Err(TicketError::NotOwner);
            }
            let title = draft.title.as_str();
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
        Err(TicketError::KeptChanging)
    }

    /// `order.created`: the tickets service, the owner of the ticket, decides the reservation.
    /// The order holds the ticket if the seller has not changed it since the version the order
    /// was priced at; otherwise the reservation is refused with `ticket.reservation-refused`, and
    /// the orders service cancels the order. A ticket held by another order waits for that
    /// order's cancellation (the orders service lets one order at a time hold a ticket, so the
    /// holder's cancellation is on its way).
    pub async fn reserve(&self, order: &OrderCreated) -> TicketResult<()> {
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
                return Err(TicketError::HeldByAnotherOrder {
                    ticket: ticket_id.to_owned(),
                    holder: holder.clone(),
                });
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
                ticket.price,
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
        Err(TicketError::KeptChanging)
    }

    /// Records the refusal of `order` with its event, unless decided already; `false` when the
    /// ticket changed under the write (decide again).
    async fn refuse(&self, ticket: &Ticket, order: &OrderCreated) -> TicketResult<bool> {
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
        let refused = mongo::update_one_if(&self.collection, filter, update).await?;
        if refused {
            self.outbox.wake();
            counter!(metrics::RESERVATIONS_REFUSED).increment(1);
        }
        Ok(refused)
    }

    /// `order.cancelled`: frees the ticket only if this very order holds it.
    pub async fn release(&self, ticket_id: &str, order_id: &str) -> TicketResult<()> {
        let id = ticket_object_id(ticket_id)?;
        for _ in 0..WRITE_ATTEMPTS {
            let ticket = self.find_with_tombstones(id).await?;
            if ticket.order_id.as_deref() != Some(order_id) {
                // Not held by this order (never, or not yet): remember the cancellation so a
                // late `order.created` cannot reserve it. Not a visible change: no new version.
                // Only while still not held by it: a reservation that landed since the read
                // (its `order.created` is handled concurrently) must be released instead.
                let not_held_by_it = doc! { "_id": id, "orderId": { "$ne": order_id } };
                let remember = doc! { "$addToSet": { "cancelledOrders": order_id } };
                if mongo::update_one_if(&self.collection, not_held_by_it, remember).await? {
                    return Ok(());
                }
                continue;
            }
            let event = ticket.updated(ticket.version + 1, &ticket.title, ticket.price, None);
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
        Err(TicketError::KeptChanging)
    }

    async fn find_with_tombstones(&self, id: ObjectId) -> TicketResult<Ticket> {
        self.collection
            .find_one(doc! { "_id": id })
            .projection(doc! { "outbox": 0 })
            .await?
            .ok_or(TicketError::NotFound)
    }
}

/// The fields a reader needs (not the outbox or the cancellation record).
fn public_fields() -> Document {
    doc! { "outbox": 0, "cancelledOrders": 0 }
}

fn ticket_object_id(raw: &str) -> TicketResult<ObjectId> {
    ObjectId::parse_str(raw).map_err(|_| TicketError::MalformedId(raw.to_owned()))
}
