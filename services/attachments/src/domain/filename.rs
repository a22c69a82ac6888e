//! User-supplied filenames, made safe to keep and to send back.
//!
//! A [`SafeFilename`] has no path (only what follows the last `/` or `\`), no control
//! characters, no leading dots or surrounding blanks, and at most 255 bytes (cut on a character
//! boundary, keeping the extension). It is metadata only: no filename ever forms a storage key.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub const MAX_FILENAME_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeFilename(String);

impl SafeFilename {
    /// Never fails: anything unusable becomes `file`.
    pub fn parse(raw: &str) -> Self {
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
            .collect();
        let trimmed = cleaned.trim().trim_start_matches('.').trim();
        if trimmed.is_empty() {
            return Self("file".to_owned());
        }
        Self(truncate_keeping_extension(trimmed, MAX_FILENAME_BYTES))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-cased extension, without the dot.
    pub fn extension(&self) -> Option<String> {
        let (stem, ext) = self.0.rsplit_once('.')?;
        (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
    }

    /// An ASCII stand-in for clients that ignore `filename*`: non-ASCII characters, quotes,
    /// backslashes and `%` become `_`.
    pub fn ascii_fallback(&self) -> String {
        self.0
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%') || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266 / RFC 8187).
    pub fn content_disposition(&self) -> String {
        // attr-char of RFC 8187: ALPHA / DIGIT / "!#$&+-.^_`|~"
        const ATTR: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'!')
            .remove(b'#')
            .remove(b'$')
            .remove(b'&')
            .remove(b'+')
            .remove(b'-')
            .remove(b'.')
            .remove(b'^')
            .remove(b'_')
            .remove(b'`')
            .remove(b'|')
            .remove(b'~');
        format!(
            "attachment; filename=\"{}\"; filename*=UTF-8''{}",
            self.ascii_fallback(),
            utf8_percent_encode(&self.0, ATTR)
        )
    }
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.len() <= 16)
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let mut cut = max - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &name[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_dropped_leaving_the_last_component() {
        assert_eq!(
            SafeFilename::parse("../../etc/passwd.png").as_str(),
            "passwd.png"
        );
        assert_eq!(SafeFilename::parse("C:\\Users\\x\\a.pdf").as_str(), "a.pdf");
        assert_eq!(SafeFilename::parse("..").as_str(), "file");
        assert_eq!(SafeFilename::parse("dir/").as_str(), "file");
        assert_eq!(SafeFilename::parse(".hidden.png").as_str(), "hidden.png");
    }

    #[test]
    fn control_and_bidi_characters_are_removed() {
        assert_eq!(SafeFilename::parse("a\r\nb\u{0}.png").as_str(), "ab.png");
        assert_eq!(SafeFilename::parse("x\u{202e}gnp.exe").as_str(), "xgnp.exe");
    }

    #[test]
    fn long_names_are_cut_to_255_bytes_on_a_character_boundary_keeping_the_extension() {
        let name = format!("{}.pdf", "é".repeat(300));
        let safe = SafeFilename::parse(&name);
        assert!(safe.as_str().len() <= 255);
        assert!(safe.as_str().ends_with(".pdf"));
    }

    #[test]
    fn the_disposition_keeps_unicode_in_filename_star_and_ascii_in_filename() {
        let safe = SafeFilename::parse("Résumé \"final\" 100%.pdf");
        assert_eq!(
            safe.content_disposition(),
            "attachment; filename=\"R_sum_ _final_ 100_.pdf\"; \
             filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20100%25.pdf"
        );
        assert_eq!(safe.extension().as_deref(), Some("pdf"));
    }
}
