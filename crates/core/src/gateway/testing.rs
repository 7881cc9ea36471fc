//! In-memory test doubles for adapters and the engine: a scripted [`Transport`] that records
//! every request, and a virtual clock. Pure (no I/O); used by unit tests here and elsewhere.

use crate::clock::Clock;
use crate::gateway::Ctx;
use crate::http::{Method, Request, Response, Transport, TransportError};
use crate::model::{Credentials, Secret, Site, SiteId, SiteKind};
use async_trait::async_trait;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

type Handler = Box<dyn FnMut(&Request) -> Result<Response, TransportError>>;

/// A transport answered by a closure; every request is logged in order.
pub struct FakeTransport {
    handler: RefCell<Handler>,
    log: RefCell<Vec<Request>>,
}

impl FakeTransport {
    pub fn new(
        handler: impl FnMut(&Request) -> Result<Response, TransportError> + 'static,
    ) -> Rc<Self> {
        Rc::new(FakeTransport {
            handler: RefCell::new(Box::new(handler)),
            log: RefCell::new(Vec::new()),
        })
    }

    /// Answers the given responses in order, then 599s.
    pub fn scripted(responses: Vec<Result<Response, TransportError>>) -> Rc<Self> {
        let mut queue = std::collections::VecDeque::from(responses);
        FakeTransport::new(move |_| {
            queue
                .pop_front()
                .unwrap_or_else(|| Ok(text(599, "script exhausted")))
        })
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.borrow().clone()
    }

    /// Requests with their method and path (the part after the host), for compact assertions.
    pub fn calls(&self) -> Vec<String> {
        self.log
            .borrow()
            .iter()
            .map(|r| format!("{} {}", r.method.as_str(), path_of(&r.url)))
            .collect()
    }
}

#[async_trait(?Send)]
impl Transport for FakeTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        self.log.borrow_mut().push(req.clone());
        (self.handler.borrow_mut())(&req)
    }
}

/// The path and query of a URL (`http://h:1/api/x?p=1` → `/api/x?p=1`).
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
}

/// The value of a query parameter, if present.
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

pub fn json(status: u16, value: serde_json::Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: value.to_string(),
    }
}

pub fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

pub fn header_of<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn body_json(req: &Request) -> serde_json::Value {
    req.body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(serde_json::Value::Null)
}

pub fn is(req: &Request, method: Method, path: &str) -> bool {
    req.method == method && path_of(&req.url).split('?').next() == Some(path)
}

/// Virtual time: `sleep_ms` advances the clock instantly.
#[derive(Default)]
pub struct VirtualClock {
    now: Cell<u64>,
}

impl VirtualClock {
    pub fn new(start_ms: u64) -> Rc<Self> {
        Rc::new(VirtualClock {
            now: Cell::new(start_ms),
        })
    }
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

#[async_trait(?Send)]
impl Clock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    async fn sleep_ms(&self, ms: u64) {
        self.advance(ms);
    }
}

/// Secrets used by test sites; tests assert that none of them ever shows up in a message.
pub const TEST_TOKEN: &str = "tok-SECRET-0123456789";
pub const TEST_PASSWORD: &str = "pw-SECRET-9876543210";

pub fn test_site(kind: SiteKind, base_url: &str) -> Site {
    let token = Secret(TEST_TOKEN.into());
    let password = Secret(TEST_PASSWORD.into());
    let credentials = match kind {
        SiteKind::NewApi | SiteKind::Veloera => Credentials::TokenAndUserId {
            token,
            user_id: Some(1),
        },
        SiteKind::DoneHub => Credentials::Token { token },
        SiteKind::Octopus => Credentials::Login {
            login: "admin".into(),
            password,
        },
        SiteKind::AxonHub => Credentials::Login {
            login: "owner@example.com".into(),
            password,
        },
    };
    Site {
        id: SiteId(format!("test-{}", kind.as_str())),
        name: format!("test {}", kind.label()),
        kind,
        base_url: base_url.to_string(),
        credentials,
        // Adapter tests talk to `http://gw.test` through a fake transport.
        allow_insecure: true,
    }
}

pub fn test_ctx(kind: SiteKind, transport: Rc<FakeTransport>) -> Ctx {
    Ctx::new(
        test_site(kind, "http://gw.test/"),
        transport,
        VirtualClock::new(1_000_000),
    )
}

/// Run a future to completion on the current thread (adapter futures never really wait).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
