//! Resume tokens over the wire: a client that comes back with its token gets
//! its session id and name back; a wrong, reused, expired or stolen token —
//! including the public session id — yields a fresh session in the same
//! reply shape.

mod common;

use std::net::SocketAddr;

use common::{eventually, start_with, within};
use futures_util::{SinkExt, StreamExt};
use shared::events::{Connected, ResumeAuth, ResumeToken, ServerEvent, SessionId};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw websocket Socket.IO client that joined `/iss` with `auth`.
struct Joined {
    ws: Ws,
    connected: Connected,
    /// The `connected` payload as sent, to compare reply shapes.
    raw: serde_json::Value,
}

async fn join(addr: SocketAddr, auth: Option<ResumeAuth>) -> Joined {
    within("join", async {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
        let auth = auth.map(|a| a.to_json().to_string()).unwrap_or_default();
        ws.send(Message::text(format!("40/iss,{auth}")))
            .await
            .unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("closed before connected");
            };
            if text.as_str() == "2" {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            let Some(json) = text.as_str().strip_prefix("42/iss,") else {
                continue;
            };
            let array: serde_json::Value = serde_json::from_str(json).unwrap();
            if let Ok(ServerEvent::Connected(Some(connected))) = ServerEvent::from_array(&array) {
                return Joined {
                    ws,
                    connected,
                    raw: array[1].clone(),
                };
            }
        }
    })
    .await
}

fn with_token(token: &ResumeToken) -> Option<ResumeAuth> {
    Some(ResumeAuth {
        resume: Some(token.clone()),
    })
}

async fn identify(ws: &mut Ws, name: &str) {
    ws.send(Message::text(format!(r#"42/iss,["identify","{name}"]"#)))
        .await
        .unwrap();
}

/// The keys of a `connected` payload: the reply shape.
fn shape(raw: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = raw.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_token_brings_back_the_session_and_its_name_once() {
    let server = start_with(|_| {}).await;
    let state = server.state.clone();
    let mut first = join(server.addr, None).await;
    let session = first.connected.uuid.clone();
    let token = first.connected.resume.clone().expect("a resume token");
    assert!(token.0.len() >= 32, "at least 128 bits in hex");
    assert_ne!(token.0, session.0);
    identify(&mut first.ws, "Ada").await;
    eventually("Ada stored", || {
        state.registry.username(&session).as_deref() == Some("Ada")
    })
    .await;

    drop(first);
    eventually("the session left", || {
        state.registry.username(&session).is_none()
    })
    .await;

    let back = join(server.addr, with_token(&token)).await;
    assert_eq!(back.connected.uuid, session, "same session id");
    assert_eq!(
        state.registry.username(&session).as_deref(),
        Some("Ada"),
        "same name, no identify needed"
    );
    let next = back.connected.resume.clone().unwrap();
    assert_ne!(next, token, "a new token each time");
    drop(back);
    eventually("the session left again", || {
        state.registry.username(&session).is_none()
    })
    .await;

    // The used token is worthless; the new one works.
    let replay = join(server.addr, with_token(&token)).await;
    assert_ne!(replay.connected.uuid, session);
    let again = join(server.addr, with_token(&next)).await;
    assert_eq!(again.connected.uuid, session);
    assert_eq!(state.stats.view(0, 0).resumed, 2, "counted in /api/stats");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_stolen_and_live_tokens_give_a_fresh_session_in_the_same_shape() {
    let server = start_with(|_| {}).await;
    let mut owner = join(server.addr, None).await;
    identify(&mut owner.ws, "Ada").await;
    let session = owner.connected.uuid.clone();
    let token = owner.connected.resume.clone().unwrap();
    let honest = shape(&owner.raw);
    let state = server.state.clone();
    eventually("Ada stored", || {
        state.registry.username(&session).as_deref() == Some("Ada")
    })
    .await;

    let attempts = [
        ("no auth", None),
        ("a guess", with_token(&ResumeToken("0".repeat(64)))),
        (
            "the public session id",
            with_token(&ResumeToken(session.0.clone())),
        ),
        // The owner is still connected: its token must not split the session.
        ("the live owner's token", with_token(&token)),
        ("an empty auth object", Some(ResumeAuth::default())),
    ];
    for (what, auth) in attempts {
        let other = join(server.addr, auth).await;
        assert_ne!(other.connected.uuid, session, "{what}");
        assert_eq!(shape(&other.raw), honest, "{what}: same reply shape");
        assert_ne!(other.connected.resume, Some(token.clone()), "{what}");
    }
    // Malformed auth payloads are treated the same way.
    for auth in [r#"{"resume":42}"#, r#"[1,2]"#, r#""x""#] {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        ws.send(Message::text(format!("40/iss,{auth}")))
            .await
            .unwrap();
        let got = within("a reply to malformed auth", async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) if t.as_str().starts_with("42/iss,") => {
                        return t.as_str().to_owned()
                    }
                    Some(Ok(_)) => continue,
                    other => panic!("{auth}: {other:?}"),
                }
            }
        })
        .await;
        assert!(
            got.contains("\"connected\"") && !got.contains(&session.0),
            "{auth}: {got}"
        );
    }
    assert_eq!(
        server.state.registry.username(&session).as_deref(),
        Some("Ada"),
        "the owner is untouched"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_expired_token_gives_a_fresh_session() {
    let server = start_with(|c| c.resume_ttl_secs = 0).await;
    let first = join(server.addr, None).await;
    let session: SessionId = first.connected.uuid.clone();
    let token = first.connected.resume.clone().unwrap();
    drop(first);
    let state = server.state.clone();
    eventually("the session left", || state.registry.connected() == 0).await;
    let later = join(server.addr, with_token(&token)).await;
    assert_ne!(later.connected.uuid, session);
    server.shutdown().await.unwrap();
}
