//! Chromium over chromedriver: one driver per test, one session per "person",
//! each with its own profile (so localStorage is not shared), all torn down
//! even when the test fails.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::wait::eventually;

/// A chromedriver process and the folder holding every profile it made.
pub struct Browser {
    driver: Child,
    url: String,
    run_dir: PathBuf,
    sessions: AtomicUsize,
}

/// One browser session: a person with a tab.
#[derive(Clone)]
pub struct Page {
    pub client: Client,
}

impl Browser {
    /// Starts chromedriver on a free port.
    pub async fn start() -> Browser {
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let run_dir = std::env::temp_dir().join(format!("iss-e2e-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&run_dir).expect("run dir");
        let url = format!("http://127.0.0.1:{port}");
        eventually("chromedriver to listen", || {
            let addr = format!("127.0.0.1:{port}");
            async move { Ok(tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())) }
        })
        .await;
        Browser {
            driver,
            url,
            run_dir,
            sessions: AtomicUsize::new(0),
        }
    }

    /// A new session with a fresh profile, at 1024×768 unless told otherwise.
    pub async fn open(&self, url: &str) -> Page {
        self.open_sized(url, 1024, 768).await
    }

    pub async fn open_sized(&self, url: &str, width: u32, height: u32) -> Page {
        let page = self.session(width, height).await;
        page.client.goto(url).await.expect("open the page");
        page
    }

    /// A new session that runs the given DevTools commands before it opens
    /// `url` (e.g. a script for every new document): the page
    /// itself stays unchanged.
    pub async fn open_prepared(&self, url: &str, commands: &[Cdp]) -> Page {
        let page = self.session(1024, 768).await;
        for command in commands {
            page.client
                .issue_cmd(ChromedriverPost::from(command.clone()))
                .await
                .unwrap_or_else(|e| panic!("DevTools {}: {e}", command.cmd));
        }
        page.client.goto(url).await.expect("open the page");
        page
    }

    async fn session(&self, width: u32, height: u32) -> Page {
        let n = self.sessions.fetch_add(1, Ordering::Relaxed);
        let profile = self.run_dir.join(format!("profile-{n}"));
        let caps = json!({
            "browserName": "chrome",
            // The DevTools network events, for what the page requested and
            // how it was answered (`Page::network_responses`).
            "goog:loggingPrefs": { "performance": "ALL" },
            "goog:chromeOptions": {
                "binary": "/usr/lib/chromium/chromium",
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a new Chromium session");
        Page { client }
    }

    /// Stops chromedriver and any Chromium it left behind.
    pub async fn stop(mut self) {
        let _ = self.driver.kill().await;
        // SIGTERM to chromedriver does not stop Chrome: match this run's folder.
        let _ = Command::new("pkill")
            .args(["-9", "-f", &self.run_dir.display().to_string()])
            .status()
            .await;
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` endpoint.
#[derive(Debug, Clone)]
pub struct Cdp {
    pub cmd: &'static str,
    pub params: serde_json::Value,
}

/// A POST to one of chromedriver's own endpoints of the session (beyond
/// the W3C commands fantoccini has): `goog/cdp/execute`, `se/log`.
#[derive(Debug, Clone)]
struct ChromedriverPost {
    endpoint: &'static str,
    body: serde_json::Value,
}

impl From<Cdp> for ChromedriverPost {
    fn from(command: Cdp) -> Self {
        ChromedriverPost {
            endpoint: "goog/cdp/execute",
            body: json!({ "cmd": command.cmd, "params": command.params }),
        }
    }
}

impl WebDriverCompatibleCommand for ChromedriverPost {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/{}", self.endpoint))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// A response the page received, as the browser's network log saw it.
#[derive(Debug, Clone)]
pub struct NetworkResponse {
    pub url: String,
    pub status: u64,
    pub mime_type: String,
    /// The `Content-Encoding` header, lower case, if any.
    pub encoding: Option<String>,
}

impl Page {
    /// The responses the page received since the last call (the browser's
    /// DevTools `Network.responseReceived` events).
    pub async fn network_responses(&self) -> Vec<NetworkResponse> {
        let entries = self
            .client
            .issue_cmd(ChromedriverPost {
                endpoint: "se/log",
                body: json!({ "type": "performance" }),
            })
            .await
            .expect("the performance log");
        let entries = entries.as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter_map(|entry| {
                let message: serde_json::Value =
                    serde_json::from_str(entry["message"].as_str()?).ok()?;
                let message = &message["message"];
                (message["method"] == "Network.responseReceived").then_some(())?;
                let response = &message["params"]["response"];
                let headers = response["headers"].as_object()?;
                let encoding = headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
                    .and_then(|(_, value)| value.as_str())
                    .map(str::to_ascii_lowercase);
                Some(NetworkResponse {
                    url: response["url"].as_str()?.to_owned(),
                    status: response["status"].as_f64()? as u64,
                    mime_type: response["mimeType"].as_str()?.to_owned(),
                    encoding,
                })
            })
            .collect()
    }
    /// The text of the first element matching `css` (empty if none yet).
    pub async fn text(&self, css: &str) -> Result<String, String> {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        element.text().await.map_err(|e| e.to_string())
    }

    /// Waits until the element's text satisfies `check`; returns it.
    pub async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        eventually(what, || async {
            let text = self.text(css).await?;
            Ok(check(&text).then_some(text))
        })
        .await
    }

    /// Types into the name field (replacing what is there) and presses Enter.
    pub async fn set_name(&self, name: &str) {
        self.type_name(&format!("{name}\u{E007}")).await;
    }

    /// Replaces what is in the name field with `keys`, without submitting
    /// (unless `keys` ends with Enter, U+E007).
    pub async fn type_name(&self, keys: &str) {
        let input = self
            .client
            .find(Locator::Css("#name"))
            .await
            .expect("the name field");
        input.clear().await.expect("clear the field");
        input.send_keys(keys).await.expect("type");
    }

    /// The names in the online list.
    pub async fn online_names(&self) -> Result<Vec<String>, String> {
        let items = self
            .client
            .find_all(Locator::Css("[data-testid=online-list] li"))
            .await
            .map_err(|e| e.to_string())?;
        let mut names = Vec::new();
        for item in items {
            names.push(item.text().await.map_err(|e| e.to_string())?);
        }
        Ok(names)
    }

    /// Waits until the online list contains (or lacks) `name`.
    pub async fn wait_online(&self, name: &str, present: bool) {
        let what = format!(
            "{name} {} the online list",
            if present { "in" } else { "out of" }
        );
        eventually(&what, || async {
            let names = self.online_names().await?;
            Ok((names.iter().any(|n| n == name) == present).then_some(()))
        })
        .await
    }

    /// Clicks the 👋 button by `name` in the online list.
    pub async fn wave_at(&self, name: &str) {
        let css = format!("button[aria-label=\"Wave at {name}\"]");
        let button = eventually(&format!("the wave button by {name}"), || async {
            Ok(self.client.find(Locator::Css(&css)).await.ok())
        })
        .await;
        button.click().await.expect("click the wave button");
    }

    /// The status line.
    pub async fn status(&self) -> Result<String, String> {
        self.text("[data-testid=status]").await
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
