//! Just enough JSON for the wire: check that a text is one JSON value, cut
//! an array into the raw text of its elements, read a string literal, list
//! an object's members — without building a tree.
//!
//! Why not serde_json: a Socket.IO client must split every frame (the event
//! name from its arguments, an ack's id from its answers) but the
//! arguments' meaning belongs to the application. Handing the application
//! raw JSON text keeps a full JSON parser out of the session, so a browser
//! build can decode arguments with whatever it likes (the browser's own
//! `JSON.parse`, or serde where size does not matter).
//!
//! The grammar is RFC 8259's, strictly: no comments, no trailing commas, no
//! leading zeros, no raw control characters in strings, and no lone UTF-16
//! surrogates in `\u` escapes (serde_json refuses those too). Nesting is
//! limited to [`MAX_DEPTH`] levels, and nothing here panics or recurses on
//! input: the scanner keeps its own stack.

/// The deepest nesting accepted (serde_json's default recursion limit).
pub const MAX_DEPTH: usize = 128;

/// Why a text is not the JSON expected. `at` is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("JSON ends early")]
    Eof,
    #[error("unexpected {} at byte {at} of the JSON", QuotedChar(*found))]
    Unexpected { at: usize, found: char },
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("invalid escape or lone surrogate in a JSON string at byte {at}")]
    BadEscape { at: usize },
    #[error("expected a JSON {expected}")]
    WrongType { expected: &'static str },
}

/// Checks that `text` is exactly one JSON value (whitespace around allowed).
pub fn validate(text: &str) -> Result<(), JsonError> {
    let mut scanner = Scanner::new(text);
    scanner.value()?;
    scanner.end()
}

/// The raw text of each element of the JSON array `text`, each a valid
/// JSON value with its surrounding whitespace trimmed.
pub fn array_elements(text: &str) -> Result<Vec<&str>, JsonError> {
    container(text, b'[', b']', "array", |scanner| scanner.raw_value())
}

/// The value of the JSON string literal `text` (quotes included).
pub fn string(text: &str) -> Result<String, JsonError> {
    let mut scanner = Scanner::new(text);
    scanner.skip_ws();
    if scanner.peek() != Some(b'"') {
        return Err(JsonError::WrongType { expected: "string" });
    }
    let value = scanner.string(true)?.unwrap_or_default();
    scanner.end()?;
    Ok(value)
}

/// Each member of the JSON object `text`: its key (decoded) and the raw
/// text of its value, in order (a repeated key appears twice).
pub fn object_members(text: &str) -> Result<Vec<(String, &str)>, JsonError> {
    container(text, b'{', b'}', "object", |scanner| {
        if scanner.peek() != Some(b'"') {
            return Err(scanner.unexpected_here());
        }
        let key = scanner.string(true)?.unwrap_or_default();
        scanner.skip_ws();
        scanner.expect(b':')?;
        scanner.skip_ws();
        Ok((key, scanner.raw_value()?))
    })
}

/// The items of the container `text` (`open` … `close`, comma-separated),
/// each read by `item` after its leading whitespace; nothing may follow.
fn container<'a, T>(
    text: &'a str,
    open: u8,
    close: u8,
    expected: &'static str,
    mut item: impl FnMut(&mut Scanner<'a>) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    let mut scanner = Scanner::new(text);
    scanner.skip_ws();
    if scanner.peek() != Some(open) {
        return Err(JsonError::WrongType { expected });
    }
    scanner.pos += 1;
    let mut items = Vec::new();
    scanner.skip_ws();
    if scanner.peek() == Some(close) {
        scanner.pos += 1;
    } else {
        loop {
            scanner.skip_ws();
            items.push(item(&mut scanner)?);
            scanner.skip_ws();
            match scanner.next_byte()? {
                b',' => continue,
                byte if byte == close => break,
                other => return Err(scanner.unexpected_at(scanner.pos - 1, other)),
            }
        }
    }
    scanner.end()?;
    Ok(items)
}

/// Writes `value` as a JSON string literal.
pub fn quote(value: &str, out: &mut String) {
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[n >> 4]));
                out.push(char::from(HEX[n & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Shows a text as a JSON string literal (quoted, control characters
/// escaped), for messages about untrusted input: as safe to log as `{:?}`,
/// without `Debug`'s Unicode tables in a wasm build.
pub struct Quoted<'a>(pub &'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::with_capacity(self.0.len() + 2);
        quote(self.0, &mut text);
        f.write_str(&text)
    }
}

/// [`Quoted`] for one character.
pub struct QuotedChar(pub char);

impl std::fmt::Display for QuotedChar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Quoted(self.0.encode_utf8(&mut [0; 4])).fmt(f)
    }
}

/// A cursor over the bytes of a JSON text.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// What an open container still expects, on the scanner's own stack.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Array,
    Object,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Result<u8, JsonError> {
        let byte = self.peek().ok_or(JsonError::Eof)?;
        self.pos += 1;
        Ok(byte)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, wanted: u8) -> Result<(), JsonError> {
        match self.next_byte()? {
            byte if byte == wanted => Ok(()),
            other => Err(self.unexpected_at(self.pos - 1, other)),
        }
    }

    /// Only whitespace may follow.
    fn end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected_here()),
        }
    }

    fn unexpected_here(&self) -> JsonError {
        match self.peek() {
            None => JsonError::Eof,
            Some(byte) => self.unexpected_at(self.pos, byte),
        }
    }

    fn unexpected_at(&self, at: usize, _byte: u8) -> JsonError {
        let found = self.text[at..].chars().next().unwrap_or('\u{fffd}');
        JsonError::Unexpected { at, found }
    }

    /// One value, as the raw text it spans.
    fn raw_value(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        self.value()?;
        Ok(&self.text[start..self.pos])
    }

    /// One value of any kind, nested containers included, iteratively.
    fn value(&mut self) -> Result<(), JsonError> {
        let mut stack: Vec<Open> = Vec::new();
        loop {
            // Expecting a value here.
            self.skip_ws();
            match self.peek().ok_or(JsonError::Eof)? {
                b'[' | b'{' => {
                    let open = if self.next_byte()? == b'[' {
                        Open::Array
                    } else {
                        Open::Object
                    };
                    if stack.len() >= MAX_DEPTH {
                        return Err(JsonError::TooDeep);
                    }
                    stack.push(open);
                    self.skip_ws();
                    let close = if open == Open::Array { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        stack.pop();
                    } else {
                        if open == Open::Object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string(false)?;
                }
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return Err(self.unexpected_here()),
            }
            // A value is complete: close containers or move to the next element.
            loop {
                let Some(&open) = stack.last() else {
                    return Ok(());
                };
                self.skip_ws();
                let close = if open == Open::Array { b']' } else { b'}' };
                match self.next_byte()? {
                    b',' => {
                        if open == Open::Object {
                            self.key()?;
                        }
                        break;
                    }
                    byte if byte == close => {
                        stack.pop();
                    }
                    other => return Err(self.unexpected_at(self.pos - 1, other)),
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.unexpected_here());
        }
        self.string(false)?;
        self.skip_ws();
        self.expect(b':')
    }

    fn literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.unexpected_here())
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected_here()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected_here());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected_here());
            }
        }
        Ok(())
    }

    /// A string literal; its decoded value when `decode`.
    fn string(&mut self, decode: bool) -> Result<Option<String>, JsonError> {
        self.expect(b'"')?;
        let mut out = decode.then(String::new);
        let mut run = self.pos;
        loop {
            let at = self.pos;
            match self.next_byte()? {
                b'"' => {
                    if let Some(out) = &mut out {
                        out.push_str(&self.text[run..at]);
                    }
                    return Ok(out);
                }
                b'\\' => {
                    if let Some(out) = &mut out {
                        out.push_str(&self.text[run..at]);
                    }
                    let ch = self.escape(at)?;
                    if let Some(out) = &mut out {
                        out.push(ch);
                    }
                    run = self.pos;
                }
                0x00..=0x1f => return Err(self.unexpected_at(at, 0)),
                _ => {}
            }
        }
    }

    /// The character of the escape starting at `at` (after its backslash).
    fn escape(&mut self, at: usize) -> Result<char, JsonError> {
        let bad = JsonError::BadEscape { at };
        Ok(match self.next_byte()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4().ok_or(bad.clone())?;
                match first {
                    0xD800..=0xDBFF => {
                        if self.next_byte()? != b'\\' || self.next_byte()? != b'u' {
                            return Err(bad);
                        }
                        let second = self.hex4().ok_or(bad.clone())?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(bad);
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(code).ok_or(bad)?
                    }
                    0xDC00..=0xDFFF => return Err(bad),
                    code => char::from_u32(code).ok_or(bad)?,
                }
            }
            _ => return Err(bad),
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let mut value = 0;
        for &d in digits {
            value = value * 16 + char::from(d).to_digit(16)?;
        }
        self.pos += 4;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_values() {
        for text in [
            "0",
            "-0",
            "1.5e-3",
            "-12E+2",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83e\\udd80\"",
            "[]",
            "{}",
            " [ 1 , [2,{\"a\":[{}]}] , \"x\" ] ",
            "{\"a\":1,\"a\":2}",
            "\"Zoë 🦀\"",
        ] {
            assert_eq!(validate(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn invalid_values() {
        for text in [
            "",
            " ",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "tru",
            "nul",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "\"tab\there\"",
            "\"unterminated",
            "[",
            "{",
            "1 2",
            "[1]]",
            "// no",
            "NaN",
            "'single'",
        ] {
            assert!(validate(text).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(validate(&ok), Ok(()));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(validate(&deep), Err(JsonError::TooDeep));
        // A million opening brackets: an error, not a stack overflow.
        assert_eq!(validate(&"[".repeat(1_000_000)), Err(JsonError::TooDeep));
    }

    #[test]
    fn arrays_split_into_raw_elements() {
        assert_eq!(
            array_elements(r#"["identify", "Ada" ,{"a":[1,"]"]}, null]"#).unwrap(),
            [r#""identify""#, r#""Ada""#, r#"{"a":[1,"]"]}"#, "null"]
        );
        assert_eq!(array_elements(" [ ] ").unwrap(), Vec::<&str>::new());
        assert_eq!(
            array_elements("{}"),
            Err(JsonError::WrongType { expected: "array" })
        );
        assert!(array_elements("[1,2").is_err());
        assert!(array_elements("[1] x").is_err());
    }

    #[test]
    fn strings_decode() {
        assert_eq!(
            string(r#""Zo\u00eb \ud83e\udd80 \"q\"""#).unwrap(),
            "Zoë 🦀 \"q\""
        );
        assert_eq!(string(r#""plain""#).unwrap(), "plain");
        assert_eq!(
            string("1"),
            Err(JsonError::WrongType { expected: "string" })
        );
        assert!(string(r#""a" "b""#).is_err());
    }

    #[test]
    fn objects_list_their_members() {
        let members =
            object_members(r#"{"sid":"abc","pingInterval":25000,"upgrades":[]}"#).unwrap();
        assert_eq!(
            members,
            [
                ("sid".to_owned(), r#""abc""#),
                ("pingInterval".to_owned(), "25000"),
                ("upgrades".to_owned(), "[]"),
            ]
        );
        assert_eq!(object_members("{ }").unwrap(), []);
        assert!(object_members(r#"{"a":1,}"#).is_err());
    }

    #[test]
    fn quoting_round_trips_through_the_decoder() {
        for value in [
            "",
            "Ada",
            "quote \" back \\ slash",
            "ctl \u{1} \n \t",
            "Zoë 🦀",
            "\u{2028}",
        ] {
            let mut quoted = String::new();
            quote(value, &mut quoted);
            assert_eq!(string(&quoted).unwrap(), value, "{quoted}");
            assert_eq!(
                serde_json::from_str::<String>(&quoted).unwrap(),
                value,
                "serde_json agrees: {quoted}"
            );
        }
    }

    /// The scanner and serde_json agree on what is JSON, for any short text
    /// over the characters JSON is made of.
    #[test]
    fn agrees_with_serde_json() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(4000), |(text in r#"[\[\]{}",:0-9eE.+\-tfrulnas\\ ]{0,24}"#)| {
            let ours = validate(&text).is_ok();
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", text);
        });
    }
}
