//! The rules about uploads, unit-tested in place: the framing an upload body may have, safe
//! filenames and the `Content-Disposition` built from them, and the content sniffer that
//! decides a file's type.

pub mod filename;
pub mod framing;
pub mod sniff;

pub use filename::SafeFilename;
pub use sniff::{FileKind, Sniffer};
