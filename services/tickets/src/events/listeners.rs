//! What the tickets service does with other services' events.

use common::events::{EventBus, OrderCancelled, OrderCreated};
use common::tasks::BackgroundTasks;

use crate::models::ticket::Tickets;

const SERVICE: &str = "tickets";

pub fn spawn(bus: &EventBus, tickets: &Tickets, background: &mut BackgroundTasks) {
    let reserving = tickets.clone();
    background.add(bus.listen(
        SERVICE,
        move |order: OrderCreated| {
            let tickets = reserving.clone();
            async move { tickets.reserve(&order.ticket.id, &order.id).await }
        },
        background.shutdown_token(),
    ));
    let releasing = tickets.clone();
    background.add(bus.listen(
        SERVICE,
        move |order: OrderCancelled| {
            let tickets = releasing.clone();
            async move { tickets.release(&order.ticket.id, &order.id).await }
        },
        background.shutdown_token(),
    ));
}
