//! What the fleet holds, read in one go: the databases, the streams, the Stripe mock.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::bson::{Bson, Document, doc, oid::ObjectId};
use common::events::{EventBus, Namespace};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::fleet::Fleet;

/// A message of a stream.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sequence: u64,
    pub subject: String,
    pub message_id: String,
    pub headers: BTreeMap<String, String>,
    pub payload: Value,
}

pub struct Streams {
    bus: EventBus,
}

impl Streams {
    pub async fn connect() -> Self {
        let nats = Fleet::new().state().server("nats").cloned();
        let url = nats.expect("the fleet's state names its NATS server").url;
        let bus = EventBus::connect(&url, Namespace::default())
            .await
            .expect("NATS reachable");
        Streams { bus }
    }

    pub async fn last_sequence(&self, stream: &str) -> u64 {
        match self.bus.jetstream().get_stream(stream).await {
            Ok(stream) => stream
                .get_info()
                .await
                .map(|info| info.state.last_sequence)
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Every message of `stream` after sequence `after`, in order.
    async fn read(&self, name: &str, after: u64) -> Vec<Stored> {
        let Ok(stream) = self.bus.jetstream().get_stream(name).await else {
            return Vec::new();
        };
        let Ok(info) = stream.get_info().await else {
            return Vec::new();
        };
        let first = info.state.first_sequence.max(after + 1);
        let last = info.state.last_sequence;
        let stream = &stream;
        futures::stream::iter(first..=last)
            .map(|sequence| async move { stream.get_raw_message(sequence).await.ok() })
            .buffered(64)
            .filter_map(|message| async move { message })
            .map(|message| Stored {
                sequence: message.sequence,
                subject: message.subject.to_string(),
                message_id: message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                headers: message
                    .headers
                    .iter()
                    .map(|(name, values)| {
                        let value = values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
                        (name.to_string(), value.join(","))
                    })
                    .collect(),
                payload: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
            })
            .collect()
            .await
    }
}

/// Everything the checks look at, read in one go.
pub struct World {
    /// tickets DB: the tickets of our sellers.
    pub tickets: BTreeMap<String, Document>,
    /// orders DB: the orders for those tickets, and its ticket replica.
    pub orders: BTreeMap<String, Document>,
    pub ticket_replica: HashMap<String, Document>,
    /// payments DB: its order replica and the payments.
    pub order_replica: HashMap<String, Document>,
    pub payments: HashMap<String, Vec<Document>>,
    /// Streams, by subject.
    pub events: HashMap<String, Vec<Stored>>,
    pub dead_letters: Vec<Stored>,
    /// Successful Stripe charges by order id.
    pub charges: HashMap<String, Vec<Value>>,
    /// Problems reading any of it.
    pub unreadable: Vec<String>,
}

pub fn hex(document: &Document) -> String {
    document
        .get_object_id("_id")
        .map(|id| id.to_hex())
        .unwrap_or_default()
}

pub fn int(document: &Document, key: &str) -> Option<i64> {
    match document.get(key)? {
        Bson::Int32(value) => Some(i64::from(*value)),
        Bson::Int64(value) => Some(*value),
        Bson::Double(value) => Some(*value as i64),
        _ => None,
    }
}

pub fn text<'a>(document: &'a Document, key: &str) -> Option<&'a str> {
    document.get_str(key).ok()
}

pub fn expires_at(order: &Document) -> Option<DateTime<Utc>> {
    order
        .get_datetime("expiresAt")
        .ok()
        .map(|at| at.to_chrono())
}

/// Documents by their `_id` (hex).
fn by_id<M: FromIterator<(String, Document)>>(documents: Vec<Document>) -> M {
    documents
        .into_iter()
        .map(|document| (hex(&document), document))
        .collect()
}

fn object_ids(ids: &[&String]) -> Vec<ObjectId> {
    ids.iter()
        .filter_map(|id| ObjectId::parse_str(id).ok())
        .collect()
}

async fn find(
    db: &mongodb::Database,
    collection: &str,
    filter: Document,
) -> Result<Vec<Document>, String> {
    let cursor = db
        .collection::<Document>(collection)
        .find(filter)
        .await
        .map_err(|error| format!("{}.{collection}: {error}", db.name()))?;
    cursor
        .try_collect()
        .await
        .map_err(|error| format!("{}.{collection}: {error}", db.name()))
}

impl World {
    pub async fn load(sellers: &[String], dead_letters_after: u64) -> World {
        let mut world = World {
            tickets: BTreeMap::new(),
            orders: BTreeMap::new(),
            ticket_replica: HashMap::new(),
            order_replica: HashMap::new(),
            payments: HashMap::new(),
            events: HashMap::new(),
            dead_letters: Vec::new(),
            charges: HashMap::new(),
            unreadable: Vec::new(),
        };
        if let Err(error) = world.load_databases(sellers).await {
            world.unreadable.push(error);
        }
        let streams = Streams::connect().await;
        for stream in ["TICKETS", "ORDERS"] {
            for message in streams.read(stream, 0).await {
                world
                    .events
                    .entry(message.subject.clone())
                    .or_default()
                    .push(message);
            }
        }
        world.dead_letters = streams
            .read(common::events::bus::DEAD_LETTER_STREAM, dead_letters_after)
            .await;
        match successful_charges().await {
            Ok(charges) => {
                for charge in charges {
                    if let Some(order) = charge["metadata"]["orderId"].as_str() {
                        world
                            .charges
                            .entry(order.to_owned())
                            .or_default()
                            .push(charge.clone());
                    }
                }
            }
            Err(error) => world.unreadable.push(error),
        }
        world
    }

    async fn load_databases(&mut self, sellers: &[String]) -> Result<(), String> {
        let tickets_db = service_database("tickets").await?;
        let orders_db = service_database("orders").await?;
        let payments_db = service_database("payments").await?;

        let of_sellers = doc! { "userId": { "$in": sellers } };
        self.tickets = by_id(find(&tickets_db, "tickets", of_sellers).await?);
        let ticket_ids: Vec<&String> = self.tickets.keys().collect();
        let of_tickets = doc! { "ticket.id": { "$in": &ticket_ids } };
        self.orders = by_id(find(&orders_db, "orders", of_tickets).await?);
        let replicas_of_tickets = doc! { "_id": { "$in": object_ids(&ticket_ids) } };
        self.ticket_replica = by_id(find(&orders_db, "tickets", replicas_of_tickets).await?);
        let order_ids: Vec<&String> = self.orders.keys().collect();
        let replicas_of_orders = doc! { "_id": { "$in": object_ids(&order_ids) } };
        self.order_replica = by_id(find(&payments_db, "orders", replicas_of_orders).await?);
        let of_orders = doc! { "orderId": { "$in": &order_ids } };
        for payment in find(&payments_db, "payments", of_orders).await? {
            let order = text(&payment, "orderId").unwrap_or_default().to_owned();
            self.payments.entry(order).or_default().push(payment);
        }
        Ok(())
    }

    fn events(&self, subject: &str) -> &[Stored] {
        self.events.get(subject).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The events of `subject` whose payload field `key` is `id`.
    pub fn events_of<'a>(&'a self, subject: &str, key: &str, id: &str) -> Vec<&'a Stored> {
        self.events(subject)
            .iter()
            .filter(|event| event.payload[key] == id)
            .collect()
    }
}

/// Every successful charge the Stripe mock holds, following its pages.
async fn successful_charges() -> Result<Vec<Value>, String> {
    let stripe = Fleet::new().state().server("stripe").cloned();
    let base = stripe.expect("the fleet's state names its Stripe mock").url;
    let http = reqwest::Client::new();
    let mut charges = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/charges?limit=100", base.trim_end_matches('/'));
        if let Some(after) = &after {
            url.push_str(&format!("&starting_after={after}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth("sk_test_mock")
            .send()
            .await
            .map_err(|error| format!("Stripe mock: {error}"))?
            .json()
            .await
            .map_err(|error| format!("Stripe mock: {error}"))?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .and_then(|charge| charge["id"].as_str())
            .map(str::to_owned);
        charges.extend(
            data.into_iter()
                .filter(|charge| charge["status"] == "succeeded"),
        );
        if page["has_more"] != true || after.is_none() {
            return Ok(charges);
        }
    }
}

/// The database of `service` on its own server (as the fleet's state names it).
async fn service_database(service: &str) -> Result<mongodb::Database, String> {
    let server = Fleet::new().state().mongo_server(service).cloned();
    let url = server
        .unwrap_or_else(|| panic!("the fleet's state names no MongoDB server for {service}"))
        .url;
    let mut options = mongodb::options::ClientOptions::parse(&url)
        .await
        .map_err(|error| error.to_string())?;
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let client = mongodb::Client::with_options(options).map_err(|error| error.to_string())?;
    Ok(client.database(service))
}
