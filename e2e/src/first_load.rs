//! Benchmark S5's timing half: how soon a cold page load is `Connected` and
//! its name form takes input, ours against the page we replace, in headless
//! Chromium, with and without a slow network and a slow CPU.
//!
//! Each load is a fresh Chromium session (a fresh profile: a cold cache, no
//! compiled-code cache). DevTools sets the network and CPU profile and
//! installs [`MARKS`] before the page's own scripts, which records on the
//! page's own clock (`performance.now()`, 0 at navigation start):
//! - `form`: our page's name field exists (the view mounts it with its
//!   handlers); the original page's form is live when AngularJS has compiled
//!   its controller (`ng-scope` on `<body>`);
//! - `connected`: the original page logs `Connected` on the server's
//!   `connected` event (its only sign); ours logs the same, and its status
//!   line says `Connected` at the namespace's CONNECT ack just before:
//!   whichever comes first counts;
//! - the requests before `connected`: the document, every resource the
//!   Resource Timing API lists as started before it (scripts, wasm, CSS,
//!   long-polling XHRs), and every WebSocket opened before it.
//!
//! Nothing here changes either page: the marks only observe.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::{Browser, Cdp, Page};
use crate::eventually;

/// Records `form`, `connected` and the requests made until then.
const MARKS: &str = r#"(function () {
  var m = window.__s5 = { form: null, connected: null, sockets: [] };
  var original = function () { return document.documentElement.hasAttribute('ng-app'); };
  var log = console.log;
  console.log = function () {
    if (m.connected === null && arguments[0] === 'Connected') m.connected = performance.now();
    return log.apply(console, arguments);
  };
  var Native = window.WebSocket;
  function Counted(url, protocols) {
    m.sockets.push(performance.now());
    return protocols === undefined ? new Native(url) : new Native(url, protocols);
  }
  Counted.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Counted[k] = Native[k]; });
  window.WebSocket = Counted;
  function check() {
    if (m.form === null) {
      var ready = original()
        ? document.body && document.body.classList.contains('ng-scope')
        : document.getElementById('name') !== null;
      if (ready) m.form = performance.now();
    }
    if (m.connected === null && !original()) {
      var status = document.querySelector('[data-testid=status]');
      if (status && status.textContent === 'Connected') m.connected = performance.now();
    }
  }
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true
  });
})();"#;

/// What the test reads back once both marks are set: the two times and the
/// requests started before `connected` (the document counts as one).
const READ: &str = r#"var m = window.__s5;
if (!m) return 'no marks (yet)';
if (m.form === null || m.connected === null) return JSON.stringify(m);
var before = function (t) { return t <= m.connected; };
var resources = performance.getEntriesByType('resource')
  .filter(function (e) { return before(e.startTime); }).length;
var sockets = m.sockets.filter(before).length;
return { form: m.form, connected: m.connected, requests: 1 + resources + sockets };"#;

/// A network and CPU profile, as DevTools emulates it.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    /// `None`: the loopback as it is.
    pub network: Option<Network>,
    /// CPU slowdown factor (1 = none).
    pub cpu_slowdown: u32,
}

/// DevTools' network emulation: added latency per request, and throughput.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    pub rtt_ms: u32,
    pub down_kbps: u32,
    pub up_kbps: u32,
}

/// The issue's slow profile: 1.6 Mbps down, 750 kbps up, 150 ms RTT, 4× CPU.
pub const THROTTLED: Profile = Profile {
    name: "throttled (1.6 Mbps / 750 kbps / 150 ms RTT, 4× CPU)",
    network: Some(Network {
        rtt_ms: 150,
        down_kbps: 1_600,
        up_kbps: 750,
    }),
    cpu_slowdown: 4,
};

/// The loopback and the CPU as they are.
pub const UNTHROTTLED: Profile = Profile {
    name: "unthrottled (loopback, no CPU slowdown)",
    network: None,
    cpu_slowdown: 1,
};

impl Profile {
    /// The DevTools commands that set this profile, then the marks.
    fn commands(&self) -> Vec<Cdp> {
        let mut commands = vec![
            Cdp {
                cmd: "Network.enable",
                params: json!({}),
            },
            Cdp {
                cmd: "Network.setCacheDisabled",
                params: json!({ "cacheDisabled": true }),
            },
        ];
        if let Some(net) = self.network {
            commands.push(Cdp {
                cmd: "Network.emulateNetworkConditions",
                params: json!({
                    "offline": false,
                    "latency": net.rtt_ms,
                    // DevTools wants bytes per second.
                    "downloadThroughput": f64::from(net.down_kbps) * 1000.0 / 8.0,
                    "uploadThroughput": f64::from(net.up_kbps) * 1000.0 / 8.0,
                }),
            });
        }
        if self.cpu_slowdown > 1 {
            commands.push(Cdp {
                cmd: "Emulation.setCPUThrottlingRate",
                params: json!({ "rate": self.cpu_slowdown }),
            });
        }
        commands.push(Cdp {
            cmd: "Page.addScriptToEvaluateOnNewDocument",
            params: json!({ "source": MARKS }),
        });
        commands
    }
}

/// One cold load's figures, in milliseconds from navigation start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub form_ms: f64,
    pub connected_ms: f64,
    /// Requests started up to `connected` (document, resources, sockets).
    pub requests: u32,
}

/// Loads `url` once, cold, under `profile`, and waits for both marks.
pub async fn load_once(browser: &Browser, url: &str, profile: &Profile) -> Load {
    let page = browser.open_prepared(url, &profile.commands()).await;
    let load = read_marks(&page).await;
    page.close().await;
    load
}

async fn read_marks(page: &Page) -> Load {
    let value: Value = eventually("the page to be Connected with its form live", || async {
        let value = page
            .client
            .execute(READ, vec![])
            .await
            .map_err(|e| e.to_string())?;
        match value {
            Value::String(pending) => Err(pending),
            done => Ok(Some(done)),
        }
    })
    .await;
    Load {
        form_ms: value["form"].as_f64().unwrap_or(f64::NAN),
        connected_ms: value["connected"].as_f64().unwrap_or(f64::NAN),
        requests: value["requests"].as_u64().unwrap_or_default() as u32,
    }
}

/// The median of the figures `pick` takes from each load.
pub fn median(loads: &[Load], pick: impl Fn(&Load) -> f64) -> f64 {
    let mut values: Vec<f64> = loads.iter().map(pick).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A short pause between loads, so one Chromium's exit does not overlap the
/// next one's start on a 2-core machine.
pub const BETWEEN_LOADS: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;

    fn load(connected_ms: f64) -> Load {
        Load {
            form_ms: 0.0,
            connected_ms,
            requests: 0,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        let odd = [load(3.0), load(1.0), load(2.0)];
        assert_eq!(median(&odd, |l| l.connected_ms), 2.0);
        let even = [load(4.0), load(1.0), load(3.0), load(2.0)];
        assert_eq!(median(&even, |l| l.connected_ms), 2.5);
        assert!(median(&[], |l| l.connected_ms).is_nan());
    }
}
