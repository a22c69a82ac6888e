//! The rules, free of I/O: who is mailed about what ([`rules`]), what the mail says
//! ([`message`]), and the signed tokens in its links ([`token`]).

pub mod message;
pub mod rules;
pub mod token;

pub use rules::Kind;
