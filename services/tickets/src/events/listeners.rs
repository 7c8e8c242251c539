//! What the tickets service does with other services' events.

use common::events::{EventBus, OrderCancelled, OrderCreated};
use common::tasks::BackgroundTasks;

use crate::models::ticket::Tickets;

const SERVICE: &str = "tickets";

pub fn spawn(bus: &EventBus, tickets: &Tickets, background: &mut BackgroundTasks) {
    let token = background.shutdown_token();
    background.add(bus.listen_with(
        SERVICE,
        tickets.clone(),
        |tickets, order: OrderCreated| async move { tickets.reserve(&order).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        tickets.clone(),
        |tickets, order: OrderCancelled| async move {
            tickets.release(&order.ticket.id, &order.id).await
        },
        token,
    ));
}
