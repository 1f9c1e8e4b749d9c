//! The few browser facts the page needs: randomness, where the server is,
//! and the remembered name (the clock and the online hook are
//! `sio_client::web`'s). Failures degrade quietly (no storage, no name).

use wasm_bindgen::JsValue;

/// localStorage key for the chosen name.
const NAME_KEY: &str = "iss.name";

/// sessionStorage key for the resume token: per tab, gone with the tab, so
/// a reload resumes the session but a second tab gets its own.
const RESUME_KEY: &str = "iss.resume";

/// Seed for the reconnect jitter.
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

/// The page's server, `http(s)://host:port`: the page's own origin, or the
/// one named by `?server=http://host:port` in the page's URL.
pub fn server_base() -> String {
    let location = web_sys::window().map(|w| w.location());
    let search = location.as_ref().and_then(|l| l.search().ok());
    if let Some(server) = search.as_deref().and_then(query_server) {
        return server.trim_end_matches('/').to_owned();
    }
    location
        .and_then(|l| l.origin().ok())
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned())
}

/// The value of `server=` in a query string, percent-decoded.
fn query_server(search: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("server="))
        .and_then(|v| js_sys::decode_uri_component(v).ok())
        .and_then(|v| v.as_string())
        .filter(|v| !v.is_empty())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The name chosen on an earlier visit.
pub fn remembered_name() -> Option<String> {
    storage()?.get_item(NAME_KEY).ok()?
}

/// Keeps the chosen name for the next visit.
pub fn remember_name(name: &str) {
    if let Some(storage) = storage() {
        if storage.set_item(NAME_KEY, name).is_err() {
            web_sys::console::warn_1(&JsValue::from_str("could not store the name"));
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The resume token this tab was given last.
pub fn resume_token() -> Option<String> {
    session_storage()?.get_item(RESUME_KEY).ok()?
}

/// Keeps the resume token for a reload of this tab.
pub fn remember_resume_token(token: &str) {
    if let Some(storage) = session_storage() {
        // Quietly: without storage a reload simply starts a fresh session.
        let _ = storage.set_item(RESUME_KEY, token);
    }
}
