//! The gateway through real HTTP, in front of a real auth service and small stand-in peers.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod forwarding;
mod limits;
mod web;
