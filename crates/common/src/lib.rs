//! Shared plumbing for the ticketing services: one way to do each thing.

pub mod api_docs;
pub mod connections;
pub mod error;
pub mod events;
pub mod http;
pub mod input;
pub mod metrics;
pub mod money;
pub mod mongo;
pub mod rate_limit;
pub mod revocation;
pub mod service;
pub mod session;
pub mod settings;
pub mod tasks;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use bson;
pub use error::{ApiError, ApiResult, ErrorEntry};
pub use input::{IdPath, JsonBody};
pub use session::{CurrentUser, RequireUser, Sessions, UserClaims};
