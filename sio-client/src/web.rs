//! The browser shell (feature `web`): [`Client`] drives a sans-IO session
//! (the generic [`crate::Session`] or a typed layer on it) through a
//! [`Link`] (websocket or long-polling, the upgrade, the server's
//! generation), carrying out its work with one websocket ([`Transport`],
//! the browser's own), `XMLHttpRequest`s and one timer (gloo-timers). It retries at
//! once when the browser goes back online, and hands every other output to
//! one callback. Emits with an ack can be awaited ([`Client::request`]).
//! It depends on no UI framework; a Leptos page sets signals in the callback.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::channel::oneshot;
use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;

use crate::ack_table::AckTable;
use crate::driven::Driven;
use crate::link::{Link, LinkIo, Method, RequestId, Transports};
use crate::session::{AckId, EmitError, Output};

/// What a transport tells its owner.
pub enum TransportEvent {
    /// A text frame arrived.
    Text(String),
    /// A binary frame arrived (its content is not kept).
    Binary,
    /// The socket closed or failed (reported once), or could not be opened.
    Closed,
}

/// One open (or opening) websocket: the browser's own `WebSocket`, its
/// handlers and the frames waiting for it to open. Dropping it closes the
/// socket; frames from a dropped transport are never delivered.
///
/// Why not gloo-net's websocket: its futures (a stream split with a lock,
/// channels, spawned tasks) cost the page several KB, and the session needs
/// none of it: every event goes straight to one callback.
pub struct Transport {
    socket: Option<web_sys::WebSocket>,
    /// Frames sent while the socket is still connecting.
    queue: Rc<RefCell<Vec<String>>>,
    /// Kept alive as long as the socket can call them.
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl Transport {
    /// Opens `url` and calls `on_event` for each frame and once when it ends.
    pub fn open(url: &str, on_event: impl Fn(TransportEvent) + 'static) -> Transport {
        let on_event: Rc<dyn Fn(TransportEvent)> = Rc::new(on_event);
        let queue = Rc::new(RefCell::new(Vec::<String>::new()));
        let socket = web_sys::WebSocket::new(url).ok();
        let on_open = {
            let (socket, queue) = (socket.clone(), Rc::clone(&queue));
            Closure::new(move |_: JsValue| {
                let Some(socket) = &socket else { return };
                for frame in queue.borrow_mut().drain(..) {
                    let _ = socket.send_with_str(&frame);
                }
            })
        };
        let on_message = {
            let on_event = Rc::clone(&on_event);
            Closure::new(move |event: JsValue| {
                let data = event.unchecked_into::<web_sys::MessageEvent>().data();
                on_event(match data.as_string() {
                    Some(text) => TransportEvent::Text(text),
                    None => TransportEvent::Binary,
                });
            })
        };
        // `close` follows every `error`, once: closed by the server or the
        // network (our own close removes the handlers first).
        let on_close = {
            let on_event = Rc::clone(&on_event);
            Closure::new(move |_: JsValue| on_event(TransportEvent::Closed))
        };
        match &socket {
            Some(socket) => {
                socket.set_binary_type(web_sys::BinaryType::Arraybuffer);
                socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
                socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            }
            None => {
                web_sys::console::warn_1(&["cannot open ", url].concat().into());
                spawn_local(async move { on_event(TransportEvent::Closed) });
            }
        }
        Transport {
            socket,
            queue,
            _handlers: [on_open, on_message, on_close],
        }
    }

    /// Sends a text frame, or queues it until the socket is open.
    pub fn send(&self, frame: String) {
        let Some(socket) = &self.socket else { return };
        match socket.ready_state() {
            web_sys::WebSocket::CONNECTING => self.queue.borrow_mut().push(frame),
            web_sys::WebSocket::OPEN => {
                let _ = socket.send_with_str(&frame);
            }
            _ => {}
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Some(socket) = &self.socket {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close();
        }
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
    /// The server's base URL, `http(s)://host:port`.
    base: String,
    link: Link<S>,
    transport: Option<Transport>,
    timer: Option<Timeout>,
    /// Replies someone awaits ([`Client::request`]); they skip the callback.
    waiters: AckTable<oneshot::Sender<S::Reply>>,
    /// Set while outputs are being handed out, so a callback that uses the
    /// session does not start a second, nested round.
    pumping: bool,
}

impl<S: Driven + 'static> Client<S> {
    /// Starts driving `session` (which connects at once) against the server
    /// at `base` (`http(s)://host:port`) over `transports`; `on_output` gets
    /// states, events, unawaited acks and warnings, in order. The client
    /// lives as long as a clone of it does.
    pub fn start(
        base: String,
        session: S,
        transports: Transports,
        on_output: impl Fn(&Client<S>, Output<S::Event, S::Reply>) + 'static,
    ) -> Self {
        let client = Client {
            inner: Rc::new(RefCell::new(Inner {
                base: base.trim_end_matches('/').to_owned(),
                link: Link::new(session, transports),
                transport: None,
                timer: None,
                waiters: AckTable::default(),
                pumping: false,
            })),
            on_output: Rc::new(on_output),
        };
        let weak = client.downgrade();
        on_online(move || {
            if let Some(client) = weak.upgrade() {
                client.with_link(|link| link.retry_now(now_ms()));
            }
        });
        client.pump();
        client
    }

    /// The transport carrying the session now (see [`Link::transport`]).
    pub fn transport(&self) -> Option<&'static str> {
        self.inner.borrow().link.transport()
    }

    /// Runs `f` on the session (emit, close, set auth…), then carries out
    /// whatever it asked for.
    pub fn with_session<T>(&self, f: impl FnOnce(&mut S) -> T) -> T {
        self.with_link(|link| {
            let result = f(link.session_mut());
            link.after_session();
            result
        })
    }

    /// Runs `f` on the link (an I/O event), then carries out its work.
    fn with_link<T>(&self, f: impl FnOnce(&mut Link<S>) -> T) -> T {
        let result = f(&mut self.inner.borrow_mut().link);
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
        let id = {
            let link = &mut self.inner.borrow_mut().link;
            let id = f(link.session_mut());
            link.after_session();
            id?
        };
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
            let io = self.inner.borrow_mut().link.poll_io();
            if let Some(io) = io {
                self.carry_out(io);
                continue;
            }
            let next = self.inner.borrow_mut().link.poll_output();
            let Some(output) = next else { break };
            match output {
                Output::Ack { id, result } => {
                    let waiter = self.inner.borrow_mut().waiters.remove(id);
                    match waiter {
                        Some(waiter) => {
                            let _ = waiter.send(result);
                        }
                        None => (self.on_output)(self, Output::Ack { id, result }),
                    }
                }
                output => (self.on_output)(self, output),
            }
        }
        self.inner.borrow_mut().pumping = false;
        self.arm_timer();
    }

    fn carry_out(&self, io: LinkIo) {
        match io {
            LinkIo::OpenSocket { path } => self.open_socket(&path),
            LinkIo::SendSocket(frame) => {
                if let Some(transport) = &self.inner.borrow().transport {
                    transport.send(frame);
                }
            }
            LinkIo::CloseSocket => {
                let closed = self.inner.borrow_mut().transport.take();
                drop(closed);
            }
            LinkIo::Request {
                id,
                method,
                path,
                content_type,
                body,
            } => self.request_http(id, method, &path, content_type, &body),
        }
    }

    fn open_socket(&self, path: &str) {
        let weak = self.downgrade();
        let url = websocket_url(&self.inner.borrow().base, path);
        // Drop the previous socket first: its frames must not reach the link.
        drop(self.inner.borrow_mut().transport.take());
        let transport = Transport::open(&url, move |event| {
            let Some(client) = weak.upgrade() else { return };
            let now = now_ms();
            client.with_link(|link| match event {
                TransportEvent::Text(frame) => link.handle_socket_text(now, &frame),
                TransportEvent::Binary => link.handle_socket_binary(),
                TransportEvent::Closed => link.handle_socket_closed(now),
            });
        });
        self.inner.borrow_mut().transport = Some(transport);
    }

    fn request_http(
        &self,
        id: RequestId,
        method: Method,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) {
        let weak = self.downgrade();
        let url = format!("{}{path}", self.inner.borrow().base);
        http_request(&url, method, content_type, body, move |answer| {
            let Some(client) = weak.upgrade() else { return };
            let now = now_ms();
            client.with_link(|link| match answer {
                Some((status, body)) => link.handle_response(now, id, status, &body),
                None => link.handle_request_failed(now, id),
            });
        });
    }

    fn arm_timer(&self) {
        let next = self.inner.borrow().link.next_timeout();
        let timer = next.map(|at| {
            let delay = u32::try_from(at.saturating_sub(now_ms())).unwrap_or(u32::MAX);
            let weak = self.downgrade();
            Timeout::new(delay, move || {
                if let Some(client) = weak.upgrade() {
                    client.with_link(|link| link.handle_timeout(now_ms()));
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

/// `http://h:p` + path → `ws://h:p` + path (https → wss).
fn websocket_url(base: &str, path: &str) -> String {
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}{path}")
}

/// One `XMLHttpRequest` with the page's credentials (cookies: socket.io
/// servers may pin a polling session with one); `done` gets the status and
/// body, or `None` when no answer came (network error, refused, aborted).
fn http_request(
    url: &str,
    method: Method,
    content_type: &str,
    body: &[u8],
    done: impl FnOnce(Option<(u16, Vec<u8>)>) + 'static,
) {
    use web_sys::{XmlHttpRequest, XmlHttpRequestResponseType};
    let Ok(xhr) = XmlHttpRequest::new() else {
        return spawn_local(async move { done(None) });
    };
    let method_name = match method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    if xhr.open_with_async(method_name, url, true).is_err() {
        return spawn_local(async move { done(None) });
    }
    xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
    xhr.set_with_credentials(true);
    // Called once: by `loadend` (after success, error or abort), or here if
    // the request cannot even be sent.
    let done = Rc::new(RefCell::new(Some(done)));
    let reader = xhr.clone();
    let on_end_done = Rc::clone(&done);
    let on_end = Closure::once_into_js(move || {
        let Some(done) = on_end_done.borrow_mut().take() else {
            return;
        };
        let status = reader.status().unwrap_or(0);
        if status == 0 {
            return done(None);
        }
        let body = reader
            .response()
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
            .unwrap_or_default();
        done(Some((status, body)));
    });
    xhr.set_onloadend(Some(on_end.unchecked_ref()));
    let sent = match method {
        Method::Get => xhr.send(),
        Method::Post => xhr
            .set_request_header("Content-Type", content_type)
            .and_then(|()| xhr.send_with_opt_u8_array(Some(body))),
    };
    if sent.is_err() {
        if let Some(done) = done.borrow_mut().take() {
            spawn_local(async move { done(None) });
        }
    }
}
