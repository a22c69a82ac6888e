//! Docket's gateway: the one public entry point. Serves the web app, `/docs`, the OpenAPI
//! documents, aggregated health, and forwards the public `/api/*` paths to the services.

pub mod cli;
pub mod config;
pub mod docs;
pub mod headers;
pub mod health;
pub mod limits;
pub mod proxy;
pub mod ratelimit;
pub mod startup;

pub use config::Settings;
pub use startup::Application;
