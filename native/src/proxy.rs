//! A real HTTP/1.1 reverse proxy whose backend choice and health checking are the engine's
//! [`Balancer`] actor (46.4), run unchanged by the real-time driver: the very code the `lb`
//! scenario simulates decides where each request goes, when a backend leaves rotation and when it
//! comes back.
//!
//! The actor speaks `LbMsg`; here its peers are real. The front end is an external node of the
//! world: each HTTP request becomes `Request { id, key }` to the balancer (the key is the
//! `x-key` header, else the request's path, for the hashing algorithms), and the balancer's
//! `Answer` releases the response. Each backend is an external node too, behind an adapter:
//! `Forward { id, request }` becomes the client's request sent to that backend over a pool of
//! kept-alive connections (the chapter's checker opens a session per probe), its answer comes
//! back as `Done` (a 5xx or a refused connection is a failure, which passive checks count), and
//! `Probe` becomes `GET /health`, answered by `ProbeOk` when it returns 200. Timeouts are the
//! actor's own timers: a backend that does not answer in time fails at the balancer, whatever
//! the adapter is still waiting for.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use distlab_engine::NodeId;
use distlab_engine::balance::balancer::{Balancer, BalancerConfig};
use distlab_engine::balance::{LbMsg, LbObs, LbProtocol, Transition};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::driver::{Injector, LiveWorld, StopWhen};
use crate::http_backend::{respond, serve_http};

/// The largest request or response body the proxy buffers.
pub const BODY_MAX: usize = 1 << 20;

/// A backend the proxy sends to: its name, its base URL (`http://host:port`) and its weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub url: String,
    pub weight: u32,
}

/// What happened, as the proxy reports it while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The balancer took `backend` out of rotation or put it back.
    Health { backend: String, to: Transition, by_probes: bool },
}

/// Answers the proxy's own paths, `/_distlab/<rest>`, with `rest`: the text to send back, or
/// `None` for a path it does not know (404).
pub type Admin = Rc<dyn Fn(&str) -> Option<String>>;

/// Counts since the proxy started.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: Cell<u64>,
    pub failed: Cell<u64>,
    /// Requests the balancer sent each backend, in the targets' order.
    pub routed: RefCell<Vec<u64>>,
}

/// A client's request, buffered.
#[derive(Clone, Debug)]
struct Asked {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A backend's response, buffered.
#[derive(Debug)]
struct Answered {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// What the front end and the adapters share.
#[derive(Debug, Default)]
struct Books {
    next: Cell<u64>,
    /// Client requests not answered yet: the request, and who waits for the balancer's answer.
    waiting: RefCell<BTreeMap<u64, (Asked, oneshot::Sender<bool>)>>,
    /// Backends' responses to requests still waiting.
    responses: RefCell<BTreeMap<u64, Answered>>,
}

/// A running proxy. Dropping it stops everything it started.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    pub stats: Rc<Stats>,
    _tasks: JoinSet<()>,
}

impl Proxy {
    /// Starts the proxy on `listener` in front of `targets`, with one balancer configured by
    /// `cfg`; `report` hears every event. Must be called inside a `LocalSet`.
    pub fn start(
        listener: std::net::TcpListener,
        targets: &[Target],
        cfg: BalancerConfig,
        seed: u64,
        report: Rc<dyn Fn(Event)>,
        admin: Option<Admin>,
    ) -> std::io::Result<Proxy> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = TcpListener::from_std(listener)?;
        let stats = Rc::new(Stats { routed: RefCell::new(vec![0; targets.len()]), ..Stats::default() });
        let mut world = LiveWorld::<LbProtocol>::new(seed);
        let (front, mut front_rx) = world.add_external("http");
        let mut adapters = Vec::new();
        let mut list = Vec::new();
        for t in targets {
            let (id, rx) = world.add_external(t.name.clone());
            adapters.push((id, rx, t.url.clone()));
            list.push((id, t.name.clone(), t.weight));
        }
        let balancer = world.add_actor("lb-1", Balancer::new(cfg.clone(), &list));
        let inbox = world.inbox(balancer).expect("the balancer is an actor");
        let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        let observer_stats = Rc::clone(&stats);
        let world = world.with_observer(Rc::new(move |o| match &o.obs {
            LbObs::Routed { backend, .. } => {
                if let Some(n) = observer_stats.routed.borrow_mut().get_mut(*backend as usize) {
                    *n += 1;
                }
            }
            LbObs::Health { backend, to, cause } => report(Event::Health {
                backend: names.get(*backend as usize).cloned().unwrap_or_default(),
                to: *to,
                by_probes: *cause == distlab_engine::balance::Cause::Probes,
            }),
            _ => {}
        }));
        let books = Rc::new(Books::default());
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build_http();
        let probe_timeout = Duration::from_millis(cfg.health.map_or(5_000, |h| h.timeout_ms));
        let mut tasks = JoinSet::new();
        // The world runs until the proxy is dropped (a day is as long as any lab session).
        tasks.spawn_local(async move {
            let _ = world.run(StopWhen::After(Duration::from_secs(86_400)), |_| false).await;
        });
        for (id, rx, url) in adapters {
            tasks.spawn_local(adapter(id, rx, url, client.clone(), inbox.clone(), Rc::clone(&books), probe_timeout));
        }
        let answers = Rc::clone(&books);
        tasks.spawn_local(async move {
            while let Some((_, msg)) = front_rx.recv().await {
                let LbMsg::Answer { id, ok } = msg else { continue };
                let waiter = answers.waiting.borrow_mut().remove(&id);
                // A client that went away leaves no response behind.
                if waiter.is_none_or(|(_, w)| w.send(ok).is_err()) {
                    answers.responses.borrow_mut().remove(&id);
                }
            }
        });
        let front_books = Rc::clone(&books);
        let front_stats = Rc::clone(&stats);
        tasks.spawn_local(serve_http(listener, move |req: Request<Incoming>| {
            let (books, stats, inbox, admin) =
                (Rc::clone(&front_books), Rc::clone(&front_stats), inbox.clone(), admin.clone());
            async move {
                if let Some(rest) = req.uri().path().strip_prefix("/_distlab/") {
                    return Ok(match admin.and_then(|a| a(rest)) {
                        Some(text) => respond(StatusCode::OK, text),
                        None => respond(StatusCode::NOT_FOUND, format!("distlab: no such control: {rest}\n")),
                    });
                }
                handle(req, books, stats, inbox, front).await
            }
        }));
        Ok(Proxy { addr, stats, _tasks: tasks })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One client request: buffered, handed to the balancer, answered with the backend's response
/// once the balancer says it is done (or with 502 when it failed without one).
async fn handle(
    req: Request<Incoming>,
    books: Rc<Books>,
    stats: Rc<Stats>,
    inbox: Injector<LbMsg>,
    front: NodeId,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, BODY_MAX).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(respond(StatusCode::PAYLOAD_TOO_LARGE, format!("distlab: bodies up to {BODY_MAX} bytes\n")));
        }
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let key = parts.headers.get("x-key").and_then(|v| v.to_str().ok()).unwrap_or(parts.uri.path()).to_owned();
    let id = books.next.get() + 1;
    books.next.set(id);
    stats.requests.set(stats.requests.get() + 1);
    let (tx, rx) = oneshot::channel();
    let asked = Asked { method: parts.method, path, headers: parts.headers, body };
    books.waiting.borrow_mut().insert(id, (asked, tx));
    if !inbox.send(front, LbMsg::Request { id, key }) {
        books.waiting.borrow_mut().remove(&id);
        return Ok(respond(StatusCode::SERVICE_UNAVAILABLE, "distlab: the balancer has stopped\n"));
    }
    let ok = rx.await.unwrap_or(false);
    let response = books.responses.borrow_mut().remove(&id);
    if !ok {
        stats.failed.set(stats.failed.get() + 1);
    }
    Ok(match response {
        Some(m) => {
            let mut r = Response::new(Full::new(m.body));
            *r.status_mut() = m.status;
            *r.headers_mut() = m.headers;
            r
        }
        None => respond(StatusCode::BAD_GATEWAY, "distlab: no backend answered in time, or none is in rotation\n"),
    })
}

/// One backend's adapter: the balancer's forwards become HTTP requests to it, its probes
/// `GET /health`, each on its own task so that none waits for another.
async fn adapter(
    id: NodeId,
    mut rx: mpsc::UnboundedReceiver<(NodeId, LbMsg)>,
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    inbox: Injector<LbMsg>,
    books: Rc<Books>,
    probe_timeout: Duration,
) {
    let mut calls = JoinSet::new();
    loop {
        tokio::select! {
            received = rx.recv() => {
                let Some((_, msg)) = received else { break };
                let (client, inbox, books, url) = (client.clone(), inbox.clone(), Rc::clone(&books), url.clone());
                match msg {
                    LbMsg::Forward { id: forward, request } => {
                        calls.spawn_local(async move {
                            let ok = forward_one(&client, &url, request, &books).await;
                            inbox.send(id, LbMsg::Done { id: forward, ok });
                        });
                    }
                    LbMsg::Probe { seq } => {
                        calls.spawn_local(async move {
                            let Ok(uri) = format!("{url}/health").parse::<Uri>() else { return };
                            let probe = client.get(uri);
                            if let Ok(Ok(r)) = tokio::time::timeout(probe_timeout, probe).await
                                && r.status() == StatusCode::OK
                            {
                                let _ = r.into_body().collect().await;
                                inbox.send(id, LbMsg::ProbeOk { seq });
                            }
                        });
                    }
                    _ => {}
                }
            }
            Some(_) = calls.join_next(), if !calls.is_empty() => {}
        }
    }
}

/// Sends client request `request` to the backend at `url`; keeps the response for the front
/// end while the client still waits. Whether it succeeded (a response below 500).
async fn forward_one(client: &Client<HttpConnector, Full<Bytes>>, url: &str, request: u64, books: &Books) -> bool {
    let Some(m) = books.waiting.borrow().get(&request).map(|(m, _)| m.clone()) else { return false };
    let Ok(uri) = format!("{url}{}", m.path).parse::<Uri>() else { return false };
    let mut out = Request::new(Full::new(m.body));
    *out.method_mut() = m.method;
    *out.uri_mut() = uri;
    *out.headers_mut() = m.headers;
    out.headers_mut().remove(hyper::header::HOST);
    let Ok(resp) = client.request(out).await else { return false };
    let (parts, body) = resp.into_parts();
    let Ok(body) = Limited::new(body, BODY_MAX).collect().await.map(|b| b.to_bytes()) else { return false };
    let ok = parts.status.as_u16() < 500;
    if books.waiting.borrow().contains_key(&request) {
        books.responses.borrow_mut().insert(request, Answered { status: parts.status, headers: parts.headers, body });
    }
    ok
}
