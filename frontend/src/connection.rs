//! The page's connection: the app's typed [`Session`] driven by
//! `sio_client::web::Client` (one websocket, one timer, back-online retry),
//! with its results published as Leptos signals.
//!
//! Also keeps identity: the chosen name lives in localStorage, and every
//! `connected` from the server re-identifies with it (see
//! [`app_client::Identity`]), so reloads and server restarts lose no one.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use app_client::{
    AckError, ClientConfig, ConnectionState, EmitError, Identity, Me, Output, PresenceView, Session,
};
use app_client::{Pending, Request, Wave};
use leptos::prelude::*;
use shared::events::{Ack, ClientEvent, ResumeToken, ServerEvent, SessionId, WaveAck, Waved};
use sio_client::link::Transports;
use sio_client::web::{now_ms, Client};
use sio_client::AckError as Lost;

use crate::browser;

/// What the view reads. Signals are `Copy`, so this is too.
#[derive(Clone, Copy)]
pub struct ConnectionSignals {
    pub state: RwSignal<ConnectionState>,
    pub presence: RwSignal<PresenceView>,
    pub me: RwSignal<Me>,
    pub session: RwSignal<Option<SessionId>>,
    /// "Ada waved at you 👋" while it shows (a few seconds).
    pub waved: RwSignal<Option<String>>,
    /// What became of this page's last wave, in words (`None`: nothing to say).
    pub wave_result: RwSignal<Option<String>>,
}

impl ConnectionSignals {
    pub fn new() -> Self {
        ConnectionSignals {
            state: RwSignal::new(ConnectionState::Connecting { attempt: 0 }),
            presence: RwSignal::new(PresenceView::default()),
            me: RwSignal::new(Me::Anonymous),
            session: RwSignal::new(None),
            waved: RwSignal::new(None),
            wave_result: RwSignal::new(None),
        }
    }
}

impl Default for ConnectionSignals {
    fn default() -> Self {
        Self::new()
    }
}

/// A handle to the live connection; clones share it.
#[derive(Clone)]
pub struct Connection {
    client: Client<Session>,
    app: Rc<RefCell<App>>,
    pub signals: ConnectionSignals,
}

type Listener = Rc<dyn Fn(&ServerEvent)>;

/// How long a wave waits for the server's answer (it asks the other nodes), ms.
const WAVE_TIMEOUT_MS: u64 = 6_000;

/// How long "Ada waved at you" stays on screen.
pub const WAVE_SHOWN_FOR: Duration = Duration::from_secs(5);

/// What the page keeps beside the session.
struct App {
    identity: Identity,
    listeners: Vec<Listener>,
    /// Whether to keep the chosen name in localStorage (off in tests).
    persist: bool,
    /// The wave in flight, and the name it was for.
    wave: Option<(Pending<WaveAck>, String)>,
    /// Waves received so far: a timer clears only the wave it was set for.
    waves_received: u32,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's base URL, e.g. `http://127.0.0.1:3000`.
    pub server: String,
    /// Websocket and/or long-polling (default: websocket first, polling
    /// when it fails).
    pub transports: Transports,
    /// Remember the name in localStorage and start with the remembered one.
    pub persist_name: bool,
    pub config: ClientConfig,
}

impl Options {
    /// Same host as the page (or `?server=` in the page URL), ws or wss to match.
    pub fn from_location() -> Self {
        Options {
            server: browser::server_base(),
            transports: Transports::default(),
            persist_name: true,
            config: app_client::config(),
        }
    }

    /// Another server, e.g. `http://127.0.0.1:5000` (tests, interop).
    pub fn to_server(base: &str) -> Self {
        Options {
            server: base.trim_end_matches('/').to_owned(),
            transports: Transports::default(),
            persist_name: false,
            config: app_client::config(),
        }
    }
}

impl Connection {
    /// Starts connecting now.
    pub fn start(options: Options) -> Connection {
        let signals = ConnectionSignals::new();
        let remembered = options
            .persist_name
            .then(browser::remembered_name)
            .flatten();
        let mut config = options.config;
        config.seed = browser::random_seed();
        let mut session = Session::new(config, now_ms());
        if options.persist_name {
            // A reload of this tab asks for its session back.
            session.set_resume(browser::resume_token().map(ResumeToken));
        }
        let identity = Identity::new(remembered);
        signals.me.set(identity.me().clone());
        let app = Rc::new(RefCell::new(App {
            identity,
            listeners: Vec::new(),
            persist: options.persist_name,
            wave: None,
            waves_received: 0,
        }));
        let weak = Rc::downgrade(&app);
        let client = Client::start(
            options.server,
            session,
            options.transports,
            move |client, output| {
                if let Some(app) = weak.upgrade() {
                    let connection = Connection {
                        client: client.clone(),
                        app,
                        signals,
                    };
                    connection.on_output(output);
                }
            },
        );
        Connection {
            client,
            app,
            signals,
        }
    }

    /// The transport carrying the connection now: `"websocket"` or
    /// `"polling"`.
    pub fn transport(&self) -> Option<&'static str> {
        self.client.transport()
    }

    /// Sends an event, no reply wanted (buffered while disconnected).
    pub fn emit(&self, event: ClientEvent) -> Result<(), EmitError> {
        self.client.with_session(|s| s.emit(event))
    }

    /// Sends a request and waits for the server's reply, whose type the
    /// request names (`Identify` → `IdentifyAck`).
    pub async fn request<Q: Request<Reply: app_client::Reply>>(
        &self,
        request: Q,
        timeout: Duration,
    ) -> Result<Q::Reply, AckError> {
        let timeout_ms = timeout.as_millis().try_into().unwrap_or(u64::MAX);
        let mut pending = None;
        let reply = self.client.request(|s| {
            let sent = s.request(now_ms(), request, timeout_ms)?;
            pending = Some(sent);
            Ok(sent.id())
        });
        match (reply, pending) {
            (Ok(reply), Some(pending)) => match reply.await {
                Some(result) => pending.decode(&result),
                None => Err(Lost::Closed.into()),
            },
            // Refused on the spot: say why, as the session said it.
            (Err(err), _) => Err(AckError::NotSent(err)),
            (Ok(_), None) => Err(Lost::Closed.into()),
        }
    }

    /// The person chose a (valid) name: remember it and identify.
    pub fn set_name(&self, name: String) {
        if self.app.borrow().persist {
            browser::remember_name(&name);
        }
        self.with_identity(|identity, session| identity.identify(session, now_ms(), name));
    }

    /// Waves at `to` (named `name` on screen); what came of it shows in
    /// `signals.wave_result` when the ack is in (a newer wave replaces an
    /// older one's answer).
    pub fn wave(&self, to: SessionId, name: String) {
        let sent = self
            .client
            .with_session(|s| s.request(now_ms(), Wave { to }, WAVE_TIMEOUT_MS));
        match sent {
            Ok(pending) => self.app.borrow_mut().wave = Some((pending, name)),
            Err(err) => self.signals.wave_result.set(Some(err.to_string())),
        }
    }

    /// The answer to the wave in flight, if `id` is its ack.
    fn on_wave_ack(&self, id: app_client::AckId, result: &app_client::RawReply) {
        let Some((pending, name)) = self
            .app
            .borrow_mut()
            .wave
            .take_if(|(pending, _)| pending.id() == id)
        else {
            return;
        };
        let note = match pending.decode(result) {
            Ok(Ack::Ok(_)) => ["You waved at ", &name, "."].concat(),
            Ok(Ack::Err(refusal)) => refusal.message,
            Err(_) => "The wave may not have arrived: no answer from the server.".to_owned(),
        };
        self.signals.wave_result.set(Some(note));
    }

    /// Calls `listener` for every event the server sends.
    pub fn on_event(&self, listener: impl Fn(&ServerEvent) + 'static) {
        self.app.borrow_mut().listeners.push(Rc::new(listener));
    }

    /// Leaves and stops reconnecting.
    pub fn close(&self) {
        self.client.with_session(Session::close);
    }

    /// Runs `f` on the identity and the session it speaks through, then
    /// shows the identity's `me` (the identity is the one source of truth;
    /// the signal mirrors it for the view).
    fn with_identity(&self, f: impl FnOnce(&mut Identity, &mut Session)) {
        let me = self.client.with_session(|session| {
            let mut app = self.app.borrow_mut();
            f(&mut app.identity, session);
            app.identity.me().clone()
        });
        if self.signals.me.with_untracked(|shown| *shown != me) {
            self.signals.me.set(me);
        }
    }

    /// Everything the session hands out that is not transport work.
    fn on_output(&self, output: Output) {
        match output {
            Output::State(state) => self.on_state(state),
            Output::Event(event) => self.on_server_event(&event),
            Output::Ack { id, result } => {
                let mut answered = false;
                self.with_identity(|identity, _| {
                    answered = identity.on_session_ack(id, &result);
                });
                if !answered {
                    self.on_wave_ack(id, &result);
                }
            }
            Output::Warning(message) => web_sys::console::warn_1(&message.into()),
            Output::OpenTransport | Output::Send(_) | Output::CloseTransport => {}
        }
    }

    fn on_state(&self, state: ConnectionState) {
        if !matches!(state, ConnectionState::Connected) {
            self.app.borrow_mut().identity.on_disconnected();
            self.signals.session.set(None);
            // Who was online is unknown until the next snapshot: show nobody
            // rather than a list that silently goes stale.
            if self.signals.presence.with_untracked(|p| !p.is_empty()) {
                self.signals.presence.update(PresenceView::clear);
            }
        }
        self.signals.state.set(state);
    }

    fn on_server_event(&self, event: &ServerEvent) {
        match event {
            ServerEvent::Connected(payload) => {
                // The original page logged this on every connect.
                web_sys::console::log_1(&"Connected".into());
                let session = payload.as_ref().map(|c| c.uuid.clone());
                self.signals.session.set(session.clone());
                let token = payload.as_ref().and_then(|c| c.resume.clone());
                self.keep_resume_token(token);
                self.with_identity(|identity, s| identity.connected(s, now_ms(), session));
            }
            ServerEvent::Presence(presence) => {
                self.signals.presence.update(|view| {
                    view.apply(presence);
                });
            }
            ServerEvent::Waved(waved) => self.on_waved(waved),
        }
        // Cloned out, so a listener may use the connection.
        let listeners = self.app.borrow().listeners.clone();
        for listener in listeners {
            listener(event);
        }
    }

    /// Shows "Ada waved at you 👋" for [`WAVE_SHOWN_FOR`], unless a newer
    /// wave replaces it first.
    fn on_waved(&self, waved: &Waved) {
        let number = {
            let mut app = self.app.borrow_mut();
            app.waves_received = app.waves_received.wrapping_add(1);
            app.waves_received
        };
        let shown = self.signals.waved;
        shown.set(Some([&waved.name, " waved at you 👋"].concat()));
        let app = Rc::downgrade(&self.app);
        set_timeout(
            move || {
                if app
                    .upgrade()
                    .is_some_and(|app| app.borrow().waves_received == number)
                {
                    shown.set(None);
                }
            },
            WAVE_SHOWN_FOR,
        );
    }

    /// Every later CONNECT (reconnects) carries the newest token, and so does
    /// a reload when the name is persisted. Without one (other servers), the
    /// name is re-identified as before.
    fn keep_resume_token(&self, token: Option<ResumeToken>) {
        if self.app.borrow().persist {
            if let Some(token) = &token {
                browser::remember_resume_token(&token.0);
            }
        }
        self.client.with_session(|s| s.set_resume(token));
    }
}
