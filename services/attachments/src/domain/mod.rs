//! The rules about files, pure and unit-tested in place: safe filenames and the
//! `Content-Disposition` built from them, and the content sniffer that decides a file's type.

pub mod filename;
pub mod sniff;

pub use filename::SafeFilename;
pub use sniff::{FileKind, Sniffer};
