use common::events::Subject;
use common::testkit::{stored_events, wait_for_events};

use crate::helpers::{spawn_app, spawn_with};

/// Guarantee 2: a service stopped between the write and the publish publishes after restart.
#[tokio::test]
async fn an_event_written_before_a_crash_is_published_after_restart() {
    let running = spawn_app().await;
    // The same database and namespace, with the relay off: writes happen, publishing never does.
    let mut crashed = running.settings.clone();
    crashed.base.mongo_url = common::testkit::fresh_mongo_url("tickets_crash");
    crashed.relay_events = false;
    let before_crash = spawn_with(crashed.clone(), running.bus.clone()).await;
    let (_, ticket) = before_crash.listed_ticket("survivor", 12.0).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        stored_events(&running.bus, Subject::TicketCreated)
            .await
            .is_empty(),
        "not published yet"
    );

    // "Restart": a new instance on the same database with the relay running.
    crashed.relay_events = true;
    let _after_restart = spawn_with(crashed, running.bus.clone()).await;
    let events = wait_for_events(&running.bus, Subject::TicketCreated, 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["id"], ticket["id"]);
}
