//! Calls to other services.

pub mod tickets;

pub use tickets::{TicketPermissions, TicketsClient};
