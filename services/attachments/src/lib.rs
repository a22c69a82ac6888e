//! Docket's attachments service: file upload, download and delete, on local disk or S3.

pub mod api;
pub mod cli;
pub mod clients;
pub mod config;
pub mod delete;
pub mod domain;
pub mod repo;
pub mod startup;
pub mod storage;
pub mod sweep;
pub mod upload;

pub use config::Settings;
pub use startup::Application;
