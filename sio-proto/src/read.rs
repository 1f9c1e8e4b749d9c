//! Typed values from JSON text and back, without serde: the lean codec a
//! browser build can afford, for the few shapes events carry (strings,
//! unsigned integers, booleans, options, lists, objects with named fields,
//! newtypes and internally tagged enums).
//!
//! Why it exists: serde_json's parser (and serde's buffering for tagged
//! enums) weighs about 11 KB of gzip in a page. These readers walk the
//! scanner's raw text instead ([`crate::json`]). An app does not write them
//! by hand: `events-derive`'s `#[derive(FromJson, ToJson)]` writes them from
//! the same type definition (and the same `#[serde(…)]` attributes) its
//! serde derives read, and a property test holds the two readings equal.
//!
//! The readings follow serde_json's: a missing `Option` field is `None`, a
//! `#[serde(default)]` field may be absent but not `null`, unknown fields
//! are ignored, a duplicate field is an error, integers have no fraction
//! or exponent and must fit.

use crate::json::{self, JsonError};
use crate::raw::RawJson;

/// Why a value could not be read: a sentence naming the field, if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

impl ReadError {
    fn new(reason: &str) -> Self {
        ReadError(reason.to_owned())
    }
}

impl From<JsonError> for ReadError {
    fn from(err: JsonError) -> Self {
        match err {
            JsonError::WrongType { expected } => ReadError(["expected a ", expected].concat()),
            _ => ReadError::new("malformed JSON"),
        }
    }
}

/// A type read from one JSON value's text.
pub trait FromJson: Sized {
    /// Reads the value.
    ///
    /// # Errors
    /// What is wrong with it.
    fn from_json(text: &str) -> Result<Self, ReadError>;

    /// The value of an absent field, if it may be absent: `None` for an
    /// `Option` (as serde reads it), no value for anything else.
    fn absent() -> Option<Self> {
        None
    }
}

/// A type read from a JSON object's members (a struct), so it can also be
/// read from an object that carries more (an ack's `ok` beside them).
pub trait FromObject: Sized {
    /// Reads the fields.
    ///
    /// # Errors
    /// A missing, duplicate or unreadable field.
    fn from_object(object: &Object<'_>) -> Result<Self, ReadError>;
}

/// A type written as JSON text.
pub trait ToJson {
    /// Appends the JSON text of `self` to `out`.
    fn write_json(&self, out: &mut String);

    /// The JSON text of `self`, as [`RawJson`].
    fn to_raw_json(&self) -> RawJson {
        let mut text = String::new();
        self.write_json(&mut text);
        RawJson::trusted(&text)
    }
}

/// A JSON object's members, read once; keys are unique (as serde insists).
#[derive(Debug)]
pub struct Object<'a> {
    members: Vec<(String, &'a str)>,
}

impl<'a> Object<'a> {
    /// Lists the members of the object `text`.
    ///
    /// # Errors
    /// Not an object, malformed, or a key given twice.
    pub fn parse(text: &'a str) -> Result<Self, ReadError> {
        let members = json::object_members(text)?;
        for (index, (key, _)) in members.iter().enumerate() {
            if members[..index].iter().any(|(seen, _)| seen == key) {
                return Err(field_error("duplicate field `", key));
            }
        }
        Ok(Object { members })
    }

    /// The raw text of a member.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.members
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| *value)
    }

    /// A field: required, unless its type may be absent (an `Option`).
    ///
    /// # Errors
    /// Missing, or unreadable (the error names the field).
    pub fn field<T: FromJson>(&self, key: &str) -> Result<T, ReadError> {
        match self.get(key) {
            Some(text) => T::from_json(text).map_err(|err| within(key, err)),
            None => T::absent().ok_or_else(|| field_error("missing field `", key)),
        }
    }

    /// A `#[serde(default)]` field: absent is the default, `null` is read
    /// as the type reads it (an error for a number).
    ///
    /// # Errors
    /// Unreadable (the error names the field).
    pub fn defaulted<T: FromJson + Default>(&self, key: &str) -> Result<T, ReadError> {
        match self.get(key) {
            None => Ok(T::default()),
            Some(text) => T::from_json(text).map_err(|err| within(key, err)),
        }
    }
}

/// Reads a whole object as `T`.
///
/// # Errors
/// Not an object, or a field `T` refuses.
pub fn object<T: FromObject>(text: &str) -> Result<T, ReadError> {
    T::from_object(&Object::parse(text)?)
}

/// The error of an internally tagged enum's unknown tag: ``unknown `kind` "x"``.
#[must_use]
pub fn unknown_tag(tag_field: &str, tag: &str) -> ReadError {
    let mut text = ["unknown `", tag_field, "` "].concat();
    json::quote(tag, &mut text);
    ReadError(text)
}

impl FromJson for String {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        Ok(json::string(text)?)
    }
}

impl FromJson for bool {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ReadError::new("expected a boolean")),
        }
    }
}

/// A non-negative integer without fraction or exponent, as serde reads
/// into unsigned integers.
impl FromJson for u64 {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ReadError::new("expected a non-negative integer"));
        }
        text.parse()
            .map_err(|_| ReadError::new("integer out of range"))
    }
}

impl FromJson for u32 {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        u32::try_from(u64::from_json(text)?).map_err(|_| ReadError::new("integer out of range"))
    }
}

/// `null` is `None`, and so is an absent field.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        match text {
            "null" => Ok(None),
            text => T::from_json(text).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(text: &str) -> Result<Self, ReadError> {
        json::array_elements(text)?
            .into_iter()
            .map(T::from_json)
            .collect()
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        json::quote(self, out);
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        json::quote(self, out);
    }
}

fn field_error(prefix: &str, key: &str) -> ReadError {
    ReadError([prefix, key, "`"].concat())
}

/// Says which field a nested error is about.
fn within(key: &str, err: ReadError) -> ReadError {
    ReadError(["in `", key, "`: ", &err.0].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_serde_reads_them() {
        let object = Object::parse(r#"{"a":"x","n":7,"o":null,"l":[1,2]}"#).unwrap();
        assert_eq!(object.field::<String>("a"), Ok("x".to_owned()));
        assert_eq!(object.field::<u64>("n"), Ok(7));
        assert_eq!(object.field::<Option<u64>>("o"), Ok(None));
        assert_eq!(object.field::<Option<u64>>("absent"), Ok(None));
        assert_eq!(object.field::<Vec<u32>>("l"), Ok(vec![1, 2]));
        assert_eq!(object.defaulted::<u32>("absent"), Ok(0));
        assert_eq!(
            object.field::<u64>("absent"),
            Err(ReadError("missing field `absent`".into()))
        );
        assert_eq!(
            object.field::<u64>("a"),
            Err(ReadError("in `a`: expected a non-negative integer".into()))
        );
        assert!(
            object.defaulted::<u32>("o").is_err(),
            "null is not a default"
        );
        assert_eq!(
            Object::parse(r#"{"a":1,"a":2}"#).unwrap_err(),
            ReadError("duplicate field `a`".into())
        );
        assert_eq!(
            u32::from_json("4294967296"),
            Err(ReadError("integer out of range".into()))
        );
        assert!(u64::from_json("1.0").is_err() && u64::from_json("-1").is_err());
    }

    proptest::proptest! {
        /// Every string, controls, quotes, backslashes and non-BMP
        /// characters included, writes as serde_json reads it and reads
        /// back (the derived event strategies draw printable text only).
        #[test]
        fn strings_round_trip_as_serde_reads_them(
            text in "(\"|\\\\|\n|\u{1}|\u{1f}|\u{7f}|\u{2028}|é|😀|[a-z ]){0,16}",
        ) {
            let raw = text.to_raw_json();
            proptest::prop_assert_eq!(serde_json::from_str::<String>(raw.as_str()).ok(), Some(text.clone()));
            proptest::prop_assert_eq!(String::from_json(raw.as_str()), Ok(text));
        }
    }

    #[test]
    fn strings_write_quoted() {
        assert_eq!("a\"b".to_owned().to_raw_json().as_str(), r#""a\"b""#);
    }
}
