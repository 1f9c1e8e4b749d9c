//! Driving the page we replace (AngularJS 1.4.8 + socket.io-client 1.4.4,
//! `interop/seed_page/index.html`) without changing it: DevTools installs a
//! console hook before its scripts run, reads its sockets' transports, and
//! can make its websockets fail as behind a proxy that refuses them.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::browser::{Cdp, Page};
use crate::eventually;

/// Keeps what the page logs (its `Connected`) where the test can read it.
const CONSOLE_HOOK: &str = "window.__seedLog = [];
(function () {
  var log = console.log;
  console.log = function () {
    window.__seedLog.push(Array.prototype.join.call(arguments, ' '));
    return log.apply(console, arguments);
  };
})();";

/// The transport of every socket.io-client 1.4.4 manager on the page.
const TRANSPORTS: &str = "return Object.keys(io.managers).map(function (k) {
  var engine = io.managers[k].engine;
  return engine && engine.transport ? engine.transport.name : null;
});";

/// Makes every Socket.IO websocket of the page fail as when a proxy refuses
/// the upgrade: the browser's own `WebSocket` connects to a closed port
/// (`{closed}`), so the page sees a real connection error, then a close.
/// (DevTools' `Network.setBlockedURLs` does not stop websockets: tried.)
const WEBSOCKETS_REFUSED: &str = "(function () {
  var Native = window.WebSocket;
  function Refused(url, protocols) {
    if (String(url).indexOf('transport=websocket') >= 0) {
      return new Native('ws://127.0.0.1:{closed}/refused');
    }
    return protocols === undefined ? new Native(url) : new Native(url, protocols);
  }
  Refused.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Refused[k] = Native[k]; });
  window.WebSocket = Refused;
})();";

/// The DevTools commands to run before the page opens: the console hook,
/// and with `refuse_websockets` every Socket.IO websocket failing.
pub fn prepare(refuse_websockets: bool) -> Vec<Cdp> {
    let mut sources = vec![CONSOLE_HOOK.to_owned()];
    if refuse_websockets {
        sources.push(WEBSOCKETS_REFUSED.replace("{closed}", &closed_port().to_string()));
    }
    sources
        .into_iter()
        .map(|source| Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": source }),
        })
        .collect()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh folder under the temp dir.
pub fn temp_dir(what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!("iss-{what}-{}-{nanos}", std::process::id()))
}

/// Waits until the seed page has logged `Connected`.
pub async fn wait_connected(page: &Page) {
    eventually("the seed page to log Connected", || async {
        let log = page
            .client
            .execute("return window.__seedLog || []", vec![])
            .await
            .map_err(|e| e.to_string())?;
        Ok(log
            .as_array()
            .is_some_and(|lines| lines.iter().any(|l| l == "Connected"))
            .then_some(()))
    })
    .await;
}

/// Waits until the page's one socket is on `transport` (`polling` or
/// `websocket`).
pub async fn wait_transport(page: &Page, transport: &str) {
    let what = format!("the seed page on {transport}");
    eventually(&what, || async {
        let value = page
            .client
            .execute(TRANSPORTS, vec![])
            .await
            .map_err(|e| e.to_string())?;
        Ok((value == json!([transport])).then_some(()))
    })
    .await;
}

/// What a `GET /users` of the seed backend lists (`{uuid: {"username": …}}`).
pub fn usernames(users: &Value) -> Vec<String> {
    users
        .as_object()
        .map(|users| {
            users
                .values()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
