//! What the payments service does with other services' events.

use common::events::{EventBus, OrderCancelled, OrderCreated};
use common::tasks::BackgroundTasks;

use crate::models::order::OrderReplica;

const SERVICE: &str = "payments";

pub fn spawn(bus: &EventBus, orders: &OrderReplica, background: &mut BackgroundTasks) {
    let replica = orders.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: OrderCreated| {
            let replica = replica.clone();
            async move { replica.created(&event).await }
        },
        background.shutdown_token(),
    ));
    let replica = orders.clone();
    background.add(bus.listen(
        SERVICE,
        move |event: OrderCancelled| {
            let replica = replica.clone();
            async move { replica.cancelled(&event).await }
        },
        background.shutdown_token(),
    ));
}
