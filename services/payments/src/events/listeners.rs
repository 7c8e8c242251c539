//! What the payments service does with other services' events, and the questions it answers.

use common::events::{BusError, ClosePayment, OrderCancelled, OrderConfirmed, OrderCreated};
use common::service::EventService;

use crate::store::checkout::Checkout;
use crate::store::order_replica::OrderReplica;

pub async fn spawn(
    service: &mut EventService,
    orders: &OrderReplica,
    checkout: &Checkout,
) -> Result<(), BusError> {
    service.listen(orders.clone(), |replica, order: OrderCreated| async move {
        replica.created(&order).await
    });
    service.listen(
        orders.clone(),
        |replica, order: OrderConfirmed| async move { replica.confirmed(&order).await },
    );
    service.listen(
        checkout.clone(),
        |checkout, order: OrderCancelled| async move { checkout.order_cancelled(&order).await },
    );
    service
        .answer(
            checkout.clone(),
            |checkout, query: ClosePayment| async move { checkout.close(&query.order_id).await },
        )
        .await
}
