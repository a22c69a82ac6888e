//! [`JsonBody`]: a JSON request body checked against its own OpenAPI schema, strictly.
//!
//! poem-openapi's `String` accepts a JSON number or boolean and turns it into text
//! (`{"subject": 123}` became the subject `"123"`), and an object's parse stops at its first
//! bad field. So before `T` is parsed, the value is checked against the schema `T` documents —
//! types, `null`s, required fields, enums, lengths, ranges, patterns and formats — and every
//! field that fails is named in the 422's `errors`. What the document says is then exactly what
//! is enforced, in one place for every service.
//!
//! The parse error is kept until the handler asks for the value (`into_inner`), so
//! a handler can first decide whether the caller may see the resource at all: a body error must
//! not tell a caller that a ticket they may not see exists (400/422 instead of 404).

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::{Json, Payload as _},
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::ParseFromJSON,
};
use serde_json::Value;

use crate::problem::{ApiError, ApiResult, FieldError};

/// A JSON body, required (`OPTIONAL = false`, [`JsonBody`]) or one the client may leave out
/// ([`OptionalJsonBody`], `required: false` in the document): for the latter, no body at all
/// (zero bytes) is `None`; anything else, whitespace included, is checked as strictly.
pub struct JsonBodyOf<T, const OPTIONAL: bool>(Result<Option<T>, ApiError>);

pub type JsonBody<T> = JsonBodyOf<T, false>;
pub type OptionalJsonBody<T> = JsonBodyOf<T, true>;

impl<T> JsonBodyOf<T, false> {
    /// The parsed body, or the 400/415/422 its parsing earned.
    pub fn into_inner(self) -> ApiResult<T> {
        // An empty body is not JSON, so `parse` has already made it a 400.
        self.0?
            .ok_or_else(|| ApiError::BadRequest("The request needs a JSON body.".into()))
    }
}

impl<T> JsonBodyOf<T, true> {
    /// The parsed body if one was sent, or the 400/415/422 its parsing earned.
    pub fn into_inner(self) -> ApiResult<Option<T>> {
        self.0
    }
}

impl<'a, T: ParseFromJSON, const OPTIONAL: bool> ApiExtractor<'a> for JsonBodyOf<T, OPTIONAL> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Json<T>>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: !OPTIONAL,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // Reading can fail only for transport reasons or the size limit: those stay immediate.
        let data = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        if OPTIONAL && data.is_empty() {
            return Ok(Self(Ok(None)));
        }
        Ok(Self(parse(request.content_type(), &data).map(Some)))
    }
}

/// Parses `data` as a `T`: 415 for another content type, 400 for bad JSON, 422 naming every
/// field that does not match `T`'s schema.
pub fn parse<T: ParseFromJSON>(content_type: Option<&str>, data: &[u8]) -> ApiResult<T> {
    match content_type {
        Some(ct) if <Json<T>>::check_content_type(ct) => {}
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "The body must be JSON (Content-Type: application/json).".into(),
            ));
        }
    }
    let value: Value = serde_json::from_slice(data)
        .map_err(|e| ApiError::BadRequest(format!("The body is not valid JSON: {e}")))?;
    let errors = check::<T>(&value);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    T::parse_from_json(Some(value)).map_err(|e| {
        // The schema check passed, so this is a rule the schema cannot state.
        ApiError::field("body", e.into_message())
    })
}

/// Every way `value` departs from `T`'s schema, one item per field.
pub fn check<T: ParseFromJSON>(value: &Value) -> Vec<FieldError> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let mut errors = Vec::new();
    check_value(&registry, &T::schema_ref(), value, "", &mut errors);
    errors
}

fn resolve<'r>(registry: &'r Registry, schema: &'r MetaSchemaRef) -> Option<&'r MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(s) => Some(s),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field_name(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

fn check_value(
    registry: &Registry,
    schema_ref: &MetaSchemaRef,
    value: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    let Some(schema) = resolve(registry, schema_ref) else {
        return;
    };
    // `allOf: [$ref]` is how poem-openapi adds a description to a referenced object.
    if schema.ty.is_empty() && !schema.all_of.is_empty() {
        if value.is_null() && schema.nullable {
            return;
        }
        for part in &schema.all_of {
            check_value(registry, part, value, path, errors);
        }
        return;
    }
    let mut fail = |message: String| errors.push(FieldError::new(field_name(path), message));
    if value.is_null() {
        if !schema.nullable && !schema.ty.is_empty() {
            fail("must not be null".to_owned());
        }
        return;
    }
    if !schema.enum_items.is_empty() && !schema.enum_items.contains(value) {
        let allowed: Vec<String> = schema.enum_items.iter().map(Value::to_string).collect();
        fail(format!("must be one of {}", allowed.join(", ")));
        return;
    }
    match (schema.ty, value) {
        ("string", Value::String(s)) => check_string(schema, s, &mut fail),
        ("integer", Value::Number(n)) => match n
            .as_i64()
            .map(|v| v as f64)
            .or(n.as_u64().map(|v| v as f64))
        {
            Some(v) => check_range(schema, v, &mut fail),
            None => fail("must be a whole number".to_owned()),
        },
        ("number", Value::Number(n)) => {
            check_range(schema, n.as_f64().unwrap_or(f64::NAN), &mut fail)
        }
        ("boolean", Value::Bool(_)) => {}
        ("array", Value::Array(items)) => {
            if let Some(min) = schema.min_items
                && items.len() < min
            {
                fail(format!("must have at least {min} items"));
            }
            if let Some(max) = schema.max_items
                && items.len() > max
            {
                fail(format!("must have at most {max} items"));
            }
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    check_value(registry, item_schema, item, &format!("{path}[{i}]"), errors);
                }
            }
        }
        ("object", Value::Object(map)) => {
            for required in &schema.required {
                if !map.contains_key(*required) {
                    errors.push(FieldError::new(join(path, required), "is required"));
                }
            }
            for (name, prop) in &schema.properties {
                if let Some(v) = map.get(*name) {
                    check_value(registry, prop, v, &join(path, name), errors);
                }
            }
        }
        ("", _) => {}
        (ty, other) => fail(format!("must be {}, not {}", article(ty), json_type(other))),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn article(ty: &str) -> String {
    match ty {
        "integer" => "an integer".to_owned(),
        "array" => "an array".to_owned(),
        "object" => "an object".to_owned(),
        other => format!("a {other}"),
    }
}

/// The first rule `s` breaks (one message per field).
fn check_string(schema: &MetaSchema, s: &str, fail: &mut impl FnMut(String)) {
    if let Some(message) = string_problem(schema, s) {
        fail(message);
    }
}

fn string_problem(schema: &MetaSchema, s: &str) -> Option<String> {
    let chars = s.chars().count();
    match (schema.min_length, schema.max_length) {
        (Some(min), Some(max)) if chars < min || chars > max => {
            return Some(format!("must be {min} to {max} characters"));
        }
        (Some(min), None) if chars < min => {
            return Some(format!("must be at least {min} characters"));
        }
        (None, Some(max)) if chars > max => {
            return Some(format!("must be at most {max} characters"));
        }
        _ => {}
    }
    if let Some(pattern) = &schema.pattern
        && !regex::Regex::new(pattern).is_ok_and(|re| re.is_match(s))
    {
        return Some(format!("must match the pattern {pattern}"));
    }
    match schema.format {
        Some("uuid") if uuid::Uuid::parse_str(s).is_err() => Some("must be a UUID".to_owned()),
        Some("date-time") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
            Some("must be an RFC 3339 date-time".to_owned())
        }
        _ => None,
    }
}

fn check_range(schema: &MetaSchema, v: f64, fail: &mut impl FnMut(String)) {
    let low = schema
        .minimum
        .filter(|min| v < *min || (schema.exclusive_minimum == Some(true) && v <= *min));
    let high = schema
        .maximum
        .filter(|max| v > *max || (schema.exclusive_maximum == Some(true) && v >= *max));
    if low.is_some() || high.is_some() {
        match (schema.minimum, schema.maximum) {
            (Some(min), Some(max)) => fail(format!("must be between {min} and {max}")),
            (Some(min), None) => fail(format!("must be at least {min}")),
            (None, Some(max)) => fail(format!("must be at most {max}")),
            (None, None) => {}
        }
    }
}
