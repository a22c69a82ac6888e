//! The attachments service through real HTTP.
