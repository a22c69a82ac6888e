//! The shape of an upload body, checked on the raw bytes before multer parses them.
//!
//! multer keeps every byte it has not matched yet: a body whose first boundary never comes, or
//! whose part headers never end, would be held in memory to its last byte. multer has a limit
//! for the whole body and for each field, but none for these two, so [`Framing`] follows the
//! same landmarks multer looks for (the first `--boundary`, the boundary line, the blank line
//! that ends a part's headers, the next `\r\n--boundary`) and refuses a body as soon as one of
//! them is further away than it may be: the first boundary within [`MAX_PREAMBLE`] bytes,
//! each part's headers within [`MAX_PART_HEADERS`]. It also counts parts, so that a sixth file
//! is refused at its boundary, before multer or the handler see any of it.
//!
//! It looks at each chunk once and keeps at most a boundary's length of earlier bytes (to find
//! a landmark split across two chunks), so it holds nothing that grows with the body.

use memchr::memmem;

/// Bytes allowed before the first boundary (clients send none; RFC 2046 allows a preamble).
pub const MAX_PREAMBLE: u64 = 4 * 1024;
/// Bytes allowed for one part's headers, from the end of its boundary line to the blank line.
pub const MAX_PART_HEADERS: u64 = 8 * 1024;
/// What the framing of a body may add to its files' bytes: the preamble, and for each part
/// its boundary line and headers, plus the closing boundary.
pub fn framing_allowance(max_parts: usize) -> u64 {
    // A boundary is at most 70 characters (RFC 2046); its line adds `\r\n--`, `--`, padding.
    const BOUNDARY_LINE: u64 = 128;
    MAX_PREAMBLE + (max_parts as u64 + 1) * (MAX_PART_HEADERS + BOUNDARY_LINE)
}

/// Why a body's framing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("the body has no multipart boundary in its first {MAX_PREAMBLE} bytes")]
    NoBoundary,
    #[error("a part's headers are longer than {MAX_PART_HEADERS} bytes")]
    HeadersTooLong,
    #[error("a boundary line is malformed")]
    Malformed,
    #[error("the body has more parts than files allowed")]
    TooManyParts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Looking for the first `--boundary`.
    Preamble,
    /// Just after a boundary: `--` closes the body, anything else starts a part.
    AfterBoundary,
    /// Saw the first `-` of what must be the closing `--`.
    Dash,
    /// Transport padding (spaces, tabs) up to the boundary line's CRLF; `cr` once `\r` is seen.
    Padding { cr: bool },
    /// A part's headers, up to `\r\n\r\n`.
    Headers,
    /// A part's bytes, up to `\r\n--boundary`.
    Data,
    /// After the closing boundary: multer reads no further, and neither does this.
    Done,
}

/// Fed every chunk of a body in order; see the module doc.
#[derive(Debug)]
pub struct Framing {
    /// `\r\n--boundary`; the first boundary is the same without the CRLF.
    delimiter: Vec<u8>,
    max_parts: usize,
    stage: Stage,
    /// Bytes seen in the current stage (for its cap).
    in_stage: u64,
    /// The last bytes of earlier chunks in this stage, shorter than the landmark looked for.
    tail: Vec<u8>,
    parts: usize,
    failed: Option<FramingError>,
}

const HEADERS_END: &[u8] = b"\r\n\r\n";

impl Framing {
    pub fn new(boundary: &str, max_parts: usize) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            max_parts,
            stage: Stage::Preamble,
            in_stage: 0,
            tail: Vec::new(),
            parts: 0,
            failed: None,
        }
    }

    /// Takes the next chunk; fails as soon as the bytes so far break a rule, and from then on.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.advance(chunk);
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    fn advance(&mut self, mut chunk: &[u8]) -> Result<(), FramingError> {
        while let Some(&byte) = chunk.first() {
            match self.stage {
                Stage::Done => return Ok(()),
                Stage::Preamble | Stage::Headers | Stage::Data => {
                    let (cap, error) = match self.stage {
                        Stage::Preamble => (MAX_PREAMBLE, FramingError::NoBoundary),
                        Stage::Headers => (MAX_PART_HEADERS, FramingError::HeadersTooLong),
                        // multer's per-field limit bounds a part's bytes.
                        _ => (u64::MAX, FramingError::Malformed),
                    };
                    let needle: &[u8] = match self.stage {
                        Stage::Preamble => &self.delimiter[2..],
                        Stage::Headers => HEADERS_END,
                        _ => &self.delimiter,
                    };
                    let needle_len = needle.len();
                    let found = find_across(&self.tail, chunk, needle);
                    self.in_stage += found.unwrap_or(chunk.len()) as u64;
                    // The cap is for what comes before the landmark; a landmark split across
                    // chunks may have begun in the last bytes seen.
                    let before = match found {
                        Some(_) => self.in_stage - needle_len as u64,
                        None => self.in_stage.saturating_sub(needle_len as u64 - 1),
                    };
                    if before > cap {
                        return Err(error);
                    }
                    match found {
                        Some(end) => {
                            let next = match self.stage {
                                Stage::Headers => Stage::Data,
                                _ => Stage::AfterBoundary,
                            };
                            self.enter(next);
                            chunk = &chunk[end..];
                        }
                        None => {
                            keep_tail(&mut self.tail, chunk, needle_len - 1);
                            return Ok(());
                        }
                    }
                }
                Stage::AfterBoundary => {
                    if byte == b'-' {
                        self.enter(Stage::Dash);
                        chunk = &chunk[1..];
                    } else {
                        // Not consumed: it is the first byte of the padding or the CRLF.
                        self.enter(Stage::Padding { cr: false });
                    }
                }
                Stage::Dash => {
                    if byte != b'-' {
                        return Err(FramingError::Malformed);
                    }
                    self.enter(Stage::Done);
                    return Ok(());
                }
                Stage::Padding { cr } => {
                    match (cr, byte) {
                        (false, b' ' | b'\t') => {
                            self.in_stage += 1;
                            if self.in_stage > MAX_PART_HEADERS {
                                return Err(FramingError::HeadersTooLong);
                            }
                        }
                        (false, b'\r') => self.stage = Stage::Padding { cr: true },
                        (true, b'\n') => {
                            self.parts += 1;
                            if self.parts > self.max_parts {
                                return Err(FramingError::TooManyParts);
                            }
                            self.enter(Stage::Headers);
                        }
                        _ => return Err(FramingError::Malformed),
                    }
                    chunk = &chunk[1..];
                }
            }
        }
        Ok(())
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        self.in_stage = 0;
        self.tail.clear();
    }
}

/// Finds `needle` in `chunk`, counting `tail` (the end of earlier chunks, shorter than the
/// needle) as coming just before it. Returns the offset in `chunk` just past the match.
fn find_across(tail: &[u8], chunk: &[u8], needle: &[u8]) -> Option<usize> {
    if !tail.is_empty() {
        let head = &chunk[..chunk.len().min(needle.len() - 1)];
        let mut joined = Vec::with_capacity(tail.len() + head.len());
        joined.extend_from_slice(tail);
        joined.extend_from_slice(head);
        // The tail is shorter than the needle, so any match here ends inside `head`.
        if let Some(at) = memmem::find(&joined, needle) {
            return Some(at + needle.len() - tail.len());
        }
    }
    memmem::find(chunk, needle).map(|at| at + needle.len())
}

/// Keeps the last `keep` bytes of `tail` followed by `chunk`.
fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8], keep: usize) {
    if chunk.len() >= keep {
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len() - keep..]);
    } else {
        tail.extend_from_slice(chunk);
        let extra = tail.len().saturating_sub(keep);
        tail.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ-boundary";

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (headers, data) in parts {
            out.extend(format!("--{B}\r\n{headers}\r\n\r\n").into_bytes());
            out.extend_from_slice(data);
            out.extend(b"\r\n");
        }
        out.extend(format!("--{B}--\r\n").into_bytes());
        out
    }

    fn feed(bytes: &[u8], chunk: usize, max_parts: usize) -> Result<Framing, FramingError> {
        let mut f = Framing::new(B, max_parts);
        for c in bytes.chunks(chunk.max(1)) {
            f.feed(c)?;
        }
        Ok(f)
    }

    const PART: &str = "Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"";

    #[test]
    fn a_well_formed_body_passes_in_any_chunking_and_its_parts_are_counted() {
        let data = [b'\r', b'\n', b'-', b'x', b'\r'].repeat(1000);
        let bytes = body(&[(PART, &data), (PART, b""), (PART, b"--XyZ")]);
        for chunk in [1, 2, 5, 13, 64, 4096, bytes.len()] {
            let f = feed(&bytes, chunk, 5).unwrap();
            assert_eq!(f.parts, 3, "chunk {chunk}");
            assert_eq!(f.stage, Stage::Done, "chunk {chunk}");
        }
    }

    #[test]
    fn a_body_without_its_boundary_is_refused_within_a_few_kibibytes() {
        let mut f = Framing::new(B, 5);
        let junk = vec![b'x'; 1024];
        let mut fed = 0;
        let err = loop {
            match f.feed(&junk) {
                Ok(()) => fed += junk.len(),
                Err(e) => break e,
            }
            assert!(fed < 64 * 1024, "still accepted after {fed} bytes");
        };
        assert_eq!(err, FramingError::NoBoundary);
        assert!(fed as u64 <= MAX_PREAMBLE + 1024);
        // And it stays refused.
        assert_eq!(f.feed(b"--XyZ-boundary\r\n"), Err(FramingError::NoBoundary));
    }

    #[test]
    fn a_short_preamble_is_allowed_and_an_overlong_one_is_not() {
        let mut ok = vec![b'p'; MAX_PREAMBLE as usize];
        ok.extend(body(&[(PART, b"x")]));
        assert!(feed(&ok, 100, 5).is_ok());
        let mut long = vec![b'p'; MAX_PREAMBLE as usize + 1];
        long.extend(body(&[(PART, b"x")]));
        assert_eq!(feed(&long, 100, 5).unwrap_err(), FramingError::NoBoundary);
    }

    #[test]
    fn part_headers_that_never_end_are_refused() {
        let mut bytes =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"file\"\r\n").into_bytes();
        bytes.extend(vec![b'h'; 20 * 1024]);
        assert_eq!(
            feed(&bytes, 512, 5).unwrap_err(),
            FramingError::HeadersTooLong
        );
        let long_name = format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{}\"",
            "n".repeat(9000)
        );
        assert_eq!(
            feed(&body(&[(&long_name, b"x")]), 4096, 5).unwrap_err(),
            FramingError::HeadersTooLong
        );
    }

    #[test]
    fn a_part_beyond_the_allowed_count_is_refused_at_its_boundary() {
        let parts: Vec<(&str, &[u8])> = (0..6).map(|_| (PART, &b"data"[..])).collect();
        assert!(feed(&body(&parts[..5]), 7, 5).is_ok());
        assert_eq!(
            feed(&body(&parts), 7, 5).unwrap_err(),
            FramingError::TooManyParts
        );
    }

    #[test]
    fn a_boundary_followed_by_anything_but_padding_and_crlf_is_malformed() {
        for bad in [
            format!("--{B}x\r\n"),
            format!("--{B}-x"),
            format!("--{B}  \rx"),
        ] {
            assert_eq!(
                feed(bad.as_bytes(), 3, 5).unwrap_err(),
                FramingError::Malformed,
                "{bad:?}"
            );
        }
        assert!(feed(format!("--{B} \t\r\n").as_bytes(), 1, 5).is_ok());
    }

    #[test]
    fn the_allowance_covers_the_framing_of_the_largest_legal_body() {
        let name = "n".repeat(7000);
        let headers = format!("Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"");
        let parts: Vec<(&str, &[u8])> = (0..5).map(|_| (headers.as_str(), &b""[..])).collect();
        let framing_only = body(&parts);
        assert!(feed(&framing_only, 1000, 5).is_ok());
        assert!((framing_only.len() as u64) < framing_allowance(5));
    }
}
