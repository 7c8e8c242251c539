//! What the payments service does with other services' events, and the questions it answers.

use common::events::{
    BusError, ClosePayment, EventBus, OrderCancelled, OrderConfirmed, OrderCreated,
};
use common::tasks::BackgroundTasks;

use crate::models::order::OrderReplica;
use crate::models::payment::Checkout;

const SERVICE: &str = "payments";

pub async fn spawn(
    bus: &EventBus,
    orders: &OrderReplica,
    checkout: &Checkout,
    background: &mut BackgroundTasks,
) -> Result<(), BusError> {
    let token = background.shutdown_token();
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |replica, event: OrderCreated| async move { replica.created(&event).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        orders.clone(),
        |replica, event: OrderConfirmed| async move { replica.confirmed(&event).await },
        token.clone(),
    ));
    background.add(bus.listen_with(
        SERVICE,
        checkout.clone(),
        |checkout, event: OrderCancelled| async move { checkout.order_cancelled(&event).await },
        token.clone(),
    ));
    background.add(
        bus.answer(
            SERVICE,
            checkout.clone(),
            |checkout, query: ClosePayment| async move { checkout.close(&query.order_id).await },
            token,
        )
        .await?,
    );
    Ok(())
}
