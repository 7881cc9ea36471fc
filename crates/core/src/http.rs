//! The HTTP transport trait: the only way core talks to a network.

use crate::reason::RunError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Give up after this long (0 = the transport's default).
    pub timeout_ms: u64,
    /// Let the platform keep and send this origin's cookies. Only a session that lives in a
    /// cookie needs it (Octopus v0.10+): a browser neither shows `Set-Cookie` to `fetch` nor
    /// sends a script-set `Cookie` header, so there the browser's cookie jar has to carry the
    /// session ([`Transport::manages_cookies`]). Native transports ignore it: the adapter sends
    /// the cookie as a header itself.
    pub with_cookies: bool,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: 30_000,
            with_cookies: false,
        }
    }

    /// See [`Request::with_cookies`].
    pub fn with_cookies(mut self, on: bool) -> Self {
        self.with_cookies = on;
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A JSON body, with the `Content-Type` every gateway expects (Octopus answers 415 without it).
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(body.to_string());
        self.headers
            .push(("Content-Type".into(), "application/json".into()));
        self
    }

    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// Case-insensitive header lookup.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Retry-After` in milliseconds (delta-seconds form; HTTP dates are ignored).
    pub fn retry_after_ms(&self) -> Option<u64> {
        let v = self.header("retry-after")?.trim();
        let secs: f64 = v.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64)
    }
}

/// Failures below HTTP: nothing came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("could not resolve host: {0}")]
    Dns(String),
    #[error("connection broken: {0}")]
    Io(String),
    /// The server answered with a redirect. Transports never follow one: a redirect would carry
    /// the credentials (and a login password or a channel key in the body of a 307/308) to
    /// whatever address the server names, another host or plain http included. `status` and
    /// `location` are `None` where the platform hides them (a browser's manual redirect).
    #[error("{}", redirect_text(*.status, .location.as_deref()))]
    Redirect {
        status: Option<u16>,
        location: Option<String>,
    },
}

fn redirect_text(status: Option<u16>, location: Option<&str>) -> String {
    redirect_reason(status, location).to_string()
}

/// The redirect as msync's own finding, its target without query or fragment.
fn redirect_reason(status: Option<u16>, location: Option<&str>) -> RunError {
    RunError::Redirected {
        status,
        location: location.map(strip_query).filter(|l| !l.is_empty()),
    }
}

/// A redirect target without its query or fragment (those could hold a token).
fn strip_query(location: &str) -> String {
    location
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whether a response status is a redirect a client would follow (304 is not one).
pub fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl From<TransportError> for crate::Error {
    fn from(e: TransportError) -> Self {
        use crate::ErrorClass;
        let class = match e {
            TransportError::Timeout => ErrorClass::Timeout,
            // Following it is never right and retrying changes nothing: the address is wrong.
            TransportError::Redirect { .. } => ErrorClass::InvalidResponse,
            _ => ErrorClass::Network,
        };
        let status = match &e {
            TransportError::Redirect {
                status: Some(s), ..
            } => Some(*s),
            _ => None,
        };
        let err = match &e {
            TransportError::Redirect { status, location } => {
                crate::Error::found(class, redirect_reason(*status, location.as_deref()))
            }
            _ => crate::Error::new(class, e.to_string()),
        };
        match status {
            Some(s) => err.with_status(s),
            None => err,
        }
    }
}

/// Sends one HTTP request. Implementations never follow a redirect: they answer
/// [`TransportError::Redirect`] (naming the target when the platform shows it).
#[async_trait(?Send)]
pub trait Transport {
    async fn send(&self, req: Request) -> Result<Response, TransportError>;

    /// The platform keeps cookies itself and hides `Set-Cookie` (a browser): a cookie session
    /// must then ride on [`Request::with_cookies`] instead of headers. Wrappers forward it.
    fn manages_cookies(&self) -> bool {
        false
    }
}
