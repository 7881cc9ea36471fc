//! Fault injection: rules that make the next matching requests fail in a chosen way.
//!
//! A rule matches by logical operation ([`Op`], the same names for every flavour), by channel id,
//! by path prefix and by method; any of these left out matches everything. `times` limits a rule
//! to the next K matching requests, so a retry can succeed. All matching `delay` rules add up; the
//! first other matching rule wins and is consumed.
//!
//! Rules are JSON too (`POST /__mock/faults`):
//! `{"kind":"status","status":429,"retry_after":3,"op":"list_channels","times":1}`.

use serde::{Deserialize, Serialize};

/// The logical operation of a request, decided by each flavour's router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Status,
    Login,
    ListChannels,
    GetChannel,
    FetchModels,
    UpdateChannel,
    /// DoneHub `GET /api/channel_tag/:tag/list`.
    TagList,
    /// Octopus groups.
    Groups,
    Options,
    /// A channel test (issue 21).
    TestChannel,
    Other,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// A Cloudflare-like HTML challenge page instead of JSON (status defaults to 200).
    Html {
        #[serde(default)]
        status: Option<u16>,
    },
    /// The real answer cut in the middle (complete headers, `Content-Length` of the cut body).
    TruncatedJson,
    /// A body that is not JSON at all although it says `application/json`.
    MalformedJson,
    /// A business error in the flavour's own envelope (New API family: HTTP 200 `success:false`;
    /// Octopus `{code,message}`; AxonHub GraphQL `errors`).
    BusinessError { message: String },
    /// A plain HTTP status. 429 has an empty body (`docs/admin-apis.md` §1.8); 401/403 use the flavour's auth error
    /// shape; 404 is gin's text `404 page not found`; 502/503 an nginx-like HTML page.
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
        /// Overrides the body.
        #[serde(default)]
        body: Option<String>,
    },
    /// The upstream answered this status to the gateway's fetch-models call; the gateway reports
    /// it its own way (`获取模型列表失败: status code: 401`, `failed to fetch models: 401`, …).
    UpstreamStatus { status: u16 },
    /// The upstream answered HTML to the gateway's fetch-models call (a parse error).
    UpstreamNonJson,
    /// Wait, then answer normally.
    Delay { ms: u64 },
    /// Never answer (the client must time out).
    Hang,
    /// Close the socket without any response.
    DropConnection,
    /// Send headers and half the body, then close the socket.
    DropMidBody,
    /// The fetch-models answer lists this many models (default 100 000).
    HugeList {
        #[serde(default)]
        count: Option<usize>,
    },
    /// The list (models or channels) is `null`.
    NullList,
    /// The fetch-models answer holds duplicates, padded and whitespace-only names.
    MessyNames,
    /// The fetch-models answer holds non-ASCII names.
    NonAsciiNames,
    /// A 302 to a login HTML page (an SSO proxy in front of the gateway).
    RedirectLogin,
    /// The channel is answered as missing (`record not found` and friends).
    ChannelDeleted,
}

impl FaultKind {
    /// Faults the flavour handler applies to its own data rather than the transport.
    pub fn is_data_fault(&self) -> bool {
        matches!(
            self,
            FaultKind::UpstreamStatus { .. }
                | FaultKind::UpstreamNonJson
                | FaultKind::HugeList { .. }
                | FaultKind::NullList
                | FaultKind::MessyNames
                | FaultKind::NonAsciiNames
                | FaultKind::ChannelDeleted
        )
    }
}

/// One rule: a fault plus where it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u64>,
    /// Matches when the request path starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only the next K matching requests; `None` = until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl FaultRule {
    pub fn new(kind: FaultKind) -> Self {
        FaultRule {
            kind,
            op: None,
            channel: None,
            path: None,
            method: None,
            times: None,
        }
    }

    pub fn op(mut self, op: Op) -> Self {
        self.op = Some(op);
        self
    }

    pub fn channel(mut self, id: u64) -> Self {
        self.channel = Some(id);
        self
    }

    pub fn path(mut self, prefix: impl Into<String>) -> Self {
        self.path = Some(prefix.into());
        self
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    pub fn times(mut self, k: u32) -> Self {
        self.times = Some(k);
        self
    }

    fn matches(&self, req: &RequestKey<'_>) -> bool {
        self.op.is_none_or(|op| op == req.op)
            && self.channel.is_none_or(|c| req.channel == Some(c))
            && self.path.as_deref().is_none_or(|p| req.path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(req.method))
    }
}

/// What a rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub op: Op,
    pub channel: Option<u64>,
}

/// The faults picked for one request.
#[derive(Debug, Default, Clone)]
pub struct Picked {
    pub delay_ms: u64,
    pub fault: Option<FaultKind>,
}

/// The live rule list.
#[derive(Debug, Default, Clone)]
pub struct FaultSet {
    rules: Vec<FaultRule>,
}

impl FaultSet {
    pub fn add(&mut self, rule: FaultRule) {
        if rule.times != Some(0) {
            self.rules.push(rule);
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Picks (and consumes) the faults for a request.
    pub fn pick(&mut self, req: &RequestKey<'_>) -> Picked {
        let mut picked = Picked::default();
        let mut i = 0;
        while i < self.rules.len() {
            let rule = &self.rules[i];
            let is_delay = matches!(rule.kind, FaultKind::Delay { .. });
            if !rule.matches(req) || (!is_delay && picked.fault.is_some()) {
                i += 1;
                continue;
            }
            match &rule.kind {
                FaultKind::Delay { ms } => picked.delay_ms = picked.delay_ms.saturating_add(*ms),
                other => picked.fault = Some(other.clone()),
            }
            let rule = &mut self.rules[i];
            if let Some(t) = rule.times.as_mut() {
                *t = t.saturating_sub(1);
                if *t == 0 {
                    self.rules.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(op: Op, channel: Option<u64>) -> RequestKey<'static> {
        RequestKey {
            method: "GET",
            path: "/api/channel/",
            op,
            channel,
        }
    }

    #[test]
    fn times_limits_a_rule_and_delays_add_up() {
        let mut set = FaultSet::default();
        set.add(
            FaultRule::new(FaultKind::Hang)
                .op(Op::FetchModels)
                .channel(3)
                .times(2),
        );
        set.add(FaultRule::new(FaultKind::Delay { ms: 5 }));
        set.add(FaultRule::new(FaultKind::Delay { ms: 7 }).times(1));
        let p = set.pick(&key(Op::FetchModels, Some(3)));
        assert_eq!((p.delay_ms, p.fault), (12, Some(FaultKind::Hang)));
        let p = set.pick(&key(Op::FetchModels, Some(4)));
        assert_eq!((p.delay_ms, p.fault), (5, None));
        let p = set.pick(&key(Op::FetchModels, Some(3)));
        assert_eq!(p.fault, Some(FaultKind::Hang));
        let p = set.pick(&key(Op::FetchModels, Some(3)));
        assert_eq!(p.fault, None, "consumed after two uses");
        assert_eq!(set.rules().len(), 1);
    }

    #[test]
    fn rules_round_trip_as_json() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"kind":"status","status":429,"retry_after":3,"op":"list_channels","times":1}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            FaultRule::new(FaultKind::Status {
                status: 429,
                retry_after: Some(3),
                body: None
            })
            .op(Op::ListChannels)
            .times(1)
        );
    }
}
