//! Docket's tickets service: tickets, comments and internal notes, and their history.

pub mod api;
pub mod cli;
pub mod clients;
pub mod config;
pub mod domain;
pub mod error;
pub mod json;
pub mod reindex;
pub mod repo;
pub mod startup;

pub use config::Settings;
pub use startup::Application;
