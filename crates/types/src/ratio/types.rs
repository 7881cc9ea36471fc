//! Ratio vocabulary: fields, values, sources and upstreams (`docs/ratios.md`; the server side in
//! `docs/admin-apis.md` §1.6–1.7).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The official ratio preset's source id (since 2025-09-01).
pub const OFFICIAL_PRESET_ID: i64 = -100;
/// The models.dev price preset's source id (since 2026-02-20).
pub const MODELS_DEV_ID: i64 = -101;
/// The official preset file, relative to `https://basellm.github.io`.
pub const OFFICIAL_PRESET_ENDPOINT: &str = "/llm-metadata/api/newapi/ratio_config-v1-base.json";
/// models.dev's catalogue (absolute; used as-is by the server).
pub const MODELS_DEV_URL: &str = "https://models.dev/api.json";
/// The default endpoint since 2026-04-26 (public, no exposure switch needed upstream).
pub const ENDPOINT_PRICING: &str = "/api/pricing";
/// The default endpoint before 2026-04-26 (needs `ExposeRatioEnabled` on the upstream).
pub const ENDPOINT_RATIO_CONFIG: &str = "/api/ratio_config";
/// Per-upstream timeout the server uses when none is given, and what its UI always sends.
pub const DEFAULT_TIMEOUT_S: u32 = 10;

/// One ratio type New API compares and stores (`pricingSyncFields`, §1.6), in the server's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioField {
    ModelRatio,
    CompletionRatio,
    CacheRatio,
    CreateCacheRatio,
    ImageRatio,
    AudioRatio,
    AudioCompletionRatio,
    /// USD per call; exclusive with the ratios of the same model.
    ModelPrice,
    /// Text: `"tiered_expr"` (only that mode is synced).
    BillingMode,
    /// Text: a tier expression.
    BillingExpr,
}

impl RatioField {
    pub const ALL: [RatioField; 10] = [
        RatioField::ModelRatio,
        RatioField::CompletionRatio,
        RatioField::CacheRatio,
        RatioField::CreateCacheRatio,
        RatioField::ImageRatio,
        RatioField::AudioRatio,
        RatioField::AudioCompletionRatio,
        RatioField::ModelPrice,
        RatioField::BillingMode,
        RatioField::BillingExpr,
    ];

    /// The wire name in `/api/ratio_sync/fetch` answers (`model_ratio`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RatioField::ModelRatio => "model_ratio",
            RatioField::CompletionRatio => "completion_ratio",
            RatioField::CacheRatio => "cache_ratio",
            RatioField::CreateCacheRatio => "create_cache_ratio",
            RatioField::ImageRatio => "image_ratio",
            RatioField::AudioRatio => "audio_ratio",
            RatioField::AudioCompletionRatio => "audio_completion_ratio",
            RatioField::ModelPrice => "model_price",
            RatioField::BillingMode => "billing_mode",
            RatioField::BillingExpr => "billing_expr",
        }
    }

    /// The option key that stores this field's whole map (`optionKeyBySyncField`, §1.7).
    pub fn option_key(self) -> &'static str {
        match self {
            RatioField::ModelRatio => "ModelRatio",
            RatioField::CompletionRatio => "CompletionRatio",
            RatioField::CacheRatio => "CacheRatio",
            RatioField::CreateCacheRatio => "CreateCacheRatio",
            RatioField::ImageRatio => "ImageRatio",
            RatioField::AudioRatio => "AudioRatio",
            RatioField::AudioCompletionRatio => "AudioCompletionRatio",
            RatioField::ModelPrice => "ModelPrice",
            RatioField::BillingMode => "billing_setting.billing_mode",
            RatioField::BillingExpr => "billing_setting.billing_expr",
        }
    }

    pub fn parse(name: &str) -> Option<RatioField> {
        RatioField::ALL.into_iter().find(|f| f.as_str() == name)
    }

    pub fn from_option_key(key: &str) -> Option<RatioField> {
        RatioField::ALL.into_iter().find(|f| f.option_key() == key)
    }

    /// Billing mode/expression hold text; everything else numbers.
    pub fn is_text(self) -> bool {
        matches!(self, RatioField::BillingMode | RatioField::BillingExpr)
    }

    /// A multiplier stored per model (all but the per-call price and the billing settings).
    pub fn is_ratio(self) -> bool {
        !self.is_text() && self != RatioField::ModelPrice
    }
}

impl fmt::Display for RatioField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ratio, price or billing value as the server sends it: a JSON number or string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RatioValue {
    Number(f64),
    Text(String),
}

/// The JSON `#[serde(untagged)]` reads, written out: a number (integer or not) or a string.
/// Derived, an untagged enum is read through serde's private buffer, which compiles a second
/// reader for what it holds (issue 18, `ARCHITECTURE.md`).
impl<'de> Deserialize<'de> for RatioValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Value;
        impl serde::de::Visitor<'_> for Value {
            type Value = RatioValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<RatioValue, E> {
                Ok(RatioValue::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<RatioValue, E> {
                Ok(RatioValue::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<RatioValue, E> {
                Ok(RatioValue::Number(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<RatioValue, E> {
                Ok(RatioValue::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<RatioValue, E> {
                Ok(RatioValue::Text(v))
            }
        }
        d.deserialize_any(Value)
    }
}

impl RatioValue {
    /// The server compares numbers as float64 with ε = 1e-9 (§1.6).
    pub fn same_as(&self, other: &RatioValue) -> bool {
        match (self, other) {
            (RatioValue::Number(a), RatioValue::Number(b)) => (a - b).abs() <= 1e-9,
            (RatioValue::Text(a), RatioValue::Text(b)) => a == b,
            _ => false,
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Option<RatioValue> {
        match v {
            serde_json::Value::Number(n) => n.as_f64().map(RatioValue::Number),
            serde_json::Value::String(s) => Some(RatioValue::Text(s.clone())),
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            // Whole numbers as integers (`2`, not `2.0`), like the maps admins write by hand.
            RatioValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                serde_json::Value::from(*n as i64)
            }
            RatioValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            RatioValue::Text(s) => serde_json::Value::String(s.clone()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            RatioValue::Number(n) => Some(*n),
            RatioValue::Text(_) => None,
        }
    }
}

impl fmt::Display for RatioValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RatioValue::Number(n) => write!(f, "{n}"),
            RatioValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Where a source comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A channel of the site with a base URL.
    Channel,
    /// The official ratio preset (id −100, basellm.github.io).
    OfficialPreset,
    /// The models.dev price preset (id −101).
    ModelsDev,
    /// Added by the admin (id 0).
    Custom,
}

/// One entry of `GET /api/ratio_sync/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatioSource {
    pub id: i64,
    pub name: String,
    pub base_url: String,
    #[serde(default)]
    pub status: i64,
    /// The channel type (20 = OpenRouter, whose endpoint is `openrouter`).
    #[serde(default)]
    pub channel_type: i64,
    pub kind: SourceKind,
    /// The endpoint the server's own UI would use for this source.
    pub default_endpoint: String,
}

impl RatioSource {
    pub fn kind_for_id(id: i64) -> SourceKind {
        match id {
            OFFICIAL_PRESET_ID => SourceKind::OfficialPreset,
            MODELS_DEV_ID => SourceKind::ModelsDev,
            0 => SourceKind::Custom,
            _ => SourceKind::Channel,
        }
    }

    /// The endpoint per source, as the server's frontend picks it (§1.6): models.dev URL for
    /// −101, the official file for −100, `openrouter` for type 20, else the server default.
    pub fn endpoint_for(id: i64, channel_type: i64, server_default: &str) -> String {
        match id {
            MODELS_DEV_ID => MODELS_DEV_URL.into(),
            OFFICIAL_PRESET_ID => OFFICIAL_PRESET_ENDPOINT.into(),
            _ if channel_type == 20 => "openrouter".into(),
            _ => server_default.into(),
        }
    }

    /// This source as an upstream with its default endpoint.
    pub fn upstream(&self) -> RatioUpstream {
        RatioUpstream {
            id: self.id,
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            endpoint: self.default_endpoint.clone(),
        }
    }
}

/// What `RatioSync::sources` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatioSources {
    pub sources: Vec<RatioSource>,
    /// The server's version (`/api/status`), if it told.
    pub version: Option<String>,
    /// The endpoint new custom upstreams get by default on this server.
    pub default_endpoint: String,
}

/// The default endpoint for a server version: `/api/pricing` since 2026-04-26, `/api/ratio_config`
/// before. New API has no date in its version; we treat releases before v0.10 as the old default
/// (the 2025 builds) and anything newer, unknown or unparsable as current. An admin can always
/// set the endpoint per upstream.
pub fn default_endpoint_for_version(version: Option<&str>) -> &'static str {
    let Some(v) = version else {
        return ENDPOINT_PRICING;
    };
    let v = v.trim().trim_start_matches(['v', 'V']);
    let mut parts = v.split(['.', '-']).map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(0), Some(minor)) if minor < 10 => ENDPOINT_RATIO_CONFIG,
        _ => ENDPOINT_PRICING,
    }
}

/// One upstream in a fetch request (`dto.UpstreamRequest.upstreams[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatioUpstream {
    /// A source id, or 0 for a custom upstream.
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub base_url: String,
    /// A path (`/api/pricing`), an absolute `http(s)://` URL, or `openrouter`.
    #[serde(default)]
    pub endpoint: String,
}

impl RatioUpstream {
    /// A custom upstream, validated the way the server filters them: a non-empty name, a base URL
    /// starting with `http` (trailing `/` trimmed), and an endpoint (empty = `default_endpoint`;
    /// a missing leading `/` is added; `openrouter` needs a real channel, so it is refused here).
    pub fn custom(
        name: &str,
        base_url: &str,
        endpoint: Option<&str>,
        default_endpoint: &str,
    ) -> Result<RatioUpstream> {
        Self::custom_parsed_by(name, base_url, endpoint, default_endpoint, |u| {
            crate::base_url::parse_url(u).is_ok()
        })
    }

    /// [`RatioUpstream::custom`] with the URL parser given: the pages pass the browser's
    /// (WHATWG, as the `url` crate is), so they link no `url` crate (issue 18).
    pub fn custom_parsed_by(
        name: &str,
        base_url: &str,
        endpoint: Option<&str>,
        default_endpoint: &str,
        parses: impl Fn(&str) -> bool,
    ) -> Result<RatioUpstream> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::validation("a custom upstream needs a name"));
        }
        let base = base_url.trim().trim_end_matches('/');
        if !base.starts_with("http") {
            return Err(Error::validation(format!(
                "upstream {name:?}: the base URL must start with http:// or https://"
            )));
        }
        if !parses(base) {
            return Err(Error::validation(format!(
                "upstream {name:?}: the base URL is not a valid URL"
            )));
        }
        let endpoint = endpoint.map(str::trim).filter(|e| !e.is_empty());
        let endpoint = match endpoint {
            None => default_endpoint.to_string(),
            Some("openrouter") => {
                return Err(Error::validation(format!(
                    "upstream {name:?}: the openrouter endpoint uses a channel's key; pick the channel as a source instead"
                )))
            }
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => e.to_string(),
            Some(e) if e.starts_with('/') => e.to_string(),
            Some(e) => format!("/{e}"),
        };
        Ok(RatioUpstream {
            id: 0,
            name: name.to_string(),
            base_url: base.to_string(),
            endpoint,
        })
    }

    /// The column name the server uses in its answer: `name(id)`, or `name` when id is 0.
    pub fn display_name(&self) -> String {
        if self.id != 0 {
            format!("{}({})", self.name, self.id)
        } else {
            self.name.clone()
        }
    }
}

/// A fetch: which upstreams, and the per-upstream timeout in seconds (default 10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub upstreams: Vec<RatioUpstream>,
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
}

fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_S
}

impl FetchRequest {
    pub fn new(upstreams: Vec<RatioUpstream>) -> Self {
        FetchRequest {
            upstreams,
            timeout_s: DEFAULT_TIMEOUT_S,
        }
    }

    /// Checks what the server would silently drop or merge: no upstreams, a base URL that does
    /// not start with `http`, two upstreams with the same column name, a timeout out of 1–120 s.
    pub fn validate(&self) -> Result<()> {
        if self.upstreams.is_empty() {
            return Err(Error::validation("pick at least one upstream"));
        }
        if !(1..=120).contains(&self.timeout_s) {
            return Err(Error::validation(
                "the upstream timeout must be between 1 and 120 seconds",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for u in &self.upstreams {
            if u.name.trim().is_empty() {
                return Err(Error::validation("every upstream needs a name"));
            }
            if !u.base_url.trim().starts_with("http") {
                return Err(Error::validation(format!(
                    "upstream {:?}: the base URL must start with http:// or https://",
                    u.name
                )));
            }
            if !seen.insert(u.display_name()) {
                return Err(Error::validation(format!(
                    "two upstreams are both called {:?}; rename one",
                    u.display_name()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_ratio_value_reads_numbers_and_strings_only() {
        let read = |j: &str| serde_json::from_str::<RatioValue>(j);
        assert_eq!(read("2").unwrap(), RatioValue::Number(2.0));
        assert_eq!(read("-3").unwrap(), RatioValue::Number(-3.0));
        assert_eq!(read("0.375").unwrap(), RatioValue::Number(0.375));
        assert_eq!(read("\"1.5x\"").unwrap(), RatioValue::Text("1.5x".into()));
        for bad in ["true", "null", "[1]", "{\"a\": 1}"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        // the same JSON back
        for j in ["2.0", "0.375", "\"t\""] {
            assert_eq!(serde_json::to_string(&read(j).unwrap()).unwrap(), j);
        }
    }

    use super::*;

    #[test]
    fn fields_map_to_option_keys_and_back() {
        for f in RatioField::ALL {
            assert_eq!(RatioField::parse(f.as_str()), Some(f));
            assert_eq!(RatioField::from_option_key(f.option_key()), Some(f));
        }
        assert_eq!(
            RatioField::BillingExpr.option_key(),
            "billing_setting.billing_expr"
        );
        assert!(RatioField::CacheRatio.is_ratio());
        assert!(!RatioField::ModelPrice.is_ratio());
        assert!(RatioField::BillingMode.is_text());
    }

    #[test]
    fn default_endpoint_by_version() {
        let rows = [
            (None, ENDPOINT_PRICING),
            (Some("v0.9.9"), ENDPOINT_RATIO_CONFIG),
            (Some("v0.6.6.2"), ENDPOINT_RATIO_CONFIG),
            (Some("v0.10.4"), ENDPOINT_PRICING),
            (Some("v1.0.0"), ENDPOINT_PRICING),
            (Some("dev-abcdef"), ENDPOINT_PRICING),
        ];
        for (v, want) in rows {
            assert_eq!(default_endpoint_for_version(v), want, "{v:?}");
        }
    }

    #[test]
    fn custom_upstreams_are_validated() {
        let u =
            RatioUpstream::custom(" mine ", "https://x.example/ ", None, "/api/pricing").unwrap();
        assert_eq!(
            (
                u.id,
                u.name.as_str(),
                u.base_url.as_str(),
                u.endpoint.as_str()
            ),
            (0, "mine", "https://x.example", "/api/pricing")
        );
        assert_eq!(u.display_name(), "mine");
        let u = RatioUpstream::custom("m", "http://h", Some("api/ratio_config"), "/x").unwrap();
        assert_eq!(u.endpoint, "/api/ratio_config");
        let u = RatioUpstream::custom("m", "http://h", Some("https://o/p.json"), "/x").unwrap();
        assert_eq!(u.endpoint, "https://o/p.json");
        for (name, base, ep) in [
            ("", "https://x", None),
            ("a", "ftp://x", None),
            ("a", "x.example.com", None),
            ("a", "https://x", Some("openrouter")),
        ] {
            let e = RatioUpstream::custom(name, base, ep, "/api/pricing").unwrap_err();
            assert_eq!(e.class, crate::ErrorClass::Validation, "{name} {base}");
        }
    }

    #[test]
    fn fetch_requests_are_validated() {
        let a = RatioUpstream::custom("a", "http://h", None, "/api/pricing").unwrap();
        let mut req = FetchRequest::new(vec![a.clone()]);
        assert!(req.validate().is_ok());
        req.upstreams.push(a);
        assert!(req.validate().unwrap_err().message.contains("both called"));
        let req = FetchRequest {
            upstreams: vec![RatioUpstream::custom("a", "http://h", None, "/x").unwrap()],
            timeout_s: 0,
        };
        assert!(req.validate().is_err());
        assert!(FetchRequest::new(vec![]).validate().is_err());
        let req: FetchRequest = serde_json::from_str(r#"{"upstreams":[]}"#).unwrap();
        assert_eq!(req.timeout_s, 10);
    }

    #[test]
    fn values_compare_with_epsilon() {
        assert!(RatioValue::Number(0.1 + 0.2).same_as(&RatioValue::Number(0.3)));
        assert!(!RatioValue::Number(1.0).same_as(&RatioValue::Number(1.001)));
        assert!(!RatioValue::Number(1.0).same_as(&RatioValue::Text("1".into())));
        let v: RatioValue = serde_json::from_str("2.5").unwrap();
        assert_eq!(v, RatioValue::Number(2.5));
        let v: RatioValue = serde_json::from_str("\"tiered_expr\"").unwrap();
        assert_eq!(v, RatioValue::Text("tiered_expr".into()));
    }
}
