//! Docket's notifications service: follows the tickets service's history and mails the
//! people each event concerns — once per event and recipient, through a crash or restart of
//! either service — by SMTP or to the log, with preferences, one-click unsubscribe, and dead
//! letters an admin can retry.

pub mod api;
pub mod cli;
pub mod clients;
pub mod config;
pub mod deliver;
pub mod domain;
pub mod follow;
pub mod repo;
pub mod startup;

pub use config::Settings;
pub use startup::Application;
