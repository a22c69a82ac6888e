//! Deciding a file's type from its own bytes.
//!
//! The first bytes name the family (JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`,
//! `GIF87a`/`GIF89a`, `%PDF-`, OLE2 `D0 CF 11 E0 A1 B1 1A E1`, ZIP `PK 03 04`); anything else is
//! refused as soon as those bytes are in, so a disallowed file is never read to its end. The two
//! container families are decided by their structure once the whole file is spooled, never by
//! a name that merely appears somewhere in the bytes:
//!
//! - a ZIP is DOCX when its central directory lists `[Content_Types].xml` and
//!   `word/document.xml`, XLSX with `[Content_Types].xml` and `xl/workbook.xml`;
//! - an OLE2 compound file is DOC when its root holds a `WordDocument` stream, XLS with a
//!   `Workbook` (Excel 97 and later) or `Book` (Excel 5/95) stream.
//!
//! Reading a container's directory is blocking file I/O: [`Sniffer::finish`] is meant for
//! `spawn_blocking`. The file's name must have an extension, and it and a declared content type
//! must agree with what the bytes are.

use std::io::{Read, Seek};

/// The types on the allow-list. [`FileKind::ALL`] is the list itself: the upload check, its
/// 415 message and the policy clients read (`GET /api/attachments/policy`) all come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    Gif,
    Pdf,
    Doc,
    Xls,
    Docx,
    Xlsx,
}

impl FileKind {
    /// Every allowed type, in the order people are told about them.
    pub const ALL: [FileKind; 8] = [
        FileKind::Jpeg,
        FileKind::Png,
        FileKind::Gif,
        FileKind::Pdf,
        FileKind::Doc,
        FileKind::Docx,
        FileKind::Xls,
        FileKind::Xlsx,
    ];

    /// What people call it ("JPEG", "DOCX").
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
            FileKind::Gif => "GIF",
            FileKind::Pdf => "PDF",
            FileKind::Doc => "DOC",
            FileKind::Xls => "XLS",
            FileKind::Docx => "DOCX",
            FileKind::Xlsx => "XLSX",
        }
    }

    /// The media type it is stored and served as.
    pub fn mime(self) -> &'static str {
        self.mimes()[0]
    }

    /// The extension stored keys get (with its dot).
    pub fn key_extension(self) -> &'static str {
        match self {
            FileKind::Jpeg => ".jpg",
            FileKind::Png => ".png",
            FileKind::Gif => ".gif",
            FileKind::Pdf => ".pdf",
            FileKind::Doc => ".doc",
            FileKind::Xls => ".xls",
            FileKind::Docx => ".docx",
            FileKind::Xlsx => ".xlsx",
        }
    }

    fn mimes(self) -> &'static [&'static str] {
        match self {
            FileKind::Jpeg => &["image/jpeg", "image/jpg", "image/pjpeg"],
            FileKind::Png => &["image/png"],
            FileKind::Gif => &["image/gif"],
            FileKind::Pdf => &["application/pdf", "application/x-pdf"],
            FileKind::Doc => &["application/msword"],
            FileKind::Xls => &["application/vnd.ms-excel"],
            FileKind::Docx => {
                &["application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
            }
            FileKind::Xlsx => {
                &["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
            }
        }
    }

    /// The extensions (lower case, no dot) a file of this kind may be named with.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Jpeg => &["jpg", "jpeg", "jpe"],
            FileKind::Png => &["png"],
            FileKind::Gif => &["gif"],
            FileKind::Pdf => &["pdf"],
            FileKind::Doc => &["doc"],
            FileKind::Xls => &["xls"],
            FileKind::Docx => &["docx"],
            FileKind::Xlsx => &["xlsx"],
        }
    }

    /// True when the extension is one of this kind's and a declared content type does not
    /// contradict it. A missing or generic (`application/octet-stream`) type contradicts
    /// nothing; a missing extension never agrees.
    pub fn agrees_with(self, declared_type: Option<&str>, extension: Option<&str>) -> bool {
        let type_ok = match declared_type.map(normalise_type) {
            None => true,
            Some(t) if t.is_empty() || t == "application/octet-stream" => true,
            Some(t) => self.mimes().contains(&t.as_str()),
        };
        let ext_ok = extension.is_some_and(|e| self.extensions().contains(&e));
        type_ok && ext_ok
    }
}

/// "JPEG, PNG, …", from [`FileKind::ALL`].
fn allowed_names() -> String {
    FileKind::ALL.map(FileKind::name).join(", ")
}

fn normalise_type(raw: &str) -> String {
    raw.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Single(FileKind),
    Ole,
    Zip,
}

impl Family {
    fn candidates(self) -> &'static [FileKind] {
        match self {
            Family::Single(FileKind::Jpeg) => &[FileKind::Jpeg],
            Family::Single(FileKind::Png) => &[FileKind::Png],
            Family::Single(FileKind::Gif) => &[FileKind::Gif],
            Family::Single(_) => &[FileKind::Pdf],
            Family::Ole => &[FileKind::Doc, FileKind::Xls],
            Family::Zip => &[FileKind::Docx, FileKind::Xlsx],
        }
    }
}

const HEAD: usize = 8;

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error(
        "the file's content is not one of the allowed types ({})",
        allowed_names()
    )]
    NotAllowed,
    #[error("the file's declared type or extension does not match its content")]
    Mismatch,
    #[error("the file's name has no extension; it must end in one that matches its content")]
    NoExtension,
}

/// Fed chunk by chunk while the file spools, then finished with the spooled file; see the
/// module doc.
pub struct Sniffer {
    declared_type: Option<String>,
    extension: Option<String>,
    head: Vec<u8>,
    family: Option<Family>,
}

impl Sniffer {
    pub fn new(declared_type: Option<&str>, extension: Option<&str>) -> Self {
        Self {
            declared_type: declared_type.map(str::to_owned),
            extension: extension.map(str::to_owned),
            head: Vec::with_capacity(HEAD),
            family: None,
        }
    }

    /// Takes the next chunk. Fails as soon as the bytes seen rule the file out.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SniffError> {
        if self.family.is_none() {
            let need = HEAD - self.head.len();
            self.head.extend_from_slice(&chunk[..need.min(chunk.len())]);
            if self.head.len() == HEAD {
                self.decide_family()?;
            }
        }
        Ok(())
    }

    /// The stream has ended and `file` holds all of it: the verdict. Reads `file` only for
    /// the container families (blocking I/O).
    pub fn finish<R: Read + Seek>(mut self, file: R) -> Result<FileKind, SniffError> {
        if self.family.is_none() {
            self.decide_family()?;
        }
        let found: Vec<FileKind> = match self.family {
            Some(Family::Single(kind)) => vec![kind],
            Some(Family::Zip) => zip_kinds(file),
            Some(Family::Ole) => ole_kinds(file),
            None => vec![],
        };
        if found.is_empty() {
            return Err(SniffError::NotAllowed);
        }
        // A file that is structurally both (a DOCX that also holds a workbook) is what its
        // extension says, as long as that is one of them.
        found
            .into_iter()
            .find(|k| k.agrees_with(self.declared_type.as_deref(), self.extension.as_deref()))
            .ok_or(SniffError::Mismatch)
    }

    fn decide_family(&mut self) -> Result<(), SniffError> {
        let h = self.head.as_slice();
        let family = if h.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Family::Single(FileKind::Jpeg)
        } else if h.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Family::Single(FileKind::Png)
        } else if h.starts_with(b"GIF87a") || h.starts_with(b"GIF89a") {
            Family::Single(FileKind::Gif)
        } else if h.starts_with(b"%PDF-") {
            Family::Single(FileKind::Pdf)
        } else if h.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            Family::Ole
        } else if h.starts_with(b"PK\x03\x04") {
            Family::Zip
        } else {
            return Err(SniffError::NotAllowed);
        };
        if self.extension.is_none() {
            return Err(SniffError::NoExtension);
        }
        let declared = self.declared_type.as_deref();
        let ext = self.extension.as_deref();
        if !family
            .candidates()
            .iter()
            .any(|k| k.agrees_with(declared, ext))
        {
            return Err(SniffError::Mismatch);
        }
        self.family = Some(family);
        Ok(())
    }
}

/// The Office Open XML kinds a ZIP's central directory makes it (none for an unreadable ZIP).
fn zip_kinds<R: Read + Seek>(file: R) -> Vec<FileKind> {
    let Ok(archive) = zip::ZipArchive::new(file) else {
        return vec![];
    };
    let has = |name: &str| archive.index_for_name(name).is_some();
    if !has("[Content_Types].xml") {
        return vec![];
    }
    [
        (FileKind::Docx, "word/document.xml"),
        (FileKind::Xlsx, "xl/workbook.xml"),
    ]
    .into_iter()
    .filter(|(_, part)| has(part))
    .map(|(kind, _)| kind)
    .collect()
}

/// The legacy Office kinds an OLE2 file's root streams make it (none for an unreadable one).
fn ole_kinds<R: Read + Seek>(file: R) -> Vec<FileKind> {
    let Ok(compound) = cfb::CompoundFile::open(file) else {
        return vec![];
    };
    let mut kinds = vec![];
    if compound.is_stream("/WordDocument") {
        kinds.push(FileKind::Doc);
    }
    if compound.is_stream("/Workbook") || compound.is_stream("/Book") {
        kinds.push(FileKind::Xls);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write as _};

    use super::*;

    fn sniff(
        bytes: &[u8],
        declared: Option<&str>,
        ext: Option<&str>,
        chunk: usize,
    ) -> Result<FileKind, SniffError> {
        let mut s = Sniffer::new(declared, ext);
        for c in bytes.chunks(chunk.max(1)) {
            s.feed(c)?;
        }
        s.finish(Cursor::new(bytes))
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in entries {
            w.start_file(*name, options).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn ole_of(streams: &[&str], filler: &[u8]) -> Vec<u8> {
        let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for name in streams {
            c.create_stream(name).unwrap().write_all(filler).unwrap();
        }
        c.flush().unwrap();
        c.into_inner().into_inner()
    }

    const CT: (&str, &[u8]) = ("[Content_Types].xml", b"<Types/>");

    #[test]
    fn the_refusal_names_every_allowed_type_and_each_type_agrees_with_its_own_names() {
        assert_eq!(
            SniffError::NotAllowed.to_string(),
            "the file's content is not one of the allowed types \
             (JPEG, PNG, GIF, PDF, DOC, DOCX, XLS, XLSX)"
        );
        for kind in FileKind::ALL {
            assert!(
                kind.key_extension()
                    .strip_prefix('.')
                    .is_some_and(|e| kind.extensions().contains(&e)),
                "{kind:?}"
            );
            for ext in kind.extensions() {
                assert!(
                    kind.agrees_with(Some(kind.mime()), Some(ext)),
                    "{kind:?} {ext}"
                );
            }
        }
    }

    #[test]
    fn magic_numbers_decide_the_simple_types_in_any_chunking() {
        let png = b"\x89PNG\r\n\x1a\n rest of it";
        for chunk in [1, 3, 8, 100] {
            assert_eq!(
                sniff(png, Some("image/png"), Some("png"), chunk),
                Ok(FileKind::Png)
            );
        }
        assert_eq!(
            sniff(b"\xff\xd8\xff\xe0 jfif", None, Some("jpeg"), 2),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            sniff(b"GIF89a......", None, Some("gif"), 4),
            Ok(FileKind::Gif)
        );
        assert_eq!(
            sniff(b"%PDF-1.7\n...", Some("application/pdf"), Some("pdf"), 4),
            Ok(FileKind::Pdf)
        );
    }

    #[test]
    fn other_content_is_refused_from_its_first_bytes() {
        let mut s = Sniffer::new(Some("image/png"), Some("png"));
        assert_eq!(
            s.feed(b"\x7fELF\x02\x01\x01\x00"),
            Err(SniffError::NotAllowed)
        );
        assert_eq!(
            sniff(b"MZ\x90\x00\x03\x00\x00\x00", None, Some("pdf"), 64),
            Err(SniffError::NotAllowed)
        );
        assert_eq!(
            sniff(b"<!doctype html><p>", Some("text/html"), None, 64),
            Err(SniffError::NotAllowed)
        );
        assert_eq!(sniff(b"", None, None, 1), Err(SniffError::NotAllowed));
    }

    #[test]
    fn a_declared_type_or_extension_that_disagrees_is_a_mismatch() {
        let png = b"\x89PNG\r\n\x1a\n rest";
        assert_eq!(
            sniff(png, Some("application/pdf"), Some("png"), 64),
            Err(SniffError::Mismatch)
        );
        assert_eq!(sniff(png, None, Some("gif"), 64), Err(SniffError::Mismatch));
        assert_eq!(
            sniff(png, Some("application/octet-stream"), Some("png"), 64),
            Ok(FileKind::Png)
        );
        assert_eq!(
            sniff(png, Some("IMAGE/PNG; charset=binary"), Some("png"), 64),
            Ok(FileKind::Png)
        );
    }

    #[test]
    fn a_name_without_an_extension_is_refused_whatever_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n rest";
        assert_eq!(
            sniff(png, Some("image/png"), None, 64),
            Err(SniffError::NoExtension)
        );
        let docx = zip_of(&[CT, ("word/document.xml", b"<w/>")]);
        assert_eq!(sniff(&docx, None, None, 64), Err(SniffError::NoExtension));
    }

    #[test]
    fn the_central_directory_decides_docx_and_xlsx() {
        let docx = zip_of(&[CT, ("word/document.xml", b"<w/>"), ("_rels/.rels", b"")]);
        let xlsx = zip_of(&[CT, ("xl/workbook.xml", b"<x/>")]);
        for chunk in [1, 7, 4096] {
            assert_eq!(sniff(&docx, None, Some("docx"), chunk), Ok(FileKind::Docx));
            assert_eq!(sniff(&xlsx, None, Some("xlsx"), chunk), Ok(FileKind::Xlsx));
        }
        assert_eq!(
            sniff(&docx, None, Some("xlsx"), 64),
            Err(SniffError::Mismatch)
        );
        let both = zip_of(&[CT, ("word/document.xml", b""), ("xl/workbook.xml", b"")]);
        assert_eq!(sniff(&both, None, Some("xlsx"), 64), Ok(FileKind::Xlsx));
    }

    #[test]
    fn a_zip_with_office_looking_names_but_not_their_parts_is_refused() {
        let mut mz = b"MZ\x90\x00".to_vec();
        mz.extend([0u8; 100]);
        let payload = zip_of(&[("word/payload.exe", &mz), ("run.sh", b"#!/bin/sh\n")]);
        assert_eq!(
            sniff(&payload, None, Some("docx"), 64),
            Err(SniffError::NotAllowed)
        );
        // The parts without the content-types manifest are not a package either.
        let bare = zip_of(&[("word/document.xml", b"<w/>")]);
        assert_eq!(
            sniff(&bare, None, Some("docx"), 64),
            Err(SniffError::NotAllowed)
        );
        // Nor is a local header with nothing behind it.
        let mut torn = b"PK\x03\x04".to_vec();
        torn.extend(b"word/document.xml[Content_Types].xml");
        assert_eq!(
            sniff(&torn, None, Some("docx"), 64),
            Err(SniffError::NotAllowed)
        );
    }

    #[test]
    fn ole2_root_streams_decide_doc_and_xls() {
        let doc = ole_of(&["/WordDocument"], b"text");
        assert_eq!(
            sniff(&doc, Some("application/msword"), Some("doc"), 5),
            Ok(FileKind::Doc)
        );
        for name in ["/Workbook", "/Book"] {
            let xls = ole_of(&[name], b"cells");
            assert_eq!(sniff(&xls, None, Some("xls"), 512), Ok(FileKind::Xls));
        }
        assert_eq!(
            sniff(&doc, None, Some("xls"), 64),
            Err(SniffError::Mismatch)
        );
    }

    #[test]
    fn an_ole2_file_that_only_mentions_word_document_is_refused() {
        // The UTF-16 name inside a stream's bytes, not as a directory entry.
        let name: Vec<u8> = "WordDocument"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let msi = ole_of(&["/Payload"], &name);
        assert_eq!(
            sniff(&msi, None, Some("doc"), 64),
            Err(SniffError::NotAllowed)
        );
        let mut bare = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        bare.extend_from_slice(&[0; 500]);
        bare.extend_from_slice(&name);
        assert_eq!(
            sniff(&bare, None, Some("doc"), 64),
            Err(SniffError::NotAllowed)
        );
    }
}
