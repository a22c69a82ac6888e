//! What every Docket service shares, written once: settings and secrets, telemetry,
//! problem+json errors, the request middleware, health endpoints, the database, access-token
//! verification and the current-user extractor, the service-to-service client, and the server
//! with graceful shutdown.

pub mod auth;
pub mod body;
pub mod cli;
pub mod client;
pub mod config;
pub mod db;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod pagination;
pub mod problem;
pub mod server;
pub mod telemetry;

pub use problem::{ApiError, ApiResult, Problem};
