//! What the payments service does with other services' events.

use common::events::{EventBus, OrderCancelled, OrderCreated};
use common::tasks::BackgroundTasks;

use crate::models::order::OrderReplica;

const SERVICE: &str = "payments";

pub fn spawn(bus: &EventBus, orders: &OrderReplica, background: &mut BackgroundTasks) {
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
        |replica, event: OrderCancelled| async move { replica.cancelled(&event).await },
        token,
    ));
}
