//! How engineioxide reads an Engine.IO request's path and query, mirrored.
//!
//! Our layers in front of socketioxide (the v3 polling repair, the session
//! slots) must classify a request exactly as engineioxide will: a request
//! one of them takes for "not Engine.IO v3" but engineioxide serves as v3
//! slips past the guard. engineioxide 0.17 takes the *first* `EIO=` and
//! `transport=` parameters and the text between their first and second
//! `=` (`EIO=3=x` is version 3), the first `b64=` (`1` or `true`), and a
//! path that is the endpoint or below it (`/socket.io`, `/socket.io/…`, not
//! `/socket.iox`). Nothing here decodes percent escapes, as engineioxide
//! does not.

use axum::http::Uri;

/// The Engine.IO protocol generation a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `EIO=3`: the seed's generation.
    V3,
    /// `EIO=4`.
    V4,
}

/// The transport a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Polling,
    Websocket,
}

/// What engineioxide will read from a request to its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineRequest {
    /// `None`: engineioxide answers "unsupported protocol version".
    pub generation: Option<Generation>,
    /// `None`: engineioxide answers "transport unknown".
    pub transport: Option<Transport>,
    /// The client asked for base64 (text) framing only.
    pub b64: bool,
}

impl EngineRequest {
    /// How engineioxide reads `uri`, or `None` when the path is not under
    /// `endpoint` (the request is not Engine.IO's).
    pub fn parse(uri: &Uri, endpoint: &str) -> Option<Self> {
        if !under(uri.path(), endpoint) {
            return None;
        }
        let query = uri.query().unwrap_or_default();
        let generation = value_of(query, "EIO").and_then(|v| match v {
            "3" => Some(Generation::V3),
            "4" => Some(Generation::V4),
            _ => None,
        });
        let transport = value_of(query, "transport").and_then(|v| match v {
            "polling" => Some(Transport::Polling),
            "websocket" => Some(Transport::Websocket),
            _ => None,
        });
        let b64 = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("b64="))
            .is_some_and(|v| v == "1" || v == "true");
        Some(EngineRequest {
            generation,
            transport,
            b64,
        })
    }

    /// A v3 long-polling request.
    pub fn is_v3_polling(&self) -> bool {
        self.generation == Some(Generation::V3) && self.transport == Some(Transport::Polling)
    }
}

/// engineioxide's `is_req_path`: the endpoint itself or a path below it.
fn under(path: &str, endpoint: &str) -> bool {
    path.strip_prefix(endpoint)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || endpoint.ends_with('/'))
}

/// The first parameter starting `name=`, read up to its next `=`.
fn value_of<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    let pair = query
        .split('&')
        .find(|pair| pair.strip_prefix(name).is_some_and(|r| r.starts_with('=')))?;
    pair.split('=').nth(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(uri: &str) -> Option<EngineRequest> {
        EngineRequest::parse(&uri.parse().unwrap(), "/socket.io")
    }

    #[test]
    fn reads_what_engineioxide_reads() {
        let v3 = |b64| EngineRequest {
            generation: Some(Generation::V3),
            transport: Some(Transport::Polling),
            b64,
        };
        assert_eq!(read("/socket.io/?EIO=3&transport=polling"), Some(v3(false)));
        // The first parameter wins, and only the text up to the next `=`.
        assert_eq!(
            read("/socket.io/?EIO=3=x&transport=polling=y"),
            Some(v3(false))
        );
        assert_eq!(
            read("/socket.io/?EIO=3&EIO=4&transport=polling&b64=1"),
            Some(v3(true))
        );
        assert_eq!(read("/socket.io?transport=polling&EIO=3"), Some(v3(false)));
        assert_eq!(
            read("/socket.io/?EIO=03&transport=polling")
                .unwrap()
                .generation,
            None
        );
        assert_eq!(
            read("/socket.io/?EIO=4&transport=websocket"),
            Some(EngineRequest {
                generation: Some(Generation::V4),
                transport: Some(Transport::Websocket),
                b64: false,
            })
        );
        assert_eq!(read("/socket.iox?EIO=3&transport=polling"), None);
        assert_eq!(read("/index.html?EIO=3&transport=polling"), None);
    }
}
