//! Deciding a file's type from its own bytes, while it streams past.
//!
//! The first bytes name the family (JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`,
//! `GIF87a`/`GIF89a`, `%PDF-`, OLE2 `D0 CF 11 E0 A1 B1 1A E1`, ZIP `PK 03 04`); anything else is
//! refused as soon as those bytes are in, so a disallowed file is never read to its end. The two
//! container families need the rest of the stream: a ZIP is DOCX when an entry's name starts
//! with `word/` and XLSX with `xl/` (names read from local headers and the central directory as
//! they pass, through a 64-byte seam buffer, never the whole file); an OLE2 file is DOC when it
//! holds a `WordDocument` stream and XLS with a `Workbook` one (their UTF-16 directory names).
//! A declared content type or extension that disagrees with the bytes is refused too.

use memchr::memmem;

/// The types on the allow-list.
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

    fn extensions(self) -> &'static [&'static str] {
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

    /// True when a declared content type and extension do not contradict this kind. A missing
    /// or generic (`application/octet-stream`) type and a missing extension contradict nothing.
    pub fn agrees_with(self, declared_type: Option<&str>, extension: Option<&str>) -> bool {
        let type_ok = match declared_type.map(normalise_type) {
            None => true,
            Some(t) if t.is_empty() || t == "application/octet-stream" => true,
            Some(t) => self.mimes().contains(&t.as_str()),
        };
        let ext_ok = extension.is_none_or(|e| self.extensions().contains(&e));
        type_ok && ext_ok
    }
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
const SEAM: usize = 64;

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error(
        "the file's content is not one of the allowed types (JPEG, PNG, GIF, PDF, DOC, DOCX, XLS, XLSX)"
    )]
    NotAllowed,
    #[error("the file's declared type or extension does not match its content")]
    Mismatch,
}

/// Fed chunk by chunk; see the module doc.
pub struct Sniffer {
    declared_type: Option<String>,
    extension: Option<String>,
    head: Vec<u8>,
    family: Option<Family>,
    seam: Vec<u8>,
    word: bool,
    xl: bool,
}

const WORD_DOCUMENT: &[u8] = b"W\0o\0r\0d\0D\0o\0c\0u\0m\0e\0n\0t\0";
const WORKBOOK: &[u8] = b"W\0o\0r\0k\0b\0o\0o\0k\0";

impl Sniffer {
    pub fn new(declared_type: Option<&str>, extension: Option<&str>) -> Self {
        Self {
            declared_type: declared_type.map(str::to_owned),
            extension: extension.map(str::to_owned),
            head: Vec::with_capacity(HEAD),
            family: None,
            seam: Vec::new(),
            word: false,
            xl: false,
        }
    }

    /// Takes the next chunk. Fails as soon as the bytes seen rule the file out.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SniffError> {
        if self.family.is_none() {
            let before = self.head.len();
            let need = HEAD - before;
            self.head.extend_from_slice(&chunk[..need.min(chunk.len())]);
            if self.head.len() < HEAD {
                return Ok(());
            }
            self.decide_family()?;
            // Head bytes from earlier chunks are scanned with this one.
            self.seam = self.head[..before].to_vec();
        }
        match self.family {
            Some(Family::Zip) | Some(Family::Ole) => self.scan(chunk),
            _ => {}
        }
        Ok(())
    }

    /// The stream has ended: the verdict.
    pub fn finish(mut self) -> Result<FileKind, SniffError> {
        if self.family.is_none() {
            self.decide_family()?;
        }
        let kind = match self.family {
            Some(Family::Single(kind)) => kind,
            Some(Family::Zip) | Some(Family::Ole) => {
                let [first, second] = match self.family {
                    Some(Family::Zip) => [FileKind::Docx, FileKind::Xlsx],
                    _ => [FileKind::Doc, FileKind::Xls],
                };
                match (self.word, self.xl) {
                    (true, false) => first,
                    (false, true) => second,
                    _ => return Err(SniffError::NotAllowed),
                }
            }
            None => return Err(SniffError::NotAllowed),
        };
        if kind.agrees_with(self.declared_type.as_deref(), self.extension.as_deref()) {
            Ok(kind)
        } else {
            Err(SniffError::Mismatch)
        }
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

    fn scan(&mut self, chunk: &[u8]) {
        let mut window = std::mem::take(&mut self.seam);
        window.extend_from_slice(chunk);
        match self.family {
            Some(Family::Zip) => {
                for at in memmem::find_iter(&window, b"PK") {
                    let rest = &window[at..];
                    let (len_at, name_at) = match rest.get(2..4) {
                        Some([3, 4]) => (26, 30),
                        Some([1, 2]) => (28, 46),
                        _ => continue,
                    };
                    let Some(len) = rest.get(len_at..len_at + 2) else {
                        continue;
                    };
                    let len = u16::from_le_bytes([len[0], len[1]]) as usize;
                    let name =
                        &rest[name_at.min(rest.len())..(name_at + len.min(5)).min(rest.len())];
                    if name.starts_with(b"word/") {
                        self.word = true;
                    } else if name.starts_with(b"xl/") {
                        self.xl = true;
                    }
                }
            }
            Some(Family::Ole) => {
                if memmem::find(&window, WORD_DOCUMENT).is_some() {
                    self.word = true;
                }
                if memmem::find(&window, WORKBOOK).is_some() {
                    self.xl = true;
                }
            }
            _ => {}
        }
        let keep = window.len().min(SEAM);
        self.seam = window[window.len() - keep..].to_vec();
    }
}

#[cfg(test)]
mod tests {
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
        s.finish()
    }

    fn zip_with(entry: &str) -> Vec<u8> {
        let mut z = b"PK\x03\x04".to_vec();
        z.extend_from_slice(&[
            20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        z.extend_from_slice(&(entry.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z.extend_from_slice(entry.as_bytes());
        z.extend_from_slice(&[0x55; 200]);
        z
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
        assert_eq!(sniff(b"GIF89a......", None, None, 4), Ok(FileKind::Gif));
        assert_eq!(
            sniff(b"%PDF-1.7\n...", Some("application/pdf"), None, 4),
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
            sniff(png, Some("application/pdf"), None, 64),
            Err(SniffError::Mismatch)
        );
        assert_eq!(sniff(png, None, Some("gif"), 64), Err(SniffError::Mismatch));
        assert_eq!(
            sniff(png, Some("application/octet-stream"), Some("png"), 64),
            Ok(FileKind::Png)
        );
        assert_eq!(
            sniff(png, Some("IMAGE/PNG; charset=binary"), None, 64),
            Ok(FileKind::Png)
        );
    }

    #[test]
    fn zip_entries_decide_docx_and_xlsx_even_across_chunk_seams() {
        let docx = zip_with("word/document.xml");
        let xlsx = zip_with("xl/workbook.xml");
        for chunk in [1, 7, 31, 4096] {
            assert_eq!(sniff(&docx, None, Some("docx"), chunk), Ok(FileKind::Docx));
            assert_eq!(sniff(&xlsx, None, Some("xlsx"), chunk), Ok(FileKind::Xlsx));
        }
        assert_eq!(
            sniff(&zip_with("payload.exe"), None, Some("docx"), 64),
            Err(SniffError::NotAllowed)
        );
        assert_eq!(
            sniff(&docx, None, Some("xlsx"), 64),
            Err(SniffError::Mismatch)
        );
    }

    #[test]
    fn ole2_stream_names_decide_doc_and_xls() {
        let mut doc = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        doc.extend_from_slice(&[0; 500]);
        let mut xls = doc.clone();
        doc.extend_from_slice(WORD_DOCUMENT);
        xls.extend_from_slice(WORKBOOK);
        assert_eq!(
            sniff(&doc, Some("application/msword"), Some("doc"), 5),
            Ok(FileKind::Doc)
        );
        assert_eq!(sniff(&xls, None, Some("xls"), 5), Ok(FileKind::Xls));
        let mut msi = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        msi.extend_from_slice(&[0; 100]);
        assert_eq!(
            sniff(&msi, None, Some("doc"), 64),
            Err(SniffError::NotAllowed)
        );
    }
}
