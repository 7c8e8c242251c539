//! What the workload did and was told: the tickets and orders answered 201, each order's plan
//! and payment, the outages met and the answers the contract does not allow.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Pay,
    /// Pays while the orders service is down; the order expires before it is back.
    PayWhileOrdersDown,
    /// Pays late in the window (the buyer took their time), still well before the expiry.
    PayLate,
    LetExpire,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Payment {
    /// Not attempted.
    None,
    /// 201 (or "already paid" after an attempt whose answer was lost).
    Paid { acknowledged: bool },
    /// Gave up without an answer: an attempt may have reached Stripe.
    Unsure(String),
    /// A definite refusal.
    Refused(String),
}

#[derive(Debug, Clone)]
pub struct OrderEntry {
    pub ticket_id: String,
    pub plan: Plan,
    /// Created with a 201 (not an order found afterwards when the 201 was lost).
    pub acknowledged: bool,
    pub payment: Payment,
    /// DELETE answered 204.
    pub cancelled: bool,
}

#[derive(Default)]
pub struct Journal {
    /// Tickets answered with 201.
    pub tickets: BTreeSet<String>,
    pub orders: BTreeMap<String, OrderEntry>,
    /// "POST /api/orders: 503" → how often, while faults were injected.
    pub outages: BTreeMap<String, usize>,
    /// Answers the contract does not allow (a 500, an unexpected refusal).
    pub unexpected: Vec<String>,
    pub rounds: usize,
}

impl Journal {
    pub fn summary(&self) -> String {
        let paid = self
            .orders
            .values()
            .filter(|order| matches!(order.payment, Payment::Paid { .. }))
            .count();
        let unsure = self
            .orders
            .values()
            .filter(|order| matches!(order.payment, Payment::Unsure(_)))
            .count();
        let cancelled = self.orders.values().filter(|order| order.cancelled).count();
        let outages: Vec<String> = self
            .outages
            .iter()
            .map(|(what, count)| format!("{what} ×{count}"))
            .collect();
        format!(
            "workload: {} rounds, {} tickets and {} orders answered 201 ({} paid, {} payments unsure, \
             {} cancelled by their buyer); outages met: {}",
            self.rounds,
            self.tickets.len(),
            self.orders
                .values()
                .filter(|order| order.acknowledged)
                .count(),
            paid,
            unsure,
            cancelled,
            if outages.is_empty() {
                "none".to_owned()
            } else {
                outages.join(", ")
            }
        )
    }
}
