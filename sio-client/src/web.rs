//! The browser shell (feature `web`): [`Client`] drives a sans-IO session
//! (the generic [`crate::Session`] or a typed layer on it) with one
//! websocket ([`Transport`], gloo-net) and one timer (gloo-timers), retries
//! at once when the browser goes back online, and hands every other output
//! to one callback. Emits with an ack can be awaited ([`Client::request`]).
//! It depends on no UI framework; a Leptos page sets signals in the callback.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

use crate::driven::{Driven, Io};
use crate::session::{AckId, EmitError, Output};

/// What a transport tells its owner.
pub enum TransportEvent {
    Text(String),
    Binary,
    Closed,
}

/// One open (or opening) websocket. Dropping it closes the socket and stops
/// its tasks; frames from a dropped transport are never delivered.
pub struct Transport {
    outgoing: mpsc::UnboundedSender<Message>,
    /// Dropped with the transport: ends the reader task, which releases the socket.
    _cancel: oneshot::Sender<()>,
}

impl Transport {
    /// Opens `url` and calls `on_event` for each frame and once when it ends.
    pub fn open(url: &str, on_event: impl Fn(TransportEvent) + 'static) -> Transport {
        let (outgoing, mut queue) = mpsc::unbounded::<Message>();
        let (cancel, cancelled) = oneshot::channel::<()>();
        match WebSocket::open(url) {
            Ok(ws) => {
                let (mut write, read) = ws.split();
                spawn_local(async move {
                    while let Some(message) = queue.next().await {
                        if write.send(message).await.is_err() {
                            break;
                        }
                    }
                    // Dropping the write half (and with it the socket) closes it.
                });
                spawn_local(async move {
                    let mut read = read.take_until(cancelled);
                    while let Some(Ok(message)) = read.next().await {
                        match message {
                            Message::Text(text) => on_event(TransportEvent::Text(text)),
                            Message::Bytes(_) => on_event(TransportEvent::Binary),
                        }
                    }
                    // Closed by the server or the network, not by our owner.
                    if !read.is_stopped() {
                        on_event(TransportEvent::Closed);
                    }
                });
            }
            Err(err) => {
                web_sys::console::warn_1(&format!("cannot open {url}: {err}").into());
                spawn_local(async move { on_event(TransportEvent::Closed) });
            }
        }
        Transport {
            outgoing,
            _cancel: cancel,
        }
    }

    /// Queues a text frame (sent once the socket is open).
    pub fn send(&self, frame: String) {
        let _ = self.outgoing.unbounded_send(Message::Text(frame));
    }
}

/// Monotonic milliseconds (`performance.now()`): the session's clock in a
/// browser.
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now()) as u64
}

/// What the application is handed: every output that is not transport work.
type Callback<S> = dyn Fn(&Client<S>, Output<<S as Driven>::Event, <S as Driven>::Reply>);

/// A session driven in the browser; clones share it. See the module docs.
pub struct Client<S: Driven> {
    inner: Rc<RefCell<Inner<S>>>,
    on_output: Rc<Callback<S>>,
}

impl<S: Driven> Clone for Client<S> {
    fn clone(&self) -> Self {
        Client {
            inner: Rc::clone(&self.inner),
            on_output: Rc::clone(&self.on_output),
        }
    }
}

/// The mutable part: the session and everything bound to one transport.
struct Inner<S: Driven> {
    url: String,
    session: S,
    transport: Option<Transport>,
    timer: Option<Timeout>,
    /// Replies someone awaits ([`Client::request`]); they skip the callback.
    waiters: HashMap<AckId, oneshot::Sender<S::Reply>>,
    /// Set while outputs are being handed out, so a callback that uses the
    /// session does not start a second, nested round.
    pumping: bool,
}

impl<S: Driven + 'static> Client<S> {
    /// Starts driving `session` (which connects at once) against the
    /// websocket `url`; `on_output` gets states, events, unawaited acks and
    /// warnings, in order. The client lives as long as a clone of it does.
    pub fn start(
        url: String,
        session: S,
        on_output: impl Fn(&Client<S>, Output<S::Event, S::Reply>) + 'static,
    ) -> Self {
        let client = Client {
            inner: Rc::new(RefCell::new(Inner {
                url,
                session,
                transport: None,
                timer: None,
                waiters: HashMap::new(),
                pumping: false,
            })),
            on_output: Rc::new(on_output),
        };
        let weak = client.downgrade();
        on_online(move || {
            if let Some(client) = weak.upgrade() {
                client.with_session(|s| s.retry_now(now_ms()));
            }
        });
        client.pump();
        client
    }

    /// Runs `f` on the session (emit, close, set auth…), then carries out
    /// whatever it asked for.
    pub fn with_session<T>(&self, f: impl FnOnce(&mut S) -> T) -> T {
        let result = f(&mut self.inner.borrow_mut().session);
        self.pump();
        result
    }

    /// Runs `f`, an emit-with-ack on the session, and returns a future of
    /// its reply (which then skips the callback).
    ///
    /// # Errors
    /// The emit's own error, at once.
    pub fn request(
        &self,
        f: impl FnOnce(&mut S) -> Result<AckId, EmitError>,
    ) -> Result<ReplyFuture<S::Reply>, EmitError> {
        let id = f(&mut self.inner.borrow_mut().session)?;
        let (sender, receiver) = oneshot::channel();
        self.inner.borrow_mut().waiters.insert(id, sender);
        self.pump();
        Ok(ReplyFuture(receiver))
    }

    /// Carries out everything the session asked for, then re-arms the timer.
    fn pump(&self) {
        if std::mem::replace(&mut self.inner.borrow_mut().pumping, true) {
            return;
        }
        loop {
            let next = self.inner.borrow_mut().session.poll_output();
            let Some(output) = next else { break };
            match output.into_io() {
                Ok(io) => self.carry_out(io),
                Err(Output::Ack { id, result }) => {
                    let waiter = self.inner.borrow_mut().waiters.remove(&id);
                    match waiter {
                        Some(waiter) => {
                            let _ = waiter.send(result);
                        }
                        None => (self.on_output)(self, Output::Ack { id, result }),
                    }
                }
                Err(output) => (self.on_output)(self, output),
            }
        }
        self.inner.borrow_mut().pumping = false;
        self.arm_timer();
    }

    fn carry_out(&self, io: Io) {
        match io {
            Io::Open => self.open_transport(),
            Io::Send(frame) => {
                if let Some(transport) = &self.inner.borrow().transport {
                    transport.send(frame);
                }
            }
            Io::Close => {
                let closed = self.inner.borrow_mut().transport.take();
                drop(closed);
            }
        }
    }

    fn open_transport(&self) {
        let weak = self.downgrade();
        let url = self.inner.borrow().url.clone();
        let transport = Transport::open(&url, move |event| {
            let Some(client) = weak.upgrade() else { return };
            let now = now_ms();
            client.with_session(|s| match event {
                TransportEvent::Text(frame) => s.handle_text(now, &frame),
                TransportEvent::Binary => s.handle_binary(),
                TransportEvent::Closed => s.handle_transport_closed(now),
            });
        });
        self.inner.borrow_mut().transport = Some(transport);
    }

    fn arm_timer(&self) {
        let next = self.inner.borrow().session.next_timeout();
        let timer = next.map(|at| {
            let delay = u32::try_from(at.saturating_sub(now_ms())).unwrap_or(u32::MAX);
            let weak = self.downgrade();
            Timeout::new(delay, move || {
                if let Some(client) = weak.upgrade() {
                    client.with_session(|s| s.handle_timeout(now_ms()));
                }
            })
        });
        self.inner.borrow_mut().timer = timer;
    }

    fn downgrade(&self) -> WeakClient<S> {
        WeakClient {
            inner: Rc::downgrade(&self.inner),
            on_output: Rc::downgrade(&self.on_output),
        }
    }
}

/// The reply to a [`Client::request`]; `None` if the client is dropped first.
pub struct ReplyFuture<R>(oneshot::Receiver<R>);

impl<R> Future for ReplyFuture<R> {
    type Output = Option<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R>> {
        Pin::new(&mut self.0).poll(cx).map(Result::ok)
    }
}

/// A [`Client`] that timers and sockets hold without keeping it alive.
struct WeakClient<S: Driven> {
    inner: std::rc::Weak<RefCell<Inner<S>>>,
    on_output: std::rc::Weak<Callback<S>>,
}

impl<S: Driven> WeakClient<S> {
    fn upgrade(&self) -> Option<Client<S>> {
        Some(Client {
            inner: self.inner.upgrade()?,
            on_output: self.on_output.upgrade()?,
        })
    }
}

/// Calls `callback` each time the browser goes back online (the window's
/// `online` event), for the life of the page. The callback holds only weak
/// references: it is never removed.
fn on_online(callback: impl Fn() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let closure = Closure::<dyn Fn()>::new(callback);
    if window
        .add_event_listener_with_callback("online", closure.as_ref().unchecked_ref())
        .is_ok()
    {
        closure.forget();
    }
}
