//! Raw event arguments, so handlers can answer bad payloads themselves.
//!
//! With a typed `Data<String>`, socketioxide skips the handler when the
//! payload does not deserialize, and a client that asked for an ack never gets
//! one. Taking every argument as JSON lets the shared decoder produce a clear
//! error instead (wrong type, missing, two arguments, ...).

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Every argument after the event name, untouched.
///
/// It deserializes through `deserialize_tuple`, which is how socketioxide's
/// parser knows to hand over *all* arguments instead of only the first.
#[derive(Debug, Clone, PartialEq)]
pub struct RawArgs(pub Vec<Value>);

impl<'de> Deserialize<'de> for RawArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

struct ArgsVisitor;

impl<'de> Visitor<'de> for ArgsVisitor {
    type Value = RawArgs;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the arguments of a Socket.IO event")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<RawArgs, S::Error> {
        let mut args = Vec::new();
        while let Some(value) = seq.next_element::<Value>()? {
            args.push(value);
        }
        Ok(RawArgs(args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_element() {
        let args: RawArgs = serde_json::from_str(r#"["Ada", 2, null]"#).unwrap();
        assert_eq!(args.0.len(), 3);
        let none: RawArgs = serde_json::from_str("[]").unwrap();
        assert!(none.0.is_empty());
    }
}
