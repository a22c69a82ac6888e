//! Calls to the other services, always on behalf of the signed-in caller (their token is
//! forwarded, so the other service sees no more than they could).

pub mod attachments;
pub mod auth;
