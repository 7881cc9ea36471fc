//! The HTTP side: our own accept loop (so a fault can drop a connection without answering), one
//! axum fallback handler that logs, rate-limits, injects faults and hands the request to the
//! flavour, and the `/__mock/*` control routes.

use crate::control;
use crate::fault::{FaultKind, RequestKey};
use crate::flavors::FlavorApi;
use crate::log::RecordedRequest;
use crate::state::{parse_query, Reply, Req, State};
use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Server-wide shared data.
pub struct Shared {
    pub flavor: Box<dyn FlavorApi>,
    pub state: Mutex<State>,
    /// The configuration at start, restored by a reset.
    pub initial: crate::config::MockConfig,
}

impl Shared {
    pub fn new(config: crate::config::MockConfig) -> Self {
        let flavor = crate::flavors::for_config(&config);
        let shared = Shared {
            flavor,
            state: Mutex::new(State::new(config.clone())),
            initial: config,
        };
        shared.reset();
        shared
    }

    /// Back to the seeded state: channels, upstream lists, counters, faults, log, sessions.
    pub fn reset(&self) {
        let mut st = self.lock();
        *st = State::new(self.initial.clone());
        let seeds = crate::seed::channels(self.initial.channels, self.initial.seed);
        self.flavor.seed(&mut st, &seeds);
    }

    /// Locks the state; a poisoned lock (a panicking handler) is still usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Lets a handler close its connection without answering.
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

#[derive(Clone, Copy)]
struct Peer(SocketAddr);

/// Bodies larger than this are refused (the 100 000-model answer is far smaller).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let app = Router::new().fallback(handle).with_state(shared);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of file descriptors and the like: back off a little.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let kill_for_req = kill.clone();
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnKill(kill_for_req.clone()));
                req.extensions_mut().insert(Peer(peer));
                let app = app.clone();
                async move {
                    use tower::ServiceExt;
                    app.oneshot(req.map(Body::new)).await
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
            }
        });
    }
}

/// Cloudflare-like interstitial (fault `html`).
const CLOUDFLARE_HTML: &str = "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"><meta name=\"robots\" content=\"noindex,nofollow\">\
</head><body><div class=\"main-wrapper\" role=\"main\"><div class=\"main-content\"><h1 class=\"zone-name-title h1\">gateway.example.com</h1>\
<h2 class=\"h2\" id=\"challenge-running\">Checking if the site connection is secure</h2>\
<noscript><div class=\"h2\"><span id=\"challenge-error-text\">Enable JavaScript and cookies to continue</span></div></noscript>\
</div></div><script>(function(){window._cf_chl_opt={cvId:'3',cZone:'gateway.example.com',cType:'managed'};}());</script>\
<div class=\"footer\">Performance &amp; security by Cloudflare</div></body></html>";

const LOGIN_HTML: &str = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>\
<form method=\"post\" action=\"/login\"><h1>Sign in to continue</h1>\
<input name=\"username\"><input name=\"password\" type=\"password\"><button>Sign in</button></form></body></html>";

fn nginx_html(status: u16) -> String {
    // nginx's own wording (ngx_http_special_response.c), not the RFC reason phrases.
    let text = match status {
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        s => StatusCode::from_u16(s)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    };
    format!(
        "<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n<center><h1>{status} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

fn into_response(reply: Reply) -> Response<Body> {
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

/// A response whose body stops half-way and then breaks the connection.
fn mid_body_drop(reply: Reply) -> Response<Body> {
    let full = reply.body.len();
    let half = Bytes::from(reply.body[..full / 2].to_vec());
    // The pause lets hyper flush the headers and the first half before the error aborts the
    // connection.
    let stream = futures::stream::iter([true, false]).then(move |first| {
        let half = half.clone();
        async move {
            if first {
                Ok(half)
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "mock: connection dropped mid-body",
                ))
            }
        }
    });
    let mut resp = into_response(Reply {
        body: Vec::new(),
        ..reply
    });
    *resp.body_mut() = Body::from_stream(stream);
    if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
        resp.headers_mut().insert("content-length", v);
    }
    resp
}

async fn read_req(req: Request<Body>) -> (Req, Option<ConnKill>) {
    let kill = req.extensions().get::<ConnKill>().cloned();
    let peer: Option<IpAddr> = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let query = parts.uri.query().unwrap_or("").to_string();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    (
        Req {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            params: parse_query(&query),
            query,
            headers,
            body,
            peer,
        },
        kill,
    )
}

fn fault_name(kind: &FaultKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "fault".into())
}

async fn handle(AxState(shared): AxState<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let (req, kill) = read_req(req).await;
    if req.path.starts_with("/__mock/") || req.path == "/__mock" {
        return into_response(control::handle(&shared, &req));
    }
    if req.path.starts_with("/__notify/") {
        // The fake notification receiver: never logged, faulted or rate limited.
        return into_response(crate::receiver::handle(&mut shared.lock().inbox, &req));
    }
    if req.path == "/login" {
        return into_response(Reply::text(200, "text/html; charset=utf-8", LOGIN_HTML));
    }

    // Classify, log, rate-limit and pick faults in one go under the lock.
    let (seq, picked, limited, latency, retry_after_header) = {
        let mut st = shared.lock();
        let (op, channel) = shared.flavor.classify(&st, &req);
        let seq = st.next_seq;
        st.next_seq += 1;
        st.log.push(RecordedRequest {
            seq,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            op,
            channel,
            status: 0,
            fault: None,
        });
        let limited = st.rate_limited(req.peer, Instant::now());
        let picked = if limited.is_some() {
            Default::default()
        } else {
            st.faults.pick(&RequestKey {
                method: &req.method,
                path: &req.path,
                op,
                channel,
            })
        };
        if let Some(f) = &picked.fault {
            let name = fault_name(f);
            if let Some(entry) = st.log.iter_mut().rev().find(|e| e.seq == seq) {
                entry.fault = Some(name);
            }
        }
        // Only New API ≥2026-07-21 (era B) sends Retry-After with its 429 (`docs/admin-apis.md` §1.8).
        let retry_after_header = st.config.flavor == crate::config::Flavor::NewApi
            && st.config.effective_era() == crate::config::Era::B;
        (
            seq,
            picked,
            limited,
            st.config.latency_ms,
            retry_after_header,
        )
    };
    let record = |status: u16| {
        let mut st = shared.lock();
        if let Some(entry) = st.log.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = status;
        }
    };

    let wait = latency.saturating_add(picked.delay_ms);
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    if let Some(retry_after) = limited {
        let mut reply = Reply::empty(429);
        if retry_after_header {
            reply = reply.with_header("Retry-After", retry_after.to_string());
        }
        record(429);
        return into_response(reply);
    }

    let fault = picked.fault;
    let reply_now = |reply: Reply| {
        record(reply.status);
        into_response(reply)
    };
    match &fault {
        Some(FaultKind::Html { status }) => {
            return reply_now(Reply::text(
                status.unwrap_or(200),
                "text/html; charset=UTF-8",
                CLOUDFLARE_HTML,
            ))
        }
        Some(FaultKind::MalformedJson) => {
            return reply_now(Reply::text(
                200,
                "application/json; charset=utf-8",
                "{\"success\":true,\"message\":\"\",\"data\":{'items': [,]}",
            ))
        }
        Some(FaultKind::BusinessError { message }) => {
            let st = shared.lock();
            let reply = shared.flavor.business_error(&st, &req, message);
            drop(st);
            return reply_now(reply);
        }
        Some(FaultKind::Status {
            status,
            retry_after,
            body,
        }) => {
            let mut reply = match (body, *status) {
                (Some(b), s) => Reply::text(s, "application/json; charset=utf-8", b.clone()),
                (None, 429) => Reply::empty(429),
                (None, 404) => Reply::text(404, "text/plain", "404 page not found"),
                (None, s @ (502..=504)) => Reply::text(s, "text/html", nginx_html(s)),
                (None, s) => {
                    let st = shared.lock();
                    shared.flavor.status_error(&st, &req, s)
                }
            };
            if let Some(secs) = retry_after {
                reply = reply.with_header("Retry-After", secs.to_string());
            }
            return reply_now(reply);
        }
        Some(FaultKind::RedirectLogin) => {
            let location = format!("/login?redirect={}", req.path);
            return reply_now(
                Reply::text(
                    302,
                    "text/html; charset=utf-8",
                    "<a href=\"/login\">Found</a>.",
                )
                .with_header("Location", location),
            );
        }
        Some(FaultKind::Hang) => {
            // Never answer; the task ends when the client gives up or the server stops.
            std::future::pending::<()>().await;
        }
        Some(FaultKind::DropConnection) => {
            if let Some(kill) = kill {
                kill.0.notify_one();
            }
            std::future::pending::<()>().await;
        }
        _ => {}
    }

    // Issue 21: a channel test scripted to time out is never answered (`probe.rs`).
    if op_is_test(&shared, &req) {
        std::future::pending::<()>().await;
    }

    let deferred = {
        let mut st = shared.lock();
        shared.flavor.deferred(&mut st, &req)
    };
    match deferred {
        Some(Ok(plan)) => return reply_now(crate::ratio::run_fetch(plan).await),
        Some(Err(reply)) => return reply_now(reply),
        None => {}
    }

    let data_fault = fault.as_ref().filter(|f| f.is_data_fault());
    let reply = {
        let mut st = shared.lock();
        shared.flavor.handle(&mut st, &req, data_fault)
    };
    match fault {
        Some(FaultKind::TruncatedJson) => {
            let cut = reply.body.len() / 2;
            let mut reply = reply;
            reply.body.truncate(cut);
            reply_now(reply)
        }
        Some(FaultKind::DropMidBody) => {
            record(reply.status);
            mid_body_drop(reply)
        }
        _ => reply_now(reply),
    }
}

/// Whether `req` is a channel test whose model is scripted to time out (logged as such).
fn op_is_test(shared: &Shared, req: &Req) -> bool {
    // Cheap pre-check: only the test routes are classified again.
    let maybe = req.path.contains("/channel/test/")
        || (req.path == "/admin/graphql" && req.body.windows(11).any(|w| w == b"testChannel"));
    if !maybe {
        return false;
    }
    let mut st = shared.lock();
    let (op, channel) = shared.flavor.classify(&st, req);
    if op != crate::fault::Op::TestChannel {
        return false;
    }
    let model = match req.param("model") {
        Some(m) => m.to_string(),
        // AxonHub: the model is in the GraphQL variables.
        None => req
            .json()
            .ok()
            .and_then(|b| {
                b.pointer("/variables/input/modelID")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default(),
    };
    match channel {
        Some(id) => crate::probe::times_out(&mut st, id, &model),
        None => false,
    }
}
