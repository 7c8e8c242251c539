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
    let replica = tickets.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: TicketCreated| {
            let replica = replica.clone();
            async move { replica.created(&event).await }
        },
        token.clone(),
    ));
    let replica = tickets.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: TicketUpdated| {
            let replica = replica.clone();
            async move { replica.updated(&event).await }
        },
        token.clone(),
    ));
    let expiring = orders.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: ExpirationComplete| {
            let orders = expiring.clone();
            async move { orders.expire(&event.order_id).await }
        },
        token.clone(),
    ));
    let paid = orders.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: PaymentCreated| {
            let orders = paid.clone();
            async move { orders.complete(&event.order_id).await }
        },
        token,
    ));
}
