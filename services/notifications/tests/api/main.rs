//! The notifications service's integration tests: real auth and tickets services (each with
//! its own database), the notifications service on its own database, and a real SMTP server
//! ([`docket_testkit::smtp::SmtpSink`]) that the mail goes to.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery;
mod helpers;
mod mail;
mod openapi;
mod routes;
