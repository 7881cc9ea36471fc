//! The HTTP transport trait: the only way core talks to a network.

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
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: 30_000,
        }
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
}

impl From<TransportError> for crate::Error {
    fn from(e: TransportError) -> Self {
        use crate::ErrorClass;
        let class = match e {
            TransportError::Timeout => ErrorClass::Timeout,
            _ => ErrorClass::Network,
        };
        crate::Error::new(class, e.to_string())
    }
}

/// Sends one HTTP request. Implementations must not follow redirects to other origins silently
/// into success: a redirect to a login page must come back as the HTML it is.
#[async_trait(?Send)]
pub trait Transport {
    async fn send(&self, req: Request) -> Result<Response, TransportError>;
}
