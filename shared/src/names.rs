//! The rules a display name must follow, defined once for both sides.
//!
//! The browser runs them as the user types (so an invalid name is never sent)
//! and the server runs them again before storing anything (so a hand-written
//! client cannot bypass them). The server calls [`validate_name`]; the browser
//! normalises with its own `String.prototype.normalize("NFC")` (sparing the
//! page the Unicode tables) and calls [`validate_normalised`]. The server's
//! verdict is the one that counts.

use std::fmt;

/// The longest name accepted, counted in Unicode scalar values after NFC.
pub const MAX_NAME_CHARS: usize = 32;

/// Why a name was refused.
///
/// Each variant carries what a person needs to fix the name; [`fmt::Display`]
/// gives the human-readable sentence shown in the page and sent in acks, and
/// [`NameError::code`] a stable machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Nothing left after trimming whitespace.
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters after normalisation.
    TooLong { chars: usize },
    /// A control character (newline, tab, NUL, ...), which would break layouts and logs.
    ControlCharacter { ch: char, position: usize },
    /// A bidirectional override or isolate, which can make a name display as something else.
    BidiOverride { ch: char, position: usize },
}

impl NameError {
    /// A stable identifier for programs (the message may be reworded; this may not).
    pub fn code(&self) -> &'static str {
        match self {
            NameError::Empty => "name_empty",
            NameError::TooLong { .. } => "name_too_long",
            NameError::ControlCharacter { .. } => "name_control_character",
            NameError::BidiOverride { .. } => "name_bidi_override",
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "Please enter a name."),
            NameError::TooLong { chars } => write!(
                f,
                "Names can be at most {MAX_NAME_CHARS} characters long (this one has {chars})."
            ),
            NameError::ControlCharacter { ch, position } => write!(
                f,
                "Names cannot contain control characters (U+{:04X} at position {position}).",
                u32::from(*ch)
            ),
            NameError::BidiOverride { ch, position } => write!(
                f,
                "Names cannot contain text-direction override characters (U+{:04X} at position {position}).",
                u32::from(*ch)
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a name and returns the form to store: NFC-normalised and trimmed.
///
/// Positions in errors are 1-based character positions in the normalised,
/// trimmed name, which is what a person sees in the text field.
#[cfg(feature = "nfc")]
pub fn validate_name(raw: &str) -> Result<String, NameError> {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    // Most names (all ASCII ones) are already NFC: the quick check says so
    // without building a copy, on the server's per-identify path.
    if is_nfc_quick(raw.chars()) == IsNormalized::Yes {
        return validate_normalised(raw);
    }
    let normalised: String = raw.nfc().collect();
    validate_normalised(&normalised)
}

/// The same rules for a name the caller has already NFC-normalised.
pub fn validate_normalised(normalised: &str) -> Result<String, NameError> {
    let name = normalised.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    for (index, ch) in name.chars().enumerate() {
        let position = index + 1;
        if is_bidi_override(ch) {
            return Err(NameError::BidiOverride { ch, position });
        }
        if ch.is_control() {
            return Err(NameError::ControlCharacter { ch, position });
        }
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { chars });
    }
    Ok(name.to_owned())
}

/// U+202A–U+202E (embeddings and overrides) and U+2066–U+2069 (isolates).
fn is_bidi_override(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(all(test, feature = "nfc"))]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts() {
        assert_eq!(validate_name("  Ada  ").unwrap(), "Ada");
        assert_eq!(validate_name("李小龍").unwrap(), "李小龍");
    }

    #[test]
    fn normalises_to_nfc_before_counting() {
        // "e" + combining acute (2 scalars) becomes "é" (1 scalar).
        let decomposed = "e\u{0301}".repeat(MAX_NAME_CHARS);
        let stored = validate_name(&decomposed).unwrap();
        assert_eq!(stored.chars().count(), MAX_NAME_CHARS);
        assert_eq!(stored, "\u{00E9}".repeat(MAX_NAME_CHARS));
    }

    #[test]
    fn length_bounds() {
        assert!(validate_name(&"a".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(
            validate_name(&"a".repeat(MAX_NAME_CHARS + 1)),
            Err(NameError::TooLong { chars: 33 })
        );
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name(" \t\n "), Err(NameError::Empty));
    }

    #[test]
    fn rejects_control_and_bidi() {
        assert_eq!(
            validate_name("A\u{0007}da"),
            Err(NameError::ControlCharacter {
                ch: '\u{7}',
                position: 2
            })
        );
        assert_eq!(
            validate_name("Ada\nLovelace").unwrap_err().code(),
            "name_control_character"
        );
        for ch in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let err = validate_name(&format!("ab{ch}c")).unwrap_err();
            assert_eq!(err, NameError::BidiOverride { ch, position: 3 });
        }
        // Neighbours of the forbidden ranges are fine.
        assert!(validate_name("a\u{2029}b").is_ok());
        assert!(validate_name("a\u{206A}b").is_ok());
    }

    #[test]
    fn html_is_just_text() {
        let name = "<img src=x onerror=alert(1)>";
        assert_eq!(validate_name(name).unwrap(), name);
    }

    #[test]
    fn messages_are_human_readable() {
        assert_eq!(
            NameError::TooLong { chars: 40 }.to_string(),
            "Names can be at most 32 characters long (this one has 40)."
        );
        assert!(NameError::BidiOverride {
            ch: '\u{202E}',
            position: 1
        }
        .to_string()
        .contains("U+202E"));
    }
}
