//! Keyset pagination: `limit` (1–100, default 20) and an opaque `cursor`.
//!
//! A cursor is the sort key of the last item of a page, base64url-encoded, so a page boundary
//! stays correct while rows are being inserted. Callers never parse it; a malformed one is 422.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::problem::ApiError;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// Checks `limit`; out of range is a 422.
pub fn limit(raw: Option<i64>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as u32),
        Some(n) => Err(ApiError::Unprocessable(format!(
            "limit must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// The position after which the next page starts: a timestamp and an id that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.at, self.id))
    }

    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::Unprocessable("cursor is malformed".to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('|').ok_or_else(bad)?;
        let at = at.parse().map_err(|_| bad())?;
        if id.is_empty() || id.len() > 64 {
            return Err(bad());
        }
        Ok(Self {
            at,
            id: id.to_owned(),
        })
    }

    pub fn parse_opt(raw: Option<&str>) -> Result<Option<Self>, ApiError> {
        raw.filter(|s| !s.is_empty()).map(Self::decode).transpose()
    }
}

/// Splits a fetched `limit + 1` rows into a page and the cursor of the next one.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| key(r).encode())
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let c = Cursor {
            at: 1_700_000_000_123,
            id: "abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        for raw in ["", "!!!", "bm9waXBl", "MTIzfA"] {
            assert!(Cursor::decode(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        assert_eq!(limit(None).ok(), Some(20));
        assert_eq!(limit(Some(100)).ok(), Some(100));
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(101)).is_err());
    }
}
