//! The invariants, one function each: nothing answered 201 is missing, message ids are unique,
//! every order is settled consistently with its payment, its charges and its events, every
//! ticket is held by its one live order, every replica is at its source's version, no outbox
//! holds events back, no dead letters.

use std::collections::HashMap;

use chrono::Utc;
use common::bson::Document;
use serde_json::Value;

use crate::journal::{Journal, OrderEntry, Payment};
use crate::world::{Stored, World, expires_at, hex, int, text};

#[derive(Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Every invariant, over what the workload was told and what the fleet holds.
pub fn check(journal: &Journal, world: &World) -> Report {
    let mut report = Report::default();
    let problems = &mut report.problems;
    problems.extend(
        world
            .unreadable
            .iter()
            .map(|error| format!("cannot read: {error}")),
    );
    nothing_answered_201_is_missing(journal, world, problems);
    message_ids_are_unique(world, problems);

    let mut raced = Vec::new();
    let mut orders_of_ticket: HashMap<&str, Vec<&Document>> = HashMap::new();
    for (id, order) in &world.orders {
        let ticket_id = order
            .get_document("ticket")
            .ok()
            .and_then(|ticket| text(ticket, "id"))
            .unwrap_or_default();
        orders_of_ticket.entry(ticket_id).or_default().push(order);
        check_order(journal, world, id, order, problems, &mut raced);
    }
    for (id, ticket) in &world.tickets {
        let orders = orders_of_ticket
            .get(id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        check_ticket(world, id, ticket, orders, problems);
    }
    no_dead_letters(world, problems);

    report.notes.push(tally(world));
    report.notes.push(format!(
        "payments that lost the race against their order's expiration (order cancelled, charge \
         refunded): {}{}",
        raced.len(),
        if raced.is_empty() {
            String::new()
        } else {
            format!(" ({})", raced.join(", "))
        }
    ));
    report
}

fn nothing_answered_201_is_missing(journal: &Journal, world: &World, problems: &mut Vec<String>) {
    for id in &journal.tickets {
        if !world.tickets.contains_key(id) {
            problems.push(format!(
                "ticket {id} was answered 201 but is not in the tickets DB"
            ));
        }
    }
    for (id, entry) in &journal.orders {
        if !world.orders.contains_key(id) {
            problems.push(format!(
                "order {id} (ticket {}) was answered 201 but is not in the orders DB",
                entry.ticket_id
            ));
        }
    }
}

/// Message ids are unique in each stream (the duplicate window did its work).
fn message_ids_are_unique(world: &World, problems: &mut Vec<String>) {
    for (subject, events) in &world.events {
        let mut seen = HashMap::new();
        for event in events {
            *seen.entry(event.message_id.as_str()).or_insert(0) += 1;
        }
        for (id, count) in seen {
            if count > 1 {
                problems.push(format!("{subject}: message id {id:?} stored {count} times"));
            }
        }
    }
}

fn no_dead_letters(world: &World, problems: &mut Vec<String>) {
    let header =
        |letter: &Stored, name: &str| letter.headers.get(name).cloned().unwrap_or_default();
    for letter in &world.dead_letters {
        problems.push(format!(
            "dead letter #{} from {}: {} (message {}, {} deliveries): {}",
            letter.sequence,
            header(letter, "Ticketing-Original-Subject"),
            header(letter, "Ticketing-Error"),
            header(letter, "Ticketing-Original-Msg-Id"),
            header(letter, "Ticketing-Deliveries"),
            letter.payload
        ));
    }
}

/// How many tickets and orders the test left, and how the orders ended.
fn tally(world: &World) -> String {
    let count = |status: &str| {
        world
            .orders
            .values()
            .filter(|order| text(order, "status") == Some(status))
            .count()
    };
    format!(
        "the fleet holds {} tickets and {} orders of this test: {} complete, {} cancelled, {} other",
        world.tickets.len(),
        world.orders.len(),
        count("complete"),
        count("cancelled"),
        world.orders.len() - count("complete") - count("cancelled"),
    )
}

/// A document's outbox is empty: every event it recorded was published.
fn outbox_drained(what: &str, document: &Document, problems: &mut Vec<String>) {
    if document
        .get_array("outbox")
        .is_ok_and(|outbox| !outbox.is_empty())
    {
        problems.push(format!("{what}: events still waiting in its outbox"));
    }
}

// ---------------------------------------------------------------------------------------------
// one order
// ---------------------------------------------------------------------------------------------

/// What the checks of one order look at.
struct OrderFacts<'a> {
    id: &'a str,
    order: &'a Document,
    /// How problems name the order.
    what: String,
    status: &'a str,
    version: i64,
    /// What its buyer was told, if they were told it was created.
    entry: Option<&'a OrderEntry>,
    /// Its records in the payments DB.
    payments: usize,
    created: Vec<&'a Stored>,
    cancelled: Vec<&'a Stored>,
    paid: Vec<&'a Stored>,
    expired: Vec<&'a Stored>,
    /// A payment lost the race against the order's expiration (stored after its cancellation):
    /// the order stays cancelled and payments refunds the charge; tolerated, and reported.
    race: bool,
}

impl<'a> OrderFacts<'a> {
    fn gather(journal: &'a Journal, world: &'a World, id: &'a str, order: &'a Document) -> Self {
        let status = text(order, "status").unwrap_or_default();
        let entry = journal.orders.get(id);
        let cancelled = world.events_of("order.cancelled", "id", id);
        let paid = world.events_of("payment.created", "orderId", id);
        let race = status == "cancelled"
            && paid.len() == 1
            && cancelled.len() == 1
            && cancelled[0].sequence < paid[0].sequence;
        OrderFacts {
            id,
            order,
            what: match entry {
                Some(entry) => {
                    format!("order {id} ({:?}, payment {:?})", entry.plan, entry.payment)
                }
                None => format!("order {id} (not acknowledged to its buyer)"),
            },
            status,
            version: int(order, "version").unwrap_or(-1),
            entry,
            payments: world.payments.get(id).map(Vec::len).unwrap_or(0),
            created: world.events_of("order.created", "id", id),
            cancelled,
            paid,
            expired: world.events_of("expiration.complete", "orderId", id),
            race,
        }
    }
}

fn check_order(
    journal: &Journal,
    world: &World,
    id: &str,
    order: &Document,
    problems: &mut Vec<String>,
    raced: &mut Vec<String>,
) {
    let facts = OrderFacts::gather(journal, world, id, order);
    order_is_settled(&facts, problems, raced);
    order_is_as_its_buyer_was_told(&facts, problems);
    order_is_charged_as_settled(world, &facts, problems);
    order_events_are_stored_once(&facts, problems);
    outbox_drained(&facts.what, order, problems);
    payments_replica_is_current(world, &facts, problems);
}

/// Settled, consistently with its payment. A payment stored before the cancellation beat it:
/// that order must be complete.
fn order_is_settled(facts: &OrderFacts, problems: &mut Vec<String>, raced: &mut Vec<String>) {
    let OrderFacts {
        what,
        payments,
        paid,
        cancelled,
        ..
    } = facts;
    match facts.status {
        "complete" => {
            if *payments != 1 || paid.len() != 1 {
                problems.push(format!(
                    "{what} is complete with {payments} payment record(s) and {} payment.created",
                    paid.len()
                ));
            }
        }
        "cancelled" if facts.race => raced.push(facts.id.to_owned()),
        "cancelled" => {
            if *payments > 0 || !paid.is_empty() {
                problems.push(format!(
                    "{what} is cancelled although paid ({payments} payment record(s), {} payment.created{})",
                    paid.len(),
                    match (paid.first(), cancelled.first()) {
                        (Some(paid), Some(cancel)) => format!(
                            "; payment.created stored at #{} before order.cancelled at #{}",
                            paid.sequence, cancel.sequence
                        ),
                        _ => String::new(),
                    }
                ));
            }
        }
        other => problems.push(format!(
            "{what} is still {other:?} (expired at {:?})",
            expires_at(facts.order)
        )),
    }
}

/// Paid exactly when complete (or raced), cancelled when its buyer's DELETE was answered 204.
fn order_is_as_its_buyer_was_told(facts: &OrderFacts, problems: &mut Vec<String>) {
    let Some(entry) = facts.entry else {
        return;
    };
    let (what, status) = (&facts.what, facts.status);
    match (&entry.payment, status) {
        (Payment::Paid { .. }, "complete") => {}
        (Payment::Paid { .. }, "cancelled") if facts.race => {}
        (Payment::Paid { .. }, _) => problems.push(format!("{what} was paid but is {status}")),
        (Payment::Unsure(_), _) => {}
        (_, "complete") => problems.push(format!("{what} is complete but was never paid")),
        _ => {}
    }
    if entry.cancelled && status != "cancelled" {
        problems.push(format!("{what}: DELETE answered 204 but it is {status}"));
    }
}

/// Money: one charge kept per complete order; a raced one refunded (and the refund recorded);
/// none for the others.
fn order_is_charged_as_settled(world: &World, facts: &OrderFacts, problems: &mut Vec<String>) {
    let (id, what, status) = (facts.id, &facts.what, facts.status);
    let (kept, refunded): (Vec<&Value>, Vec<&Value>) = world
        .charges
        .get(id)
        .into_iter()
        .flatten()
        .partition(|charge| charge["refunded"] != true);
    let refund_recorded = world
        .payments
        .get(id)
        .into_iter()
        .flatten()
        .any(|payment| payment.get_str("refundId").is_ok());
    let expected = match status {
        "complete" => (1, 0),
        _ if facts.race => (0, 1),
        _ => (0, 0),
    };
    if (kept.len(), refunded.len()) != expected {
        problems.push(format!(
            "{what} is {status} with {} Stripe charge(s) kept and {} refunded (expected {} and {}){}",
            kept.len(),
            refunded.len(),
            expected.0,
            expected.1,
            match order_claim(world, id) {
                Some(claim) => format!("; the payments replica still holds a claim {claim}"),
                None => String::new(),
            }
        ));
    }
    if refund_recorded != facts.race {
        problems.push(format!(
            "{what} is {status}: its payment record {} a refund",
            if refund_recorded { "holds" } else { "lacks" }
        ));
    }
}

fn order_claim(world: &World, id: &str) -> Option<String> {
    world
        .order_replica
        .get(id)
        .and_then(|replica| replica.get_document("claim").ok())
        .map(|claim| claim.to_string())
}

/// Its events, each once: created; cancelled when cancelled (at the order's version); paid at
/// most once; expired once its expiry is past.
fn order_events_are_stored_once(facts: &OrderFacts, problems: &mut Vec<String>) {
    let (what, status, version) = (&facts.what, facts.status, facts.version);
    if facts.created.len() != 1 {
        problems.push(format!(
            "{what}: {} order.created in the stream",
            facts.created.len()
        ));
    }
    let expect_cancelled = usize::from(status == "cancelled");
    if facts.cancelled.len() != expect_cancelled {
        problems.push(format!(
            "{what} is {status} with {} order.cancelled in the stream",
            facts.cancelled.len()
        ));
    } else if let Some(event) = facts.cancelled.first()
        && event.payload["version"].as_i64() != Some(version)
    {
        problems.push(format!(
            "{what}: order.cancelled at version {} but the order is at {version}",
            event.payload["version"]
        ));
    }
    if facts.paid.len() > 1 {
        problems.push(format!("{what}: {} payment.created", facts.paid.len()));
    }
    if expires_at(facts.order).is_some_and(|at| at < Utc::now() - chrono::Duration::seconds(2))
        && facts.expired.len() != 1
    {
        problems.push(format!(
            "{what}: {} expiration.complete after its expiry",
            facts.expired.len()
        ));
    }
}

/// The payments replica: at the version of the order's last event, cancelled when cancelled,
/// complete once payments recorded its payment (completion publishes no event, so a complete
/// order is one version ahead of it).
fn payments_replica_is_current(world: &World, facts: &OrderFacts, problems: &mut Vec<String>) {
    let (what, status, version) = (&facts.what, facts.status, facts.version);
    let Some(replica) = world.order_replica.get(facts.id) else {
        problems.push(format!(
            "{what} is missing from the payments service's replica"
        ));
        return;
    };
    let expected_version = if status == "complete" {
        version - 1
    } else {
        version
    };
    // Pending orders: `created`, or `awaiting:payment` once confirmed (order.confirmed).
    let expected_status = status;
    let got = (int(replica, "version"), text(replica, "status"));
    if got != (Some(expected_version), Some(expected_status)) {
        problems.push(format!(
            "{what} is {status} at version {version}; the payments replica is {:?} at {:?} \
             (expected {expected_status} at {expected_version})",
            got.1, got.0
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// one ticket
// ---------------------------------------------------------------------------------------------

fn check_ticket(
    world: &World,
    id: &str,
    ticket: &Document,
    orders: &[&Document],
    problems: &mut Vec<String>,
) {
    ticket_is_held_by_its_live_order(id, ticket, orders, problems);
    outbox_drained(&format!("ticket {id}"), ticket, problems);
    ticket_events_are_stored_once(world, id, ticket, problems);
    orders_replica_is_current(world, id, ticket, problems);
}

/// Held by its one live order, or by none.
fn ticket_is_held_by_its_live_order(
    id: &str,
    ticket: &Document,
    orders: &[&Document],
    problems: &mut Vec<String>,
) {
    let version = int(ticket, "version").unwrap_or(-1);
    let live: Vec<String> = orders
        .iter()
        .filter(|order| text(order, "status") != Some("cancelled"))
        .map(|order| hex(order))
        .collect();
    if live.len() > 1 {
        problems.push(format!(
            "ticket {id} is held by {} live orders: {live:?}",
            live.len()
        ));
    }
    let holder = text(ticket, "orderId");
    if holder != live.first().map(String::as_str) {
        problems.push(format!(
            "ticket {id} (version {version}) has orderId {holder:?}, but its live order is {:?}",
            live.first()
        ));
    }
}

/// Its events: created once, updated once per version.
fn ticket_events_are_stored_once(
    world: &World,
    id: &str,
    ticket: &Document,
    problems: &mut Vec<String>,
) {
    let version = int(ticket, "version").unwrap_or(-1);
    let created = world.events_of("ticket.created", "id", id);
    if created.len() != 1 {
        problems.push(format!(
            "ticket {id}: {} ticket.created in the stream",
            created.len()
        ));
    }
    let mut versions: Vec<i64> = world
        .events_of("ticket.updated", "id", id)
        .iter()
        .filter_map(|event| event.payload["version"].as_i64())
        .collect();
    versions.sort_unstable();
    if versions != (1..=version).collect::<Vec<_>>() {
        problems.push(format!(
            "ticket {id} is at version {version}, the stream has ticket.updated versions {versions:?}"
        ));
    }
}

/// The orders service's replica: same version, title and price.
fn orders_replica_is_current(
    world: &World,
    id: &str,
    ticket: &Document,
    problems: &mut Vec<String>,
) {
    let fields = |document: &Document| {
        (
            int(document, "version"),
            text(document, "title").map(str::to_owned),
            int(document, "priceCents"),
        )
    };
    match world.ticket_replica.get(id) {
        None => problems.push(format!(
            "ticket {id} is missing from the orders service's replica"
        )),
        Some(replica) if fields(replica) != fields(ticket) => problems.push(format!(
            "ticket {id}: the orders replica has (version, title, price) {:?}, the tickets DB {:?}",
            fields(replica),
            fields(ticket)
        )),
        Some(_) => {}
    }
}
