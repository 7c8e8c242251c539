//! What the orders service does with other services' events.

use common::events::{EventBus, ExpirationComplete, PaymentCreated, TicketCreated, TicketUpdated};
use common::tasks::BackgroundTasks;

use crate::models::order::Orders;
use crate::models::ticket::TicketReplica;

const SERVICE: &str = "orders";

pub fn spawn(
    bus: &EventBus,
    orders: &Orders,
    tickets: &TicketReplica,
    background: &mut BackgroundTasks,
) {
    let token = background.shutdown_token();
    background.add(bus.listen_with(
        SERVICE,
        tickets.clone(),
        |replica, event: TicketCreated| async move { replica.created(&event).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        tickets.clone(),
        |replica, event: TicketUpdated| async move { replica.updated(&event).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |orders, event: ExpirationComplete| async move { orders.expire(&event.order_id).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |orders, event: PaymentCreated| async move { orders.complete(&event.order_id).await },
        token,
    ));
}
