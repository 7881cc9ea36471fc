//! The request log: every request the mock received, in order, for assertions in tests.
//!
//! Headers and bodies are kept raw (tokens included): the credentials are the mock's own, and
//! tests need to check that a client sent them. The log is never printed.

use crate::fault::Op;
use serde::{Deserialize, Serialize};

/// `Debug` hides credential headers; the fields themselves stay raw for assertions.
#[derive(Clone, Serialize, Deserialize)]
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

/// Header names whose values `Debug` never prints.
const SECRET_HEADERS: &[&str] = &["authorization", "cookie", "set-cookie", "x-api-key"];

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if SECRET_HEADERS.contains(&k.as_str()) {
                    (k.as_str(), "[REDACTED]")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("op", &self.op)
            .field("channel", &self.channel)
            .field("status", &self.status)
            .field("fault", &self.fault)
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_credentials() {
        let r = RecordedRequest {
            seq: 1,
            method: "GET".into(),
            path: "/api/channel/".into(),
            query: String::new(),
            headers: vec![
                ("authorization".into(), "Bearer secret-token".into()),
                ("cookie".into(), "auth=secret-jwt".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: "{\"key\":\"sk-secret\"}".into(),
            op: Op::ListChannels,
            channel: None,
            status: 200,
            fault: None,
        };
        let text = format!("{r:?}");
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("application/json"));
        assert_eq!(r.header("Authorization"), Some("Bearer secret-token"));
        let cfg = crate::MockConfig::new(crate::Flavor::Octopus);
        let text = format!("{cfg:?}");
        assert!(
            !text.contains(&cfg.token) && !text.contains("password: \"admin\""),
            "{text}"
        );
    }
}
