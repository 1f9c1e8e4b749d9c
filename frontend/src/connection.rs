//! The page's connection: the sans-IO [`Session`] driven by a browser
//! websocket and one timer, with its results published as Leptos signals.
//!
//! Also keeps identity: the chosen name lives in localStorage, and every
//! `connected` from the server re-identifies with it (see
//! [`shared::client::Identity`]), so reloads and server restarts lose no one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures::channel::oneshot;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use shared::client::{
    AckError, AckId, ClientConfig, ConnectionState, EmitError, Identity, Me, Output, PresenceView,
    Session,
};
use shared::events::{Ack, ClientEvent, ResumeToken, ServerEvent, SessionId};
use sio_client::AckError as Lost;

use crate::browser;
use sio_client::web::{Transport, TransportEvent};

/// What the view reads. Signals are `Copy`, so this is too.
#[derive(Clone, Copy)]
pub struct ConnectionSignals {
    pub state: RwSignal<ConnectionState>,
    pub presence: RwSignal<PresenceView>,
    pub me: RwSignal<Me>,
    pub session: RwSignal<Option<SessionId>>,
}

impl ConnectionSignals {
    pub fn new() -> Self {
        ConnectionSignals {
            state: RwSignal::new(ConnectionState::Connecting { attempt: 0 }),
            presence: RwSignal::new(PresenceView::default()),
            me: RwSignal::new(Me::Anonymous),
            session: RwSignal::new(None),
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
    driver: Rc<RefCell<Driver>>,
    pub signals: ConnectionSignals,
}

type Listener = Rc<dyn Fn(&ServerEvent)>;

/// The mutable heart: the session and everything bound to one transport.
struct Driver {
    url: String,
    session: Session,
    identity: Identity,
    transport: Option<Transport>,
    timer: Option<Timeout>,
    waiters: HashMap<AckId, oneshot::Sender<Result<Ack, AckError>>>,
    listeners: Vec<Listener>,
    /// Whether to keep the chosen name in localStorage (off in tests).
    persist: bool,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The full websocket URL, e.g. `ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket`.
    pub url: String,
    /// Remember the name in localStorage and start with the remembered one.
    pub persist_name: bool,
    pub config: ClientConfig,
}

impl Options {
    /// Same host as the page (or `?server=` in the page URL), ws or wss to match.
    pub fn from_location() -> Self {
        Options {
            url: browser::socket_url(),
            persist_name: true,
            config: shared::client::config(),
        }
    }

    /// Another server, e.g. `http://127.0.0.1:5000` (tests, interop).
    pub fn to_server(base: &str) -> Self {
        Options {
            url: browser::socket_url_for(base),
            persist_name: false,
            config: shared::client::config(),
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
        let mut session = Session::new(config, browser::now_ms());
        if options.persist_name {
            // A reload of this tab asks for its session back.
            let token = browser::resume_token().map(ResumeToken);
            session.set_resume(token);
        }
        let identity = Identity::new(remembered);
        signals.me.set(identity.me().clone());
        let driver = Driver {
            url: options.url,
            session,
            identity,
            transport: None,
            timer: None,
            waiters: HashMap::new(),
            listeners: Vec::new(),
            persist: options.persist_name,
        };
        let connection = Connection {
            driver: Rc::new(RefCell::new(driver)),
            signals,
        };
        // Back online: retry now rather than at the end of the backoff delay.
        let weak = Rc::downgrade(&connection.driver);
        browser::on_online(move || {
            if let Some(driver) = weak.upgrade() {
                let connection = Connection { driver, signals };
                connection.with_session(|s| s.retry_now(browser::now_ms()));
                connection.pump();
            }
        });
        connection.pump();
        connection
    }

    /// Sends an event, no reply wanted (buffered while disconnected).
    pub fn emit(&self, event: ClientEvent) -> Result<(), EmitError> {
        let result = self.with_session(|s| s.emit(event));
        self.pump();
        result
    }

    /// Sends an event and waits for the server's typed reply.
    pub async fn emit_with_ack(
        &self,
        event: ClientEvent,
        timeout: Duration,
    ) -> Result<Ack, AckError> {
        let timeout_ms = timeout.as_millis().try_into().unwrap_or(u64::MAX);
        let emitted = self.with_session(|s| s.emit_with_ack(browser::now_ms(), event, timeout_ms));
        let receiver = match emitted {
            Ok(id) => {
                let (sender, receiver) = oneshot::channel();
                self.driver.borrow_mut().waiters.insert(id, sender);
                receiver
            }
            Err(EmitError::TooLarge { size, max }) => {
                return Err(Lost::TooLarge { size, max }.into())
            }
            Err(_) => return Err(Lost::Closed.into()),
        };
        self.pump();
        receiver.await.unwrap_or(Err(Lost::Closed.into()))
    }

    /// The person chose a (valid) name: remember it and identify.
    pub fn set_name(&self, name: String) {
        if self.driver.borrow().persist {
            browser::remember_name(&name);
        }
        self.with_identity(|identity, session| identity.identify(session, browser::now_ms(), name));
        self.pump();
    }

    /// Calls `listener` for every event the server sends.
    pub fn on_event(&self, listener: impl Fn(&ServerEvent) + 'static) {
        self.driver.borrow_mut().listeners.push(Rc::new(listener));
    }

    /// Leaves and stops reconnecting.
    pub fn close(&self) {
        self.with_session(|s| s.close());
        self.pump();
    }

    /// Runs `f` on the identity and the session it speaks through, then
    /// shows the identity's `me` (the identity is the one source of truth;
    /// the signal mirrors it for the view).
    fn with_identity(&self, f: impl FnOnce(&mut Identity, &mut Session)) {
        let me = {
            let mut driver = self.driver.borrow_mut();
            let Driver {
                identity, session, ..
            } = &mut *driver;
            f(identity, session);
            identity.me().clone()
        };
        if self.signals.me.with_untracked(|shown| *shown != me) {
            self.signals.me.set(me);
        }
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> T {
        f(&mut self.driver.borrow_mut().session)
    }

    /// Carries out everything the session asked for, then re-arms the timer.
    fn pump(&self) {
        loop {
            let next = self.driver.borrow_mut().session.poll_output();
            match next {
                Some(output) => self.carry_out(output),
                None => break,
            }
        }
        self.arm_timer();
    }

    fn carry_out(&self, output: Output) {
        match output {
            Output::OpenTransport => self.open_transport(),
            Output::Send(frame) => {
                if let Some(transport) = &self.driver.borrow().transport {
                    transport.send(frame);
                }
            }
            Output::CloseTransport => {
                self.driver.borrow_mut().transport = None;
            }
            Output::State(state) => self.on_state(state),
            Output::Event(event) => self.on_server_event(&event),
            Output::Ack { id, result } => self.on_ack(id, result),
            Output::Warning(message) => web_sys::console::warn_1(&message.into()),
        }
    }

    fn on_state(&self, state: ConnectionState) {
        if !matches!(state, ConnectionState::Connected) {
            self.driver.borrow_mut().identity.on_disconnected();
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
                self.with_identity(|identity, s| identity.connected(s, browser::now_ms(), session));
            }
            ServerEvent::Presence(presence) => {
                self.signals.presence.update(|view| {
                    view.apply(presence);
                });
            }
        }
        // Cloned out, so a listener may use the connection.
        let listeners = self.driver.borrow().listeners.clone();
        for listener in listeners {
            listener(event);
        }
    }

    /// Every later CONNECT (reconnects) carries the newest token, and so does
    /// a reload when the name is persisted. Without one (other servers), the
    /// name is re-identified as before.
    fn keep_resume_token(&self, token: Option<ResumeToken>) {
        let mut driver = self.driver.borrow_mut();
        if driver.persist {
            if let Some(token) = &token {
                browser::remember_resume_token(&token.0);
            }
        }
        driver.session.set_resume(token);
    }

    fn on_ack(&self, id: AckId, result: Result<Ack, AckError>) {
        self.with_identity(|identity, _| {
            identity.on_session_ack(id, &result);
        });
        let waiter = self.driver.borrow_mut().waiters.remove(&id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(result);
        }
    }

    fn open_transport(&self) {
        let weak: Weak<RefCell<Driver>> = Rc::downgrade(&self.driver);
        let signals = self.signals;
        let url = self.driver.borrow().url.clone();
        let transport = Transport::open(&url, move |event| {
            let Some(driver) = weak.upgrade() else { return };
            let connection = Connection { driver, signals };
            let now = browser::now_ms();
            connection.with_session(|s| match event {
                TransportEvent::Text(frame) => s.handle_text(now, &frame),
                TransportEvent::Binary => s.handle_binary(),
                TransportEvent::Closed => s.handle_transport_closed(now),
            });
            connection.pump();
        });
        self.driver.borrow_mut().transport = Some(transport);
    }

    fn arm_timer(&self) {
        let next = self.driver.borrow().session.next_timeout();
        let timer = next.map(|at| {
            let delay = at.saturating_sub(browser::now_ms()).min(u32::MAX as u64) as u32;
            let weak = Rc::downgrade(&self.driver);
            let signals = self.signals;
            Timeout::new(delay, move || {
                if let Some(driver) = weak.upgrade() {
                    let connection = Connection { driver, signals };
                    connection.with_session(|s| s.handle_timeout(browser::now_ms()));
                    connection.pump();
                }
            })
        });
        self.driver.borrow_mut().timer = timer;
    }
}
