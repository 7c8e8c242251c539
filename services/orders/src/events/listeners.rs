//! What the orders service does with other services' events.

use common::events::{
    ClosePayment, EventBus, ExpirationComplete, HandlerError, PaymentCreated, PaymentState,
    TicketCreated, TicketReservationRefused, TicketUpdated,
};
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
        (tickets.clone(), orders.clone()),
        |(replica, orders), event: TicketUpdated| async move {
            replica.updated(&event).await?;
            // Held for an order: the tickets service confirmed that order's reservation. Also
            // on a redelivery (the replica already had it): the confirmation may not have been
            // written before a crash.
            match &event.order_id {
                Some(order_id) => orders.confirm(order_id).await,
                None => Ok(()),
            }
        },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |orders, event: TicketReservationRefused| async move { orders.refused(&event).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        (orders.clone(), bus.clone()),
        |(orders, bus), event: ExpirationComplete| async move {
            let payment_state = payment_state(&bus, &event.order_id);
            orders.expire(&event.order_id, payment_state).await
        },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |orders, event: PaymentCreated| async move { orders.complete(&event.order_id).await },
        token,
    ));
}

/// Asks the payments service, the owner of payments, whether the order is paid (closing it to
/// payment if not): a payment it recorded may not have reached the stream yet.
async fn payment_state(bus: &EventBus, order_id: &str) -> Result<PaymentState, HandlerError> {
    bus.ask(&ClosePayment {
        order_id: order_id.to_owned(),
    })
    .await
    .map_err(HandlerError::retry)
}
