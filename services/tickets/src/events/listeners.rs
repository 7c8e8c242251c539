//! What the tickets service does with other services' events.

use common::events::{OrderCancelled, OrderCreated};
use common::service::EventService;

use crate::store::Tickets;

pub fn spawn(service: &mut EventService, tickets: &Tickets) {
    service.listen(tickets.clone(), |tickets, order: OrderCreated| async move {
        tickets.reserve(&order).await
    });
    service.listen(
        tickets.clone(),
        |tickets, order: OrderCancelled| async move {
            tickets.release(&order.ticket.id, &order.id).await
        },
    );
}
