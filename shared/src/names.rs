//! The rules a display name must follow, defined once for both sides.
//!
//! The browser runs them as the user types (so an invalid name is never sent)
//! and the server runs them again before storing anything (so a hand-written
//! client cannot bypass them). The server calls [`validate_name`]; the browser
//! normalises with its own `String.prototype.normalize("NFC")` (sparing the
//! page the Unicode tables) and calls [`validate_normalised`]. The server's
//! verdict is the one that counts.
//!
//! # The rules
//!
//! A name is NFC-normalised and trimmed, then:
//!
//! - it has 1–[`MAX_NAME_CHARS`] Unicode scalar values;
//! - it has no control characters: none of category Cc, and neither U+2028
//!   LINE SEPARATOR nor U+2029 PARAGRAPH SEPARATOR, which break lines (and
//!   log records) as a newline does;
//! - it has no bidirectional overrides or isolates (U+202A–U+202E,
//!   U+2066–U+2069);
//! - it has at least one *visible* character (`name_invisible`). Whitespace,
//!   combining marks, default-ignorable code points (Unicode's
//!   `Default_Ignorable_Code_Point`: zero-width space, joiners, word joiner,
//!   BOM, soft hyphen, Hangul fillers, variation selectors, tag characters…)
//!   and two blank-looking symbols (U+2800 BRAILLE PATTERN BLANK, U+1D159
//!   MUSICAL SYMBOL NULL NOTEHEAD) are not content: a name made only of them
//!   would be a blank chip;
//! - it has no invisible characters *inside* either
//!   (`name_invisible_character`). Default-ignorable code points and the two
//!   blank symbols are refused wherever they are: in a name they only serve
//!   to make two names look the same (`Ad\u{200B}a` and `Ada`) or to hide
//!   text. Four kinds are kept, and only where they change what is drawn:
//!   - ZWNJ and ZWJ (U+200C, U+200D) between two non-ASCII characters:
//!     Persian and Indic spelling (`علی‌رضا`, `क्‍ष`) and emoji sequences
//!     (`👩‍💻`). Next to ASCII they draw nothing, so `Ad\u{200D}a` is refused;
//!   - a variation selector right after a non-ASCII character (or a keycap
//!     base `0`–`9`, `#`, `*`): emoji presentation (`❤️`, `1️⃣`) and the
//!     ideographic variants of CJK family names (`葛󠄀`);
//!   - Mongolian free variation selectors and the vowel separator
//!     (U+180B–U+180F) right after a Mongolian letter;
//!   - tag characters in a well-formed emoji flag: U+1F3F4 WAVING BLACK FLAG,
//!     1–[`MAX_FLAG_TAGS`] tags `a`–`z`/`0`–`9`, then CANCEL TAG (`🏴󠁧󠁢󠁳󠁣󠁴󠁿`).
//!
//!   Whatever these still allow to look alike (a ZWJ between two Cyrillic
//!   letters, say) the server's look-alike key catches: it ignores every
//!   default-ignorable character (`server/src/state/lookalike.rs`);
//! - no character carries more than [`MAX_MARKS_PER_BASE`] combining marks
//!   (General_Category=Mark: Mn, Mc, Me) in a row (`name_too_many_marks`), so
//!   a stack of accents cannot spill out of its line. NFC has already merged
//!   a letter with its first accent where Unicode has a precomposed letter,
//!   so Vietnamese, Thai, Devanagari or Tibetan names need 1–3; marks are
//!   counted through the invisible characters kept above.
//!
//! The character tables here are small range lists (default-ignorables:
//! 17 ranges; marks: 333), checked against the Unicode tables of
//! `unicode-normalization` and `unicode-security` in the tests.

use events_derive::WireCode;
use std::fmt;

/// The longest name accepted, counted in Unicode scalar values after NFC.
pub const MAX_NAME_CHARS: usize = 32;

/// The most combining marks one character may carry in a row.
pub const MAX_MARKS_PER_BASE: usize = 4;

/// The most tag characters an emoji flag tag sequence may have (subdivision
/// codes such as `gbsct` have 3–7).
pub const MAX_FLAG_TAGS: usize = 7;

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
    /// A control character (newline, tab, NUL, line separator, ...), which
    /// would break layouts and logs.
    ControlCharacter { ch: char, position: usize },
    /// A bidirectional override or isolate, which can make a name display as something else.
    BidiOverride { ch: char, position: usize },
    /// Not one visible character: only invisible or blank ones (zero-width
    /// spaces, fillers, marks without a letter...), which show as a blank chip.
    Invisible,
    /// An invisible character inside a name, where it can only make the
    /// name look like another one.
    InvisibleCharacter { ch: char, position: usize },
    /// More than [`MAX_MARKS_PER_BASE`] combining marks on one character;
    /// `position` is the first one too many.
    TooManyMarks { position: usize },
    /// A character with no meaning of its own in shared text: private use
    /// (each font draws what it likes), a noncharacter (U+FFFF, U+FDD0…),
    /// or an interlinear annotation mark (U+FFF9–U+FFFB, which hide text).
    UnusableCharacter { ch: char, position: usize },
}

/// Which rule refused a name: stable for programs (the message may be
/// reworded; the code may not). The server sends it in identify refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, WireCode)]
pub enum NameCode {
    #[code("name_empty")]
    Empty,
    #[code("name_too_long")]
    TooLong,
    #[code("name_control_character")]
    ControlCharacter,
    #[code("name_bidi_override")]
    BidiOverride,
    #[code("name_invisible")]
    Invisible,
    #[code("name_invisible_character")]
    InvisibleCharacter,
    #[code("name_too_many_marks")]
    TooManyMarks,
    #[code("name_unusable_character")]
    UnusableCharacter,
}

impl NameError {
    /// The rule this error is about.
    pub fn code(&self) -> NameCode {
        match self {
            NameError::Empty => NameCode::Empty,
            NameError::TooLong { .. } => NameCode::TooLong,
            NameError::ControlCharacter { .. } => NameCode::ControlCharacter,
            NameError::BidiOverride { .. } => NameCode::BidiOverride,
            NameError::Invisible => NameCode::Invisible,
            NameError::InvisibleCharacter { .. } => NameCode::InvisibleCharacter,
            NameError::TooManyMarks { .. } => NameCode::TooManyMarks,
            NameError::UnusableCharacter { .. } => NameCode::UnusableCharacter,
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
            NameError::Invisible => write!(f, "Names need at least one visible character."),
            NameError::InvisibleCharacter { ch, position } => write!(
                f,
                "Names cannot contain invisible characters (U+{:04X} at position {position}).",
                u32::from(*ch)
            ),
            NameError::TooManyMarks { position } => write!(
                f,
                "Names can have at most {MAX_MARKS_PER_BASE} accents or marks on one character \
                 (one too many at position {position})."
            ),
            NameError::UnusableCharacter { ch, position } => write!(
                f,
                "Names cannot contain private-use or reserved characters (U+{:04X} at position {position}).",
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
        if ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}') {
            return Err(NameError::ControlCharacter { ch, position });
        }
        if is_unusable(ch) {
            return Err(NameError::UnusableCharacter { ch, position });
        }
    }
    // Trimmed, non-empty ASCII without controls starts with a visible
    // character and has no invisible ones or marks: most names stop here.
    if !name.is_ascii() {
        check_visibility(name)?;
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { chars });
    }
    Ok(name.to_owned())
}

/// Private use (U+E000–U+F8FF, planes 15 and 16), noncharacters
/// (U+FDD0–U+FDEF and the last two code points of every plane) and the
/// interlinear annotation marks U+FFF9–U+FFFB.
fn is_unusable(ch: char) -> bool {
    let c = u32::from(ch);
    matches!(c, 0xE000..=0xF8FF | 0xF_0000.. | 0xFDD0..=0xFDEF | 0xFFF9..=0xFFFB)
        || c & 0xFFFE == 0xFFFE
}

/// The visibility and mark rules (see the module documentation), for a
/// trimmed name without controls or overrides.
///
/// A name with no visible character at all is [`NameError::Invisible`],
/// whatever else it has; otherwise the first problem by position wins.
fn check_visibility(name: &str) -> Result<(), NameError> {
    if !name.chars().any(is_visible) {
        return Err(NameError::Invisible);
    }
    // Combining marks since the last base character.
    let mut marks = 0;
    // Inside an emoji flag: its first tag, that tag's position, tags so far.
    let mut flag: Option<(char, usize, usize)> = None;
    let mut prev: Option<char> = None;
    let mut chars = name.chars().zip(1..).peekable();
    while let Some((ch, position)) = chars.next() {
        let next = chars.peek().map(|&(c, _)| c);
        if let Some((first, at, tags)) = flag {
            if ch == CANCEL_TAG {
                flag = None;
            } else if is_flag_tag(ch) && tags < MAX_FLAG_TAGS {
                flag = Some((first, at, tags + 1));
            } else {
                // Not closed by CANCEL TAG, or too long: the flag is refused.
                return Err(NameError::InvisibleCharacter {
                    ch: first,
                    position: at,
                });
            }
            prev = Some(ch);
            continue;
        }
        if is_combining_mark(ch) {
            marks += 1;
            if marks > MAX_MARKS_PER_BASE {
                return Err(NameError::TooManyMarks { position });
            }
        } else if !is_default_ignorable(ch) {
            // A base character (a space too): a new stack starts.
            marks = 0;
        }
        if is_default_ignorable(ch) || is_blank_symbol(ch) {
            let kept = match ch {
                ZWNJ | ZWJ => {
                    (shapes(prev) || prev.is_some_and(is_variation_selector)) && shapes(next)
                }
                _ if is_variation_selector(ch) => prev.is_some_and(|p| {
                    shapes(Some(p)) || (ch <= '\u{FE0F}' && matches!(p, '0'..='9' | '#' | '*'))
                }),
                '\u{180B}'..='\u{180F}' => prev.is_some_and(is_mongolian_letter),
                _ if is_flag_tag(ch) && prev == Some(WAVING_BLACK_FLAG) => {
                    flag = Some((ch, position, 1));
                    true
                }
                _ => false,
            };
            if !kept {
                return Err(NameError::InvisibleCharacter { ch, position });
            }
        }
        prev = Some(ch);
    }
    match flag {
        Some((first, at, _)) => Err(NameError::InvisibleCharacter {
            ch: first,
            position: at,
        }),
        None => Ok(()),
    }
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';
const WAVING_BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';

/// Whether `ch` counts as content: not whitespace, not default-ignorable,
/// not a combining mark, not a blank-looking symbol.
fn is_visible(ch: char) -> bool {
    !ch.is_whitespace()
        && !is_default_ignorable(ch)
        && !is_combining_mark(ch)
        && !is_blank_symbol(ch)
}

/// A character a joiner can shape: present, non-ASCII, and drawn (a letter,
/// a mark, an emoji; not whitespace or another invisible character).
fn shapes(ch: Option<char>) -> bool {
    ch.is_some_and(|c| {
        !c.is_ascii() && !c.is_whitespace() && !is_default_ignorable(c) && !is_blank_symbol(c)
    })
}

/// U+FE00–U+FE0F and U+E0100–U+E01EF.
fn is_variation_selector(ch: char) -> bool {
    matches!(ch, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// The Mongolian (and Todo, Sibe, Manchu) letters, U+1820–U+18AA.
fn is_mongolian_letter(ch: char) -> bool {
    matches!(
        ch,
        '\u{1820}'..='\u{1878}' | '\u{1880}'..='\u{1884}' | '\u{1887}'..='\u{18A8}' | '\u{18AA}'
    )
}

/// The tags an emoji flag's subdivision code is spelled with: `0`–`9`, `a`–`z`.
fn is_flag_tag(ch: char) -> bool {
    matches!(ch, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}')
}

/// Symbols that are not default-ignorable but draw nothing, and are used as
/// "invisible names": U+2800 BRAILLE PATTERN BLANK and U+1D159 MUSICAL
/// SYMBOL NULL NOTEHEAD.
fn is_blank_symbol(ch: char) -> bool {
    matches!(ch, '\u{2800}' | '\u{1D159}')
}

/// U+202A–U+202E (embeddings and overrides) and U+2066–U+2069 (isolates).
fn is_bidi_override(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode's `Default_Ignorable_Code_Point` property: characters a renderer
/// draws nothing for when it does not support them (and often when it does).
pub fn is_default_ignorable(ch: char) -> bool {
    in_ranges(DEFAULT_IGNORABLE, u32::from(ch))
}

/// General_Category=Mark (Mn, Mc, Me): characters that attach to the one
/// before them.
pub fn is_combining_mark(ch: char) -> bool {
    let cp = u32::from(ch);
    match cp >> 16 {
        _ if cp < 0x300 => false,
        0 => in_ranges(BMP_MARKS, cp),
        1 => in_ranges(SMP_MARKS, cp & 0xFFFF),
        _ => matches!(ch, '\u{E0100}'..='\u{E01EF}'),
    }
}

/// Whether `cp` falls in one of `ranges` (sorted, inclusive, disjoint).
fn in_ranges<T: Copy + Into<u32>>(ranges: &[(T, T)], cp: u32) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi.into() < cp {
                std::cmp::Ordering::Less
            } else if lo.into() > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `Default_Ignorable_Code_Point`, Unicode 18 (DerivedCoreProperties.txt).
const DEFAULT_IGNORABLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// General_Category=Mark in the BMP, Unicode 18.
#[rustfmt::skip]
const BMP_MARKS: &[(u16, u16)] = &[
    (0x0300, 0x036f), (0x0483, 0x0489), (0x0591, 0x05bd), (0x05bf, 0x05bf), (0x05c1, 0x05c2),
    (0x05c4, 0x05c5), (0x05c7, 0x05c9), (0x0610, 0x061a), (0x064b, 0x065f), (0x0670, 0x0670),
    (0x06d6, 0x06dc), (0x06df, 0x06e4), (0x06e7, 0x06e8), (0x06ea, 0x06ed), (0x0711, 0x0711),
    (0x0730, 0x074a), (0x07a6, 0x07b0), (0x07eb, 0x07f3), (0x07fd, 0x07fd), (0x0816, 0x0819),
    (0x081b, 0x0823), (0x0825, 0x0827), (0x0829, 0x082d), (0x0859, 0x085b), (0x0897, 0x089f),
    (0x08ca, 0x08e1), (0x08e3, 0x0903), (0x093a, 0x093c), (0x093e, 0x094f), (0x0951, 0x0957),
    (0x0962, 0x0963), (0x0981, 0x0983), (0x09bc, 0x09bc), (0x09be, 0x09c4), (0x09c7, 0x09c8),
    (0x09cb, 0x09cd), (0x09d7, 0x09d7), (0x09e2, 0x09e3), (0x09fe, 0x09fe), (0x0a01, 0x0a03),
    (0x0a3c, 0x0a3c), (0x0a3e, 0x0a42), (0x0a47, 0x0a48), (0x0a4b, 0x0a4d), (0x0a51, 0x0a51),
    (0x0a70, 0x0a71), (0x0a75, 0x0a75), (0x0a81, 0x0a83), (0x0abc, 0x0abc), (0x0abe, 0x0ac5),
    (0x0ac7, 0x0ac9), (0x0acb, 0x0acd), (0x0ae2, 0x0ae3), (0x0afa, 0x0aff), (0x0b01, 0x0b03),
    (0x0b3c, 0x0b3c), (0x0b3e, 0x0b44), (0x0b47, 0x0b48), (0x0b4b, 0x0b4d), (0x0b53, 0x0b57),
    (0x0b62, 0x0b63), (0x0b82, 0x0b82), (0x0bbe, 0x0bc2), (0x0bc6, 0x0bc8), (0x0bca, 0x0bcd),
    (0x0bd7, 0x0bd7), (0x0c00, 0x0c04), (0x0c3c, 0x0c3c), (0x0c3e, 0x0c44), (0x0c46, 0x0c48),
    (0x0c4a, 0x0c4d), (0x0c55, 0x0c56), (0x0c62, 0x0c63), (0x0c81, 0x0c83), (0x0cbc, 0x0cbc),
    (0x0cbe, 0x0cc4), (0x0cc6, 0x0cc8), (0x0cca, 0x0ccd), (0x0cd5, 0x0cd6), (0x0ce2, 0x0ce3),
    (0x0cf3, 0x0cf3), (0x0d00, 0x0d03), (0x0d3b, 0x0d3c), (0x0d3e, 0x0d44), (0x0d46, 0x0d48),
    (0x0d4a, 0x0d4d), (0x0d57, 0x0d57), (0x0d62, 0x0d63), (0x0d81, 0x0d83), (0x0dca, 0x0dca),
    (0x0dcf, 0x0dd4), (0x0dd6, 0x0dd6), (0x0dd8, 0x0ddf), (0x0df2, 0x0df3), (0x0e31, 0x0e31),
    (0x0e34, 0x0e3a), (0x0e47, 0x0e4e), (0x0eb1, 0x0eb1), (0x0eb4, 0x0ebc), (0x0ec8, 0x0ece),
    (0x0f18, 0x0f19), (0x0f35, 0x0f35), (0x0f37, 0x0f37), (0x0f39, 0x0f39), (0x0f3e, 0x0f3f),
    (0x0f71, 0x0f84), (0x0f86, 0x0f87), (0x0f8d, 0x0f97), (0x0f99, 0x0fbc), (0x0fc6, 0x0fc6),
    (0x102b, 0x103e), (0x1056, 0x1059), (0x105e, 0x1060), (0x1062, 0x1064), (0x1067, 0x106d),
    (0x1071, 0x1074), (0x1082, 0x108d), (0x108f, 0x108f), (0x109a, 0x109d), (0x135d, 0x135f),
    (0x1712, 0x1715), (0x1732, 0x1734), (0x1752, 0x1753), (0x1772, 0x1773), (0x17b4, 0x17d3),
    (0x17dd, 0x17dd), (0x180b, 0x180d), (0x180f, 0x180f), (0x1885, 0x1886), (0x18a9, 0x18a9),
    (0x1920, 0x192b), (0x1930, 0x193b), (0x1a17, 0x1a1b), (0x1a55, 0x1a5e), (0x1a60, 0x1a7c),
    (0x1a7f, 0x1a7f), (0x1ab0, 0x1af0), (0x1b00, 0x1b04), (0x1b34, 0x1b44), (0x1b6b, 0x1b73),
    (0x1b80, 0x1b82), (0x1ba1, 0x1bad), (0x1be6, 0x1bf3), (0x1c24, 0x1c37), (0x1cd0, 0x1cd2),
    (0x1cd4, 0x1ce8), (0x1ced, 0x1ced), (0x1cf4, 0x1cf4), (0x1cf7, 0x1cf9), (0x1dc0, 0x1dff),
    (0x20d0, 0x20f0), (0x2cef, 0x2cf1), (0x2d7f, 0x2d7f), (0x2de0, 0x2dff), (0x302a, 0x302f),
    (0x3099, 0x309a), (0xa66f, 0xa672), (0xa674, 0xa67d), (0xa69e, 0xa69f), (0xa6f0, 0xa6f1),
    (0xa802, 0xa802), (0xa806, 0xa806), (0xa80b, 0xa80b), (0xa823, 0xa827), (0xa82c, 0xa82c),
    (0xa880, 0xa881), (0xa8b4, 0xa8c5), (0xa8e0, 0xa8f1), (0xa8ff, 0xa8ff), (0xa926, 0xa92d),
    (0xa947, 0xa953), (0xa980, 0xa983), (0xa9b3, 0xa9c0), (0xa9e5, 0xa9e5), (0xaa29, 0xaa36),
    (0xaa43, 0xaa43), (0xaa4c, 0xaa4d), (0xaa7b, 0xaa7d), (0xaab0, 0xaab0), (0xaab2, 0xaab4),
    (0xaab7, 0xaab8), (0xaabe, 0xaabf), (0xaac1, 0xaac1), (0xaaeb, 0xaaef), (0xaaf5, 0xaaf6),
    (0xabe3, 0xabea), (0xabec, 0xabed), (0xfb1e, 0xfb1e), (0xfe00, 0xfe0f), (0xfe20, 0xfe2f),
];

/// General_Category=Mark in plane 1 (U+1xxxx, low 16 bits), Unicode 18.
/// Plane 14 has one range, U+E0100–U+E01EF; no other plane has marks.
#[rustfmt::skip]
const SMP_MARKS: &[(u16, u16)] = &[
    (0x01fd, 0x01fd), (0x02e0, 0x02e0), (0x0376, 0x037a), (0x0a01, 0x0a03), (0x0a05, 0x0a06),
    (0x0a0c, 0x0a0f), (0x0a38, 0x0a3a), (0x0a3f, 0x0a3f), (0x0ae5, 0x0ae6), (0x0d24, 0x0d27),
    (0x0d69, 0x0d6d), (0x0eab, 0x0eac), (0x0ecb, 0x0ecf), (0x0ef0, 0x0eff), (0x0f46, 0x0f50),
    (0x0f82, 0x0f85), (0x1000, 0x1002), (0x1038, 0x1046), (0x1070, 0x1070), (0x1073, 0x1074),
    (0x107f, 0x1082), (0x10b0, 0x10ba), (0x10c2, 0x10c2), (0x1100, 0x1102), (0x1127, 0x1134),
    (0x1145, 0x1146), (0x1173, 0x1173), (0x1180, 0x1182), (0x11b3, 0x11c0), (0x11c9, 0x11cc),
    (0x11ce, 0x11cf), (0x122c, 0x1237), (0x123e, 0x123e), (0x1241, 0x1241), (0x12df, 0x12ea),
    (0x1300, 0x1303), (0x133b, 0x133c), (0x133e, 0x1344), (0x1347, 0x1348), (0x134b, 0x134d),
    (0x1357, 0x1357), (0x1362, 0x1363), (0x1366, 0x136c), (0x1370, 0x1374), (0x13b8, 0x13c0),
    (0x13c2, 0x13c2), (0x13c5, 0x13c5), (0x13c7, 0x13ca), (0x13cc, 0x13d0), (0x13d2, 0x13d2),
    (0x13e1, 0x13e2), (0x1435, 0x1446), (0x145e, 0x145e), (0x14b0, 0x14c3), (0x15af, 0x15b5),
    (0x15b8, 0x15c0), (0x15dc, 0x15dd), (0x1630, 0x1640), (0x16ab, 0x16b7), (0x171d, 0x172b),
    (0x182c, 0x183a), (0x1930, 0x1935), (0x1937, 0x1938), (0x193b, 0x193e), (0x1940, 0x1940),
    (0x1942, 0x1943), (0x19d1, 0x19d7), (0x19da, 0x19e0), (0x19e4, 0x19e4), (0x1a01, 0x1a0a),
    (0x1a33, 0x1a39), (0x1a3b, 0x1a3e), (0x1a47, 0x1a47), (0x1a51, 0x1a5b), (0x1a8a, 0x1a99),
    (0x1b60, 0x1b67), (0x1c2f, 0x1c36), (0x1c38, 0x1c3f), (0x1c92, 0x1ca7), (0x1ca9, 0x1cb6),
    (0x1d31, 0x1d36), (0x1d3a, 0x1d3a), (0x1d3c, 0x1d3d), (0x1d3f, 0x1d45), (0x1d47, 0x1d47),
    (0x1d8a, 0x1d8e), (0x1d90, 0x1d91), (0x1d93, 0x1d97), (0x1df0, 0x1df0), (0x1ef3, 0x1ef6),
    (0x1f00, 0x1f01), (0x1f03, 0x1f03), (0x1f34, 0x1f3a), (0x1f3e, 0x1f42), (0x1f5a, 0x1f5a),
    (0x3440, 0x3440), (0x3447, 0x3455), (0x611e, 0x612f), (0x6af0, 0x6af4), (0x6b30, 0x6b36),
    (0x6f4f, 0x6f4f), (0x6f51, 0x6f87), (0x6f8f, 0x6f92), (0x6fe4, 0x6fe4), (0x6ff0, 0x6ff1),
    (0xbc9d, 0xbc9e), (0xcf00, 0xcf2d), (0xcf30, 0xcf46), (0xd127, 0xd128), (0xd165, 0xd169),
    (0xd16d, 0xd172), (0xd17b, 0xd182), (0xd185, 0xd18b), (0xd1aa, 0xd1ad), (0xd242, 0xd244),
    (0xd250, 0xd252), (0xd25b, 0xd25c), (0xd25f, 0xd25f), (0xd280, 0xd281), (0xda00, 0xda36),
    (0xda3b, 0xda6c), (0xda75, 0xda75), (0xda84, 0xda84), (0xda9b, 0xda9f), (0xdaa1, 0xdaaf),
    (0xe000, 0xe006), (0xe008, 0xe018), (0xe01b, 0xe021), (0xe023, 0xe024), (0xe026, 0xe02a),
    (0xe08f, 0xe08f), (0xe130, 0xe136), (0xe2ae, 0xe2ae), (0xe2ec, 0xe2ef), (0xe4ec, 0xe4ef),
    (0xe5ee, 0xe5ef), (0xe6e3, 0xe6e3), (0xe6e6, 0xe6e6), (0xe6ee, 0xe6ef), (0xe6f5, 0xe6f5),
    (0xe8d0, 0xe8d6), (0xe944, 0xe94a),
];

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
            validate_name("Ada\nLovelace").unwrap_err().code().as_str(),
            "name_control_character"
        );
        for ch in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            let err = validate_name(&format!("ab{ch}c")).unwrap_err();
            assert_eq!(err, NameError::BidiOverride { ch, position: 3 });
        }
        // Visible neighbours of the forbidden ranges are fine (U+2028/9 are
        // control characters and U+206A–F invisible: see their own tests).
        assert!(validate_name("a\u{2027}b").is_ok());
        assert!(validate_name("a\u{2070}b").is_ok());
    }

    #[test]
    fn line_and_paragraph_separators_are_control_characters() {
        for ch in ['\u{2028}', '\u{2029}', '\u{0085}'] {
            assert_eq!(
                validate_name(&format!("Ada{ch}Lovelace")),
                Err(NameError::ControlCharacter { ch, position: 4 }),
                "U+{:04X}",
                u32::from(ch)
            );
            // At either end they are whitespace, trimmed like a newline.
            assert_eq!(validate_name(&format!("{ch}Ada{ch}")).unwrap(), "Ada");
        }
    }

    /// The list from the report: each alone, doubled, between spaces.
    #[test]
    fn invisible_only_names_are_refused() {
        let invisible = [
            "\u{200B}",
            "\u{200D}",
            "\u{FEFF}",
            "\u{3164}",
            "\u{115F}",
            "\u{2800}",
            "\u{00AD}",
            "\u{180E}",
            "\u{200E}",
            "\u{E0041}\u{E0064}\u{E0061}",
            "\u{FE0F}",
            "\u{1D159}",
            "\u{FFA0}\u{1160}",
            "\u{0301}",
            "\u{200B} \u{200B}",
        ];
        for name in invisible {
            for candidate in [name.to_owned(), name.repeat(2), format!(" {name} ")] {
                assert_eq!(
                    validate_name(&candidate),
                    Err(NameError::Invisible),
                    "{candidate:?}"
                );
                assert_eq!(
                    validate_normalised(&candidate),
                    Err(NameError::Invisible),
                    "{candidate:?}"
                );
            }
        }
        assert_eq!(NameError::Invisible.code().as_str(), "name_invisible");
    }

    /// Every default-ignorable code point, alone, is refused.
    #[test]
    fn every_default_ignorable_alone_is_refused() {
        for &(lo, hi) in DEFAULT_IGNORABLE {
            for ch in (lo..=hi).filter_map(char::from_u32) {
                let err = validate_normalised(&ch.to_string()).unwrap_err();
                let expected = if is_bidi_override(ch) {
                    "name_bidi_override"
                } else {
                    "name_invisible"
                };
                assert_eq!(err.code().as_str(), expected, "U+{:04X}", u32::from(ch));
            }
        }
    }

    #[test]
    fn invisible_characters_inside_a_name_are_refused() {
        let cases = [
            ("Ad\u{200B}a", '\u{200B}', 3),
            ("Ad\u{200D}a", '\u{200D}', 3),
            ("Ad\u{200C}a", '\u{200C}', 3),
            ("Ada\u{FEFF}", '\u{FEFF}', 4),
            ("\u{FEFF}Ada", '\u{FEFF}', 1),
            ("Ada\u{00AD}Lovelace", '\u{00AD}', 4),
            ("Ada\u{2800}", '\u{2800}', 4),
            ("Ada \u{3164}", '\u{3164}', 5),
            ("A\u{FE0F}da", '\u{FE0F}', 2),
            ("Ada\u{E0041}", '\u{E0041}', 4),
            ("Ada\u{200E}", '\u{200E}', 4),
            ("Ada\u{2060}", '\u{2060}', 4),
            ("Ada\u{180E}", '\u{180E}', 4),
            // A joiner must sit between two drawn non-ASCII characters.
            ("李\u{200D}", '\u{200D}', 2),
            ("\u{200D}李", '\u{200D}', 1),
            ("李\u{200D}\u{200D}李", '\u{200D}', 2),
            // A variation selector needs a base, and only one.
            ("\u{2764}\u{FE0F}\u{FE0F}", '\u{FE0F}', 3),
            // Emoji flags: a tag outside one, an unclosed one, a bad tag.
            ("\u{1F3F4}\u{E0067}\u{E0062}", '\u{E0067}', 2),
            ("\u{1F3F4}\u{E0047}\u{E007F}", '\u{E0047}', 2),
            ("\u{1F3F4}\u{E007F}", '\u{E007F}', 2),
            ("Ada\u{E007F}", '\u{E007F}', 4),
        ];
        for (name, ch, position) in cases {
            assert_eq!(
                validate_name(name),
                Err(NameError::InvisibleCharacter { ch, position }),
                "{name:?}"
            );
            assert_eq!(
                validate_normalised(name),
                Err(NameError::InvisibleCharacter { ch, position }),
                "{name:?}"
            );
        }
        // A flag with too many tags.
        let long = format!(
            "\u{1F3F4}{}\u{E007F}",
            "\u{E0061}".repeat(MAX_FLAG_TAGS + 1)
        );
        assert_eq!(
            validate_name(&long).unwrap_err().code().as_str(),
            "name_invisible_character"
        );
    }

    #[test]
    fn real_names_in_many_scripts_pass() {
        let names = [
            "Nguyễn Thị Minh Khai",
            "Nguye\u{0302}\u{0303}n",
            "สมชาย",
            "สมศักดิ์",
            "देवनागरी",
            "हिन्दी",
            "क्\u{200D}ष",
            "한국어",
            "Zoë",
            "Björk Guðmundsdóttir",
            "Ṣọ\u{0301}lá",
            "علی\u{200C}رضا",
            "བསྒྲུབས",
            "ᠮᠣᠩᠭᠣᠯ",
            "ᠭ\u{180B}ᠠ",
            "葛\u{E0100}城",
            "Ὀδυσσεύς",
            "שָׁלוֹם",
            "👩\u{200D}💻",
            "👩🏽\u{200D}💻 Ada",
            "❤\u{FE0F}",
            "❤\u{FE0F}\u{200D}🔥",
            "1\u{FE0F}\u{20E3}",
            "🏳\u{FE0F}\u{200D}🌈",
            "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "Ada Lovelace",
            "Ada\u{00A0}Lovelace",
        ];
        for name in names {
            let stored = validate_name(name).unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(
                validate_normalised(&stored).as_ref(),
                Ok(&stored),
                "{name:?}"
            );
        }
    }

    /// Bad input #80: private use, noncharacters and interlinear
    /// annotation marks were accepted.
    #[test]
    fn private_use_and_noncharacters_are_refused() {
        for ch in [
            '\u{E000}',
            '\u{F8FF}',
            '\u{F0000}',
            '\u{10FFFD}',
            '\u{FDD0}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{1FFFF}',
            '\u{FFF9}',
            '\u{FFFB}',
        ] {
            let name = format!("Ad{ch}a");
            assert_eq!(
                validate_name(&name),
                Err(NameError::UnusableCharacter { ch, position: 3 }),
                "U+{:04X}",
                u32::from(ch)
            );
        }
        // Their neighbours are ordinary characters.
        for ok in ["Ad\u{F900}a", "Ad\u{FFFD}a", "Ad\u{FDF0}a"] {
            assert!(validate_name(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn combining_marks_are_capped_per_character() {
        // "x" has no precomposed accented forms: every mark stays a mark.
        let ok = format!("x{}", "\u{0301}".repeat(MAX_MARKS_PER_BASE));
        assert!(validate_name(&ok).is_ok());
        let too_many = format!("x{}", "\u{0301}".repeat(MAX_MARKS_PER_BASE + 1));
        assert_eq!(
            validate_name(&too_many),
            Err(NameError::TooManyMarks {
                position: MAX_MARKS_PER_BASE + 2
            })
        );
        // The report's 31 marks on one letter; NFC folds the first into "á".
        let zalgo = format!("a{}", "\u{0301}".repeat(31));
        assert_eq!(
            validate_name(&zalgo),
            Err(NameError::TooManyMarks { position: 6 })
        );
        // The cap is per character: four on each of several letters is fine.
        assert!(validate_name(&format!("x{m}y{m}z{m}", m = "\u{0301}".repeat(4))).is_ok());
        // Marks in other blocks count too (Thai tone marks, enclosing keycaps).
        assert_eq!(
            validate_normalised(&format!("ก{}", "\u{0E48}".repeat(5)))
                .unwrap_err()
                .code()
                .as_str(),
            "name_too_many_marks"
        );
        assert_eq!(
            validate_normalised(&format!("1{}", "\u{20E3}".repeat(5)))
                .unwrap_err()
                .code()
                .as_str(),
            "name_too_many_marks"
        );
        // A joiner does not start a new stack.
        assert_eq!(
            validate_normalised("ก\u{0301}\u{0301}\u{200D}\u{0301}\u{0301}\u{0301}"),
            Err(NameError::TooManyMarks { position: 7 })
        );
    }

    #[test]
    fn html_is_just_text() {
        let name = "<img src=x onerror=alert(1)>";
        assert_eq!(validate_name(name).unwrap(), name);
    }

    #[test]
    fn codes_are_stable() {
        let cases = [
            (NameError::Empty, "name_empty"),
            (NameError::TooLong { chars: 33 }, "name_too_long"),
            (
                NameError::ControlCharacter {
                    ch: '\n',
                    position: 1,
                },
                "name_control_character",
            ),
            (
                NameError::BidiOverride {
                    ch: '\u{202E}',
                    position: 1,
                },
                "name_bidi_override",
            ),
            (NameError::Invisible, "name_invisible"),
            (
                NameError::InvisibleCharacter {
                    ch: '\u{200B}',
                    position: 1,
                },
                "name_invisible_character",
            ),
            (
                NameError::TooManyMarks { position: 6 },
                "name_too_many_marks",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code().as_str(), code);
        }
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
        assert_eq!(
            NameError::Invisible.to_string(),
            "Names need at least one visible character."
        );
        assert_eq!(
            NameError::InvisibleCharacter {
                ch: '\u{200B}',
                position: 3
            }
            .to_string(),
            "Names cannot contain invisible characters (U+200B at position 3)."
        );
        assert_eq!(
            NameError::TooManyMarks { position: 6 }.to_string(),
            "Names can have at most 4 accents or marks on one character \
             (one too many at position 6)."
        );
    }

    /// The mark table is exactly General_Category=Mark, as
    /// `unicode-normalization` (same Unicode version) knows it.
    #[test]
    fn mark_table_is_general_category_mark() {
        let differ: Vec<String> = (0..=0x10FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_combining_mark(c) != unicode_normalization::char::is_combining_mark(c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(differ.is_empty(), "{differ:?}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Letters, marks, joiners, selectors, tags, blanks, spaces, emoji:
        /// the characters the rules are about, mixed at random.
        fn tricky_name() -> impl Strategy<Value = String> {
            let alphabet = prop::sample::select(vec![
                'a',
                'A',
                ' ',
                'x',
                '李',
                'ก',
                'क',
                '\u{094D}',
                'ی',
                '👩',
                '💻',
                '❤',
                '1',
                '#',
                '\u{1F3F4}',
                '\u{0301}',
                '\u{0E48}',
                '\u{20E3}',
                '\u{200B}',
                '\u{200C}',
                '\u{200D}',
                '\u{FE0F}',
                '\u{E0100}',
                '\u{E0067}',
                '\u{E007F}',
                '\u{E0041}',
                '\u{2800}',
                '\u{3164}',
                '\u{00AD}',
                '\u{180B}',
                'ᠭ',
                '\u{00A0}',
                '\u{2028}',
                '\u{1D159}',
            ]);
            prop::collection::vec(alphabet, 0..12).prop_map(|v| v.into_iter().collect())
        }

        /// What every stored name must satisfy, computed independently.
        fn check_stored(stored: &str) {
            assert!(stored.chars().any(is_visible), "{stored:?}");
            let mut run = 0;
            for ch in stored.chars() {
                assert!(!is_blank_symbol(ch) && !matches!(ch, '\u{2028}' | '\u{2029}'));
                if is_default_ignorable(ch) {
                    assert!(
                        matches!(ch, ZWNJ | ZWJ | '\u{180B}'..='\u{180F}' | '\u{E0020}'..='\u{E007F}')
                            || is_variation_selector(ch),
                        "{stored:?}"
                    );
                }
                if is_combining_mark(ch) {
                    run += 1;
                    assert!(run <= MAX_MARKS_PER_BASE, "{stored:?}");
                } else if !is_default_ignorable(ch) {
                    run = 0;
                }
            }
            assert_eq!(validate_name(stored).as_deref(), Ok(stored));
            assert_eq!(validate_normalised(stored).as_deref(), Ok(stored));
        }

        proptest! {
            #[test]
            fn stored_names_keep_the_rules(name in tricky_name()) {
                if let Ok(stored) = validate_name(&name) {
                    check_stored(&stored);
                }
            }

            #[test]
            fn any_string_is_answered(name in any::<String>()) {
                if let Ok(stored) = validate_name(&name) {
                    check_stored(&stored);
                }
            }
        }
    }
}
