//! Shared server state, the request/reply types flavours work with, and small helpers.

use crate::config::MockConfig;
use crate::fault::FaultSet;
use crate::log::RecordedRequest;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

/// A received request, fully read. (No `Debug`: it holds credentials.)
#[derive(Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub params: Vec<(String, String)>,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: Option<IpAddr>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a query parameter (gin's `c.Query` takes the first; they agree unless a
    /// client repeats a key).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Path segments after the leading `/`, ignoring a trailing `/`.
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_matches('/').split('/').collect()
    }

    /// A cookie value from the `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// True when `Accept-Language` asks for Chinese (New API i18n, `docs/admin-apis.md` §1.1).
    pub fn wants_zh(&self) -> bool {
        self.header("accept-language")
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("zh"))
    }
}

/// An answer a flavour wants to send.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Self {
        Reply {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn ok(value: &Value) -> Self {
        Reply::json(200, value)
    }

    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into().into_bytes(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Everything behind the server's mutex. Never held across an `.await`. (No `Debug`: it holds
/// channel keys and session tokens.)
pub struct State {
    pub config: MockConfig,
    /// Channels by id, each stored as the flavour's **full** JSON object (key included).
    pub channels: BTreeMap<u64, Map<String, Value>>,
    /// What each channel's upstream `/v1/models` serves.
    pub upstream: BTreeMap<u64, Vec<String>>,
    /// Successful channel writes per channel id.
    pub writes: BTreeMap<u64, u64>,
    pub faults: FaultSet,
    pub log: Vec<RecordedRequest>,
    pub next_seq: u64,
    /// Session tokens issued by a login (Octopus cookie, AxonHub JWT).
    pub sessions: BTreeSet<String>,
    /// Octopus groups (`docs/admin-apis.md` §4.5).
    pub groups: Vec<Value>,
    /// The last Octopus group item id handed out (ids are never reused).
    pub group_item_seq: u64,
    pub rate: HashMap<IpAddr, VecDeque<Instant>>,
    /// Counter mixed into issued tokens so each login gives a fresh one.
    pub logins: u64,
    /// New API options and ratio sync sources (`ratio.rs`).
    pub ratio: crate::ratio::RatioState,
    /// The fake notification receiver (`receiver.rs`).
    pub inbox: crate::receiver::Inbox,
    /// Channel test scripts and log (issue 21, `probe.rs`).
    pub probe: crate::probe::ProbeState,
}

impl State {
    pub fn new(config: MockConfig) -> Self {
        State {
            config,
            channels: BTreeMap::new(),
            upstream: BTreeMap::new(),
            writes: BTreeMap::new(),
            faults: FaultSet::default(),
            log: Vec::new(),
            next_seq: 1,
            sessions: BTreeSet::new(),
            groups: Vec::new(),
            group_item_seq: 0,
            rate: HashMap::new(),
            logins: 0,
            ratio: crate::ratio::RatioState::default(),
            inbox: Default::default(),
            probe: crate::probe::ProbeState::default(),
        }
    }

    pub fn count_write(&mut self, id: u64) {
        *self.writes.entry(id).or_insert(0) += 1;
    }

    /// Sliding-log limiter (New API's in-memory limiter, `docs/admin-apis.md` §1.8). `Some(retry_after_s)` when over.
    pub fn rate_limited(&mut self, peer: Option<IpAddr>, now: Instant) -> Option<u64> {
        let limit = self.config.rate_limit?;
        let ip = peer.unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let window = std::time::Duration::from_millis(limit.window_ms);
        let log = self.rate.entry(ip).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            log.pop_front();
        }
        if log.len() as u64 >= u64::from(limit.max) {
            // In memory the server reports the full window (`docs/admin-apis.md` §1.8).
            return Some(limit.window_ms.div_ceil(1000));
        }
        log.push_back(now);
        None
    }
}

/// Percent-decodes a query component (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(pair), String::new()),
        })
        .collect()
}

/// `a,b,,c,` → `["a","b","c"]` after trimming (the relay's `GetModels`, `docs/admin-apis.md` §1.3).
pub fn split_csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect()
}

/// Trim, drop empties, drop duplicates, keep order (`normalizeModelNames`, `docs/admin-apis.md` §1.4).
pub fn normalize_names(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && seen.insert(n.clone()))
        .collect()
}

/// Current Unix time in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("p=1&tag=a%20b&x=c+d&flag"),
            vec![
                ("p".to_string(), "1".to_string()),
                ("tag".into(), "a b".into()),
                ("x".into(), "c d".into()),
                ("flag".into(), "".into())
            ]
        );
        assert_eq!(url_decode("%E4%BD%A0%zz%"), "你%zz%");
    }

    #[test]
    fn names_are_normalised_like_new_api() {
        let raw: Vec<String> = [" a", "b", "", "a", "  ", "c "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(normalize_names(&raw), vec!["a", "b", "c"]);
        assert_eq!(split_csv(",a,,b ,"), vec!["a", "b"]);
    }
}
