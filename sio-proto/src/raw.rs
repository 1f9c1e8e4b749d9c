//! [`RawJson`]: one JSON value kept as text.
//!
//! Socket.IO frames carry JSON, but what the arguments *mean* belongs to the
//! application. The codec and the session check the text once (so nothing
//! malformed reaches the application) and hand it over as is; the
//! application decodes it with whatever it likes — serde natively, the
//! browser's own `JSON.parse` where page weight matters.

use std::fmt;

use crate::json::{self, JsonError};

/// The text of exactly one valid JSON value, without surrounding whitespace.
///
/// Equality is textual: `[1,2]` and `[1, 2]` are different `RawJson`s. The
/// text is passed through unchanged in both directions, so a frame decoded
/// and encoded again is byte for byte the same.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Checks `text` and keeps it, trimmed of surrounding whitespace.
    ///
    /// # Errors
    /// The [`JsonError`] of the first thing that is not RFC 8259 JSON.
    pub fn new(text: &str) -> Result<Self, JsonError> {
        json::validate(text)?;
        Ok(Self::trusted(text))
    }

    /// A JSON string literal for `value`.
    #[must_use]
    pub fn string(value: &str) -> Self {
        let mut text = String::with_capacity(value.len() + 2);
        json::quote(value, &mut text);
        RawJson(text.into_boxed_str())
    }

    /// Text the scanner has already checked.
    pub(crate) fn trusted(text: &str) -> Self {
        RawJson(text.trim_matches(is_json_whitespace).into())
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value is a JSON object.
    #[must_use]
    pub fn is_object(&self) -> bool {
        self.0.starts_with('{')
    }

    /// The value of a JSON string, or `None` for any other kind of value.
    #[must_use]
    pub fn as_string(&self) -> Option<String> {
        json::string(&self.0).ok()
    }
}

/// A [`RawJson`] known to be a JSON object: what a CONNECT may carry as auth.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JsonObject(RawJson);

impl TryFrom<RawJson> for JsonObject {
    type Error = JsonError;

    /// Accepts objects only.
    fn try_from(raw: RawJson) -> Result<Self, JsonError> {
        if raw.is_object() {
            Ok(JsonObject(raw))
        } else {
            Err(JsonError::WrongType { expected: "object" })
        }
    }
}

impl From<JsonObject> for RawJson {
    fn from(object: JsonObject) -> RawJson {
        object.0
    }
}

impl JsonObject {
    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four whitespace characters JSON allows between tokens.
fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The JSON text, for readers that take any text.
impl AsRef<str> for RawJson {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Conversions to and from serde types, for applications that use serde.
#[cfg(feature = "serde")]
impl RawJson {
    /// Serialises `value` as compact JSON.
    ///
    /// # Errors
    /// serde_json's error when `value` cannot be written as JSON (a map with
    /// non-string keys, a failing `Serialize` impl).
    pub fn from_serialize<T: serde::Serialize + ?Sized>(
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(RawJson(serde_json::to_string(value)?.into_boxed_str()))
    }

    /// Decodes the text into `T`.
    ///
    /// # Errors
    /// serde_json's error when the value does not have `T`'s shape.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_checked_and_trimmed() {
        assert_eq!(RawJson::new(" [1, 2] \n").unwrap().as_str(), "[1, 2]");
        assert!(RawJson::new("[1,").is_err());
        assert!(RawJson::new("1 2").is_err());
    }

    #[test]
    fn strings_are_quoted_and_read_back() {
        let raw = RawJson::string("a \"b\" \\ é\n");
        assert_eq!(raw.as_str(), r#""a \"b\" \\ é\n""#);
        assert_eq!(raw.as_string().as_deref(), Some("a \"b\" \\ é\n"));
        assert_eq!(RawJson::new("3").unwrap().as_string(), None);
    }
}
