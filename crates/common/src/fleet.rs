//! The fleet's services by name, in start-up order: the one list the tests and the benchmark
//! iterate (metrics jobs, trace services, per-service settings).

pub const SERVICES: [&str; 6] = [
    "auth",
    "tickets",
    "orders",
    "payments",
    "expiration",
    "client",
];
