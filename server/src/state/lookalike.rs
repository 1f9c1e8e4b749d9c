//! Look-alike keys for presence: which online names may look the same.
//!
//! The name rules (`shared::names`) refuse what is invisible, but they
//! cannot refuse look-alikes without refusing real names: `Ada` and Cyrillic
//! `Аda` are both fine names, and the same person may be `Ada` in two tabs.
//! Instead presence carries, with each name, a [`Look`] key: a hash of the
//! name's UTS #39 confusable *skeleton* (NFD, default-ignorable characters
//! dropped, each character mapped to its confusables.txt prototype, NFD
//! again), with whitespace runs collapsed to one space (a page collapses
//! them too). Names with the same key may look the same; the page then shows
//! each with a short tag from its session id (`app_client::presence`).
//!
//! Case is kept, as UTS #39 does: `ada` and `Ada` can be told apart on
//! screen, so they are not look-alikes (while `Ada` and `Аda`, or `Il` and
//! `lI`, are).
//!
//! The confusables table lives here, on the server, and never in the page.
//! The key is FNV-1a (32 bits) of the skeleton's UTF-8: stable across runs
//! and builds of one Unicode version; 0 is never produced (it means "no
//! key" on the wire). Two unrelated names share a key by chance with
//! probability 2⁻³²; the cost of that is one unneeded tag.

use shared::events::Look;
use unicode_security::skeleton;

/// The look-alike key of a stored (valid, NFC) name.
pub fn look(name: &str) -> Look {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let mut hash = OFFSET;
    let mut write = |ch: char| {
        let mut buf = [0; 4];
        for &byte in ch.encode_utf8(&mut buf).as_bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(PRIME);
        }
    };
    let mut space = false;
    let mut started = false;
    for ch in skeleton(name) {
        if ch.is_whitespace() {
            space = started;
            continue;
        }
        if space {
            write(' ');
            space = false;
        }
        write(ch);
        started = true;
    }
    Look(hash.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ada_cyrillic_ada_and_ada_share_a_key_bob_does_not() {
        let ada = look("Ada");
        assert_eq!(look("\u{0410}da"), ada, "Cyrillic А");
        assert_eq!(look("Ad\u{0430}"), ada, "Cyrillic а");
        assert_eq!(look("Ada"), ada, "a second Ada");
        assert_ne!(look("Bob"), ada);
        assert!(ada.is_known() && look("Bob").is_known());
    }

    #[test]
    fn invisible_characters_and_spacing_do_not_change_the_key() {
        // The name rules refuse these, but the key must not depend on them.
        assert_eq!(look("Ad\u{200B}a"), look("Ada"));
        assert_eq!(look("Ad\u{200D}a"), look("Ada"));
        assert_eq!(look("Ada  Lovelace"), look("Ada Lovelace"));
        assert_eq!(look("Ada\u{00A0}Lovelace"), look("Ada Lovelace"));
        assert_ne!(look("AdaLovelace"), look("Ada Lovelace"));
    }

    #[test]
    fn confusables_match_but_case_does_not() {
        assert_eq!(look("BiII"), look("Bill"), "capital I and small l");
        assert_eq!(look("rnary"), look("mary"), "rn and m");
        assert_eq!(look("\u{03A1}aul"), look("Paul"), "Greek Rho");
        assert_ne!(look("ada"), look("Ada"), "case can be told apart");
        assert_ne!(look("Ada"), look("Adá"));
    }

    /// The key is part of what clients compare: it must not change between
    /// runs or builds (FNV-1a of the skeleton, never 0). The skeleton of
    /// `Ada` is `Ada`, whose FNV-1a is 0x9ac3a55b by any implementation.
    #[test]
    fn the_key_is_stable() {
        assert_eq!(look("Ada"), Look(0x9ac3_a55b));
        assert_eq!(look(""), Look(0x811c_9dc5));
    }

    /// `shared`'s compact default-ignorable table (used by the name rules in
    /// the page too) agrees with unicode-security's, code point by code
    /// point: a character's skeleton is empty exactly when it is
    /// default-ignorable.
    #[test]
    fn shared_default_ignorables_match_unicode_security() {
        let differ: Vec<String> = (0..=0x10FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|&c| {
                let mut buf = [0; 4];
                let ignorable = skeleton(c.encode_utf8(&mut buf)).next().is_none();
                ignorable != shared::names::is_default_ignorable(c)
            })
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(differ.is_empty(), "{differ:?}");
    }
}
