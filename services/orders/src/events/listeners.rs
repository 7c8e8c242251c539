//! What the orders service does with other services' events.

use common::events::{
    ClosePayment, EventBus, ExpirationComplete, HandlerError, PaymentCreated, PaymentState,
    TicketCreated, TicketReservationRefused, TicketUpdated,
};
use common::service::EventService;

use crate::store::orders::Orders;
use crate::store::ticket_replica::TicketReplica;

pub fn spawn(service: &mut EventService, orders: &Orders, tickets: &TicketReplica) {
    service.listen(
        tickets.clone(),
        |replica, event: TicketCreated| async move { replica.created(&event).await },
    );
    service.listen(
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
    );
    service.listen(
        orders.clone(),
        |orders, refusal: TicketReservationRefused| async move { orders.refused(&refusal).await },
    );
    service.listen(
        (orders.clone(), service.bus.clone()),
        |(orders, bus), event: ExpirationComplete| async move {
            let payment_state = payment_state(&bus, &event.order_id);
            orders.expire(&event.order_id, payment_state).await
        },
    );
    service.listen(
        orders.clone(),
        |orders, payment: PaymentCreated| async move { orders.complete(&payment.order_id).await },
    );
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
