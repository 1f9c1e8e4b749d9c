//! The shared name rules, with the browser's own NFC normalisation.

use shared::names::{validate_normalised, NameError};

/// `String.prototype.normalize("NFC")`, then the shared rules.
pub fn validate(raw: &str) -> Result<String, NameError> {
    let normalised: String = js_sys::JsString::from(raw).normalize("NFC").into();
    validate_normalised(&normalised)
}
