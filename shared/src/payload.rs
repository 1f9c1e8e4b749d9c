//! Every event's arguments, written once, both ways: serde (the server's)
//! and the lean codec (the page's, `sio_proto::read`, no serde_json). This
//! is what `#[derive(Event)]` with `#[event(payload = crate::payload)]` calls.
//!
//! An event carries one payload as its one argument (`["identify","Ada"]`),
//! or none (a unit variant, or an `Option` payload that is `None`:
//! `["connected"]`). Acks are the same: one argument.

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use crate::events::{EventError, PayloadError};
pub use serde_json::Value;
use sio_proto::read::{FromJson, ToJson};
pub use sio_proto::RawJson;

/// Decodes an event's one payload. With no argument, a payload that reads
/// `null` (an `Option`) is `None`; anything else is missing. `expect` is
/// the argument in a person's words (`"a name (a string)"`): given, a
/// value of the wrong type says what was expected and what came.
///
/// # Errors
/// Missing, more than one argument, or a value the payload refuses.
pub fn decode<T: DeserializeOwned>(
    args: &[Value],
    expect: Option<&'static str>,
) -> Result<T, PayloadError> {
    match args {
        [] => T::deserialize(Value::Null).map_err(|_| PayloadError::Missing {
            expected: expect.unwrap_or("one argument"),
        }),
        [value] => T::deserialize(value).map_err(|err| match expect {
            Some(expected) => PayloadError::WrongType {
                expected,
                got: json_kind(value),
            },
            None => PayloadError::Invalid(err.to_string()),
        }),
        more => Err(PayloadError::TooMany { got: more.len() }),
    }
}

/// [`decode`]'s lean twin: the one payload from raw JSON text, with the
/// same rules and the same errors' shapes.
///
/// # Errors
/// Missing, more than one argument, or a value the payload refuses.
pub fn read<T: FromJson, A: AsRef<str>>(
    args: &[A],
    expect: Option<&'static str>,
) -> Result<T, PayloadError> {
    match args {
        [] => T::absent().ok_or(PayloadError::Missing {
            expected: expect.unwrap_or("one argument"),
        }),
        [text] => T::from_json(text.as_ref()).map_err(|err| match expect {
            Some(expected) => PayloadError::WrongType {
                expected,
                got: text_kind(text.as_ref()),
            },
            None => PayloadError::Invalid(err.0),
        }),
        more => Err(PayloadError::TooMany { got: more.len() }),
    }
}

/// [`decode_none`]'s lean twin.
///
/// # Errors
/// [`PayloadError::TooMany`] for any argument.
pub fn read_none<A>(args: &[A]) -> Result<(), PayloadError> {
    match args.len() {
        0 => Ok(()),
        got => Err(PayloadError::TooMany { got }),
    }
}

/// [`encode`]'s lean twin: the one payload as raw JSON text.
pub fn write<T: ToJson>(payload: &T) -> Vec<RawJson> {
    vec![payload.to_raw_json()]
}

/// [`json_kind`] of raw JSON text (checked JSON: the first byte says).
fn text_kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// A unit event takes no argument.
///
/// # Errors
/// [`PayloadError::TooMany`] for any.
pub fn decode_none(args: &[Value]) -> Result<(), PayloadError> {
    match args.len() {
        0 => Ok(()),
        got => Err(PayloadError::TooMany { got }),
    }
}

/// An event's one payload as its arguments: none when it writes `null`.
pub fn encode<T: Serialize>(payload: &T) -> Vec<Value> {
    match to_json(payload) {
        Value::Null => Vec::new(),
        value => vec![value],
    }
}

/// An event's one payload as JSON text, written straight from the payload:
/// `None` when it writes `null` (no argument).
pub fn encode_text<T: Serialize>(payload: &T) -> Option<String> {
    // Our own types always serialize; a failure would be a bug in this crate.
    serde_json::to_string(payload)
        .ok()
        .filter(|text| text != "null")
}

/// `["name", args…]`.
pub fn join(name: &str, args: Vec<Value>) -> Value {
    let mut array = Vec::with_capacity(args.len() + 1);
    array.push(Value::String(name.to_owned()));
    array.extend(args);
    Value::Array(array)
}

/// The name and the arguments of an event array.
///
/// # Errors
/// [`EventError::NotAnEventArray`] unless it is an array that starts with a string.
pub fn split(value: &Value) -> Result<(&str, &[Value]), EventError> {
    match value.as_array().map(Vec::as_slice) {
        Some([Value::String(name), args @ ..]) => Ok((name.as_str(), args)),
        _ => Err(EventError::NotAnEventArray),
    }
}

/// Our own types always serialize; a failure here is a bug in this crate.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The one argument of an ACK.
pub(crate) fn single_arg(args: &[Value]) -> Result<&Value, PayloadError> {
    match args {
        [] => Err(PayloadError::Missing {
            expected: "one argument",
        }),
        [value] => Ok(value),
        more => Err(PayloadError::TooMany { got: more.len() }),
    }
}

/// A person's word for a JSON value's type, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
