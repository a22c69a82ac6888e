//! Keyset pagination: `limit` (1–100, default 20) and an opaque `cursor`.
//!
//! A cursor is the sort key of the last item of a page, so a page boundary stays correct while
//! rows are being inserted. Callers never parse it. Its text is `<position>.<id as 32 hex
//! digits>`, a shape one regular expression describes exactly ([`CURSOR_PATTERN`]): the
//! documents state it, so any string they allow is a cursor this code can read, and anything
//! else is a 422 naming `cursor`. [`Limit`] and [`Cursor`] are query parameter types whose
//! schema and check come from the same constants.

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromParameter, ParseResult, Type},
};

use crate::problem::ApiError;

/// poem-openapi's [`Type`] for a parameter type that is its own raw value, documented under
/// `name` with `schema` (an expression giving a [`MetaSchemaRef`]). Generic parameters go in
/// brackets after an `@`: `parameter_type!(@[T: Type] Deferred<T>, T::name(), T::schema_ref())`.
#[macro_export]
macro_rules! parameter_type {
    ($(@[$($generics:tt)*])? $ty:ty, $name:expr, $schema:expr) => {
        impl $(<$($generics)*>)? ::poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> ::std::borrow::Cow<'static, str> {
                ($name).into()
            }

            fn schema_ref() -> ::poem_openapi::registry::MetaSchemaRef {
                $schema
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}

/// Declares a list answer `{items, next_cursor}` of `$item`, the one shape every list of
/// every service answers with (ARCHITECTURE.md, "Lists"), documented under the name `$name`:
/// `page_type!(TicketPage, Ticket, ::serde::Serialize)`. One definition, and each document
/// keeps the schema name it always had (poem-openapi names a generic object after its
/// parameters, `Page_Ticket`, which would change every document and the web client). Extra
/// derives follow the item type.
#[macro_export]
macro_rules! page_type {
    ($name:ident, $item:ty $(, $derive:path)* $(,)?) => {
        #[derive(::poem_openapi::Object $(, $derive)*)]
        pub struct $name {
            pub items: ::std::vec::Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            #[oai(nullable)]
            pub next_cursor: ::std::option::Option<::std::string::String>,
        }
    };
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Every cursor, and nothing else.
pub const CURSOR_PATTERN: &str = "^[0-9]{1,18}\\.[0-9a-f]{32}$";

/// The `limit` query parameter: 1–[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent
/// (`Query<Option<Limit>>`, then [`Limit::or_default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub u32);

impl Limit {
    pub fn or_default(raw: Option<Limit>) -> u32 {
        raw.map_or(DEFAULT_LIMIT, |l| l.0)
    }
}

crate::parameter_type!(
    Limit,
    "integer(int32)",
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        format: Some("int32"),
        minimum: Some(1.0),
        maximum: Some(f64::from(MAX_LIMIT)),
        default: Some(DEFAULT_LIMIT.into()),
        ..MetaSchema::new("integer")
    }))
);

impl ParseFromParameter for Limit {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let out_of_range = || ParseError::custom(format!("must be between 1 and {MAX_LIMIT}"));
        let n: i128 = value
            .parse()
            .map_err(|_| ParseError::custom("must be an integer"))?;
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .map(Limit)
            .ok_or_else(out_of_range)
    }
}

/// The position after which the next page starts: a timestamp (or other position) and the id
/// (a UUID) that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id.replace('-', ""))
    }

    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        Self::read(raw).ok_or_else(|| ApiError::field("cursor", "is malformed"))
    }

    fn read(raw: &str) -> Option<Self> {
        let (at, id) = raw.split_once('.')?;
        let digits_ok = (1..=18).contains(&at.len()) && at.bytes().all(|b| b.is_ascii_digit());
        let hex_ok = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !digits_ok || !hex_ok {
            return None;
        }
        Some(Self {
            at: at.parse().ok()?,
            id: uuid::Uuid::parse_str(id).ok()?.to_string(),
        })
    }
}

crate::parameter_type!(
    Cursor,
    "string(cursor)",
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        pattern: Some(CURSOR_PATTERN.to_owned()),
        ..MetaSchema::new("string")
    }))
);

impl ParseFromParameter for Cursor {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::read(value).ok_or_else(|| ParseError::custom("is malformed"))
    }
}

/// A parameter (query or header) whose parse error waits for the handler, for routes under a
/// resource that must answer 404 to a caller who may not see it before any validation.
/// Documents `T`'s schema; [`Deferred::get`] gives the value or the 422 naming the parameter.
#[derive(Debug, Clone)]
pub struct Deferred<T>(Result<T, String>);

impl<T> Deferred<T> {
    pub fn get(raw: Option<Self>, name: &str) -> Result<Option<T>, ApiError> {
        raw.map(|d| d.0.map_err(|m| ApiError::field(name, m)))
            .transpose()
    }
}

crate::parameter_type!(@[T: Type] Deferred<T>, T::name(), T::schema_ref());

impl<T: ParseFromParameter> ParseFromParameter for Deferred<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(
            T::parse_from_parameter(value).map_err(|e| e.into_message()),
        ))
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
    fn a_cursor_round_trips_and_matches_its_documented_pattern() {
        let c = Cursor {
            at: 1_700_000_000_123,
            id: uuid::Uuid::now_v7().to_string(),
        };
        let text = c.encode();
        assert!(regex::Regex::new(CURSOR_PATTERN).unwrap().is_match(&text));
        assert_eq!(Cursor::decode(&text).ok(), Some(c));
    }

    #[test]
    fn garbage_cursors_are_rejected() {
        for raw in [
            "",
            "!!!",
            "bm9waXBl",
            "12.abc",
            "1x.0123456789abcdef0123456789abcdef",
        ] {
            assert!(Cursor::decode(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        assert_eq!(Limit::or_default(None), 20);
        assert_eq!(Limit::parse_from_parameter("100").ok(), Some(Limit(100)));
        assert!(Limit::parse_from_parameter("0").is_err());
        assert!(Limit::parse_from_parameter("-9223372036854775808").is_err());
        assert!(Limit::parse_from_parameter("101").is_err());
        assert_eq!(Limit::parse_from_parameter("7").ok(), Some(Limit(7)));
    }
}
