//! The backends `distlab lb serve` starts for itself (46.4): HTTP/1.1 servers on 127.0.0.1, each
//! answering after a service time drawn from its distribution (uniform in a range, a share of
//! requests `tail_factor` times longer), failing a share of requests with a 500, answering
//! `GET /health` at once, and slowed or killed on demand. A killed backend drops its listener and
//! every open connection, as a crashed process does (new connections are refused); revived, it
//! listens on the same port again.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use distlab_engine::sim::{Ratio, Rng};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// One backend's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpBackendConfig {
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub tail_percent: u32,
    pub tail_factor: u64,
    pub fail_percent: u32,
}

impl Default for HttpBackendConfig {
    /// The `lb` scenario's backends: 2–8 ms, 1% of requests 20 times longer, no errors.
    fn default() -> Self {
        HttpBackendConfig { latency_min_ms: 2, latency_max_ms: 8, tail_percent: 1, tail_factor: 20, fail_percent: 0 }
    }
}

/// What a backend is doing now.
#[derive(Debug)]
struct State {
    name: String,
    cfg: HttpBackendConfig,
    rng: RefCell<Rng>,
    slow: Cell<u64>,
    served: Cell<u64>,
}

/// A backend this process runs. Dropping it kills it.
#[derive(Debug)]
pub struct HttpBackend {
    addr: SocketAddr,
    state: Rc<State>,
    /// The listener and its connections while alive; `None` once killed.
    running: RefCell<Option<JoinSet<()>>>,
}

impl HttpBackend {
    /// Starts `name` on a free port of 127.0.0.1. Must be called inside a `LocalSet`.
    pub fn start(name: &str, cfg: HttpBackendConfig, seed: u64) -> std::io::Result<HttpBackend> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Rc::new(State {
            name: name.to_owned(),
            cfg,
            rng: RefCell::new(Rng::new(seed)),
            slow: Cell::new(1),
            served: Cell::new(0),
        });
        let backend = HttpBackend { addr, state, running: RefCell::new(None) };
        backend.listen(listener)?;
        Ok(backend)
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn alive(&self) -> bool {
        self.running.borrow().is_some()
    }

    /// Requests answered so far (errors included).
    pub fn served(&self) -> u64 {
        self.state.served.get()
    }

    /// Every service time from now on is `factor` times as long (1: normal speed).
    pub fn slow(&self, factor: u64) {
        self.state.slow.set(factor.max(1));
    }

    /// Crashes it: the listener and every connection close at once, requests in service get no
    /// answer.
    pub fn kill(&self) {
        if let Some(mut tasks) = self.running.borrow_mut().take() {
            tasks.abort_all();
        }
    }

    /// Starts it again on the same port, if it was killed.
    pub fn revive(&self) -> std::io::Result<()> {
        if self.alive() {
            return Ok(());
        }
        self.listen(std::net::TcpListener::bind(self.addr)?)
    }

    fn listen(&self, listener: std::net::TcpListener) -> std::io::Result<()> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let mut tasks = JoinSet::new();
        let state = Rc::clone(&self.state);
        tasks.spawn_local(serve_http(listener, move |req| answer(Rc::clone(&state), req)));
        *self.running.borrow_mut() = Some(tasks);
        Ok(())
    }
}

impl Drop for HttpBackend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Serves HTTP/1.1 on `listener`, each request answered by `handle`, until the returned future
/// is dropped. Connections live in a set of the accept loop's own, so dropping it (a backend's
/// kill, a proxy's end) closes them all.
pub(crate) async fn serve_http<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let handle = handle.clone();
                connections.spawn_local(async move {
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(handle)).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// A response of `status` with `body`.
pub(crate) fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

/// One request: `/health` at once; anything else after its service time, a 500 for the share
/// that fails, else 200 with the backend's name.
async fn answer(state: Rc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/health" {
        return Ok(respond(StatusCode::OK, "ok\n".to_owned()));
    }
    let (wait_ms, fails) = {
        let cfg = state.cfg;
        let mut rng = state.rng.borrow_mut();
        let mut ms = rng.between(cfg.latency_min_ms, cfg.latency_max_ms.max(cfg.latency_min_ms));
        if rng.chance(Ratio::percent(cfg.tail_percent)) {
            ms = ms.saturating_mul(cfg.tail_factor.max(1));
        }
        (ms.saturating_mul(state.slow.get()), rng.chance(Ratio::percent(cfg.fail_percent)))
    };
    if wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    }
    state.served.set(state.served.get() + 1);
    Ok(if fails {
        respond(StatusCode::INTERNAL_SERVER_ERROR, format!("{} failed\n", state.name))
    } else {
        respond(StatusCode::OK, format!("{}\n", state.name))
    })
}
