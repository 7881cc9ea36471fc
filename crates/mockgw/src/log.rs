//! The request log: every request the mock received, in order, for assertions in tests.
//!
//! Headers and bodies are kept raw (tokens included): the credentials are the mock's own, and
//! tests need to check that a client sent them. The log is never printed.

use crate::fault::Op;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// 1, 2, 3… in arrival order.
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`), `""` if none.
    pub query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The logical operation the flavour saw.
    pub op: Op,
    pub channel: Option<u64>,
    /// The status answered; 0 if the mock answered nothing (drop or hang).
    pub status: u16,
    /// The injected fault, if any (its `kind`).
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}
