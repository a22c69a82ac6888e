//! Docket's auth service: users, passwords, access and refresh tokens, roles.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod keys;
pub mod repo;
pub mod startup;

pub use config::Settings;
pub use startup::Application;
