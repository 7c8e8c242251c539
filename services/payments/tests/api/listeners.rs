use common::events::{OrderCancelled, TicketRef};
use common::testkit;

use crate::helpers::{order_event, spawn_app};

#[tokio::test]
async fn a_cancellation_arriving_before_its_creation_is_applied_after_it() {
    let app = spawn_app().await;
    let (user, _) = testkit::signed_in();
    let id = common::bson::oid::ObjectId::new().to_hex();
    app.bus
        .publish(&OrderCancelled {
            id: id.clone(),
            version: 1,
            ticket: TicketRef { id: "t".into() },
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.bus
        .publish(&order_event(&id, user, 10.0))
        .await
        .unwrap();
    let replica = app
        .replica_where(&id, |o| o.get_str("status") == Ok("cancelled"))
        .await;
    assert_eq!(replica.get_i64("version").unwrap(), 1);
    assert_eq!(replica.get_i64("priceCents").unwrap(), 1000);
}

#[tokio::test]
async fn a_cancellation_right_behind_its_creation_is_applied() {
    // The two are handled by two consumers at once: a cancellation that just missed the
    // replica's insertion must be applied, not taken for a duplicate.
    let app = spawn_app().await;
    let (user, _) = testkit::signed_in();
    let ids: Vec<String> = (0..25)
        .map(|_| common::bson::oid::ObjectId::new().to_hex())
        .collect();
    for id in &ids {
        app.bus.publish(&order_event(id, user, 10.0)).await.unwrap();
        app.bus
            .publish(&OrderCancelled {
                id: id.clone(),
                version: 1,
                ticket: TicketRef { id: "t".into() },
            })
            .await
            .unwrap();
    }
    for id in &ids {
        let replica = app
            .replica_where(id, |o| o.get_str("status") == Ok("cancelled"))
            .await;
        assert_eq!(replica.get_i64("version").unwrap(), 1);
    }
}
