//! Domain types shared by every layer: sites, channels, mappings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A gateway's channel id. New API family ids are integers, AxonHub's are `gid://axonhub/channel/N`;
/// both are kept as text so the engine never cares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub String);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for ChannelId {
    fn from(v: i64) -> Self {
        ChannelId(v.to_string())
    }
}

/// Our own id for a configured site (stable across renames).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SiteId(pub String);

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SiteKind {
    #[serde(rename = "new-api")]
    NewApi,
    #[serde(rename = "veloera")]
    Veloera,
    #[serde(rename = "done-hub")]
    DoneHub,
    #[serde(rename = "octopus")]
    Octopus,
    #[serde(rename = "axonhub")]
    AxonHub,
}

impl SiteKind {
    pub const ALL: [SiteKind; 5] = [
        SiteKind::NewApi,
        SiteKind::Veloera,
        SiteKind::DoneHub,
        SiteKind::Octopus,
        SiteKind::AxonHub,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::NewApi => "new-api",
            SiteKind::Veloera => "veloera",
            SiteKind::DoneHub => "done-hub",
            SiteKind::Octopus => "octopus",
            SiteKind::AxonHub => "axonhub",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SiteKind::NewApi => "New API",
            SiteKind::Veloera => "Veloera",
            SiteKind::DoneHub => "DoneHub",
            SiteKind::Octopus => "Octopus",
            SiteKind::AxonHub => "AxonHub",
        }
    }

    pub fn parse(s: &str) -> Option<SiteKind> {
        SiteKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret string: never printed by `Debug`, never serialized into history or exports
/// (only the site record keeps it).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Credentials as a form, a config file or storage carries them: every field optional, the
/// site type deciding which are read ([`crate::gateway::CredentialKind::shape`]). This is also
/// the stored and exported layout of [`Credentials`], so records from before the enum load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialFields {
    /// New API / Veloera / DoneHub access token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// New API / Veloera user id (sent as `New-Api-User` / `Veloera-User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Octopus username, AxonHub email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
}

impl CredentialFields {
    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = [&self.token, &self.password]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.0.clone())
            .collect();
        // `user:password` is what HTTP Basic auth (base64) and URL userinfo carry.
        if let (Some(user), false) = (&self.username, self.password.is_empty()) {
            out.push(format!("{user}:{}", self.password.expose()));
        }
        out
    }
}

/// A site's credentials in the shape its type needs (`docs/admin-apis.md`; which shape is
/// [`crate::gateway::Capabilities::credentials`]). A field may still be empty where a form or an
/// import has not filled it yet ([`crate::gateway::CredentialKind::missing`] names it); a field
/// the site type does not use cannot be held at all.
///
/// Stored and exported flat ([`CredentialFields`]); a [`Site`] puts what it loads into its type's
/// shape, whatever fields the record carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CredentialFields", into = "CredentialFields")]
pub enum Credentials {
    /// New API, Veloera: an access token and the id of the admin user it belongs to.
    TokenAndUserId { token: Secret, user_id: Option<i64> },
    /// DoneHub: an access token.
    Token { token: Secret },
    /// Octopus (a username), AxonHub (an email): a login the adapter trades for a session.
    Login { login: String, password: Secret },
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials::Token {
            token: Secret::default(),
        }
    }
}

impl Credentials {
    /// The access token (token-based site types).
    pub fn token(&self) -> Option<&Secret> {
        match self {
            Credentials::TokenAndUserId { token, .. } | Credentials::Token { token } => Some(token),
            Credentials::Login { .. } => None,
        }
    }

    /// The admin user id (New API, Veloera), when set.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Credentials::TokenAndUserId { user_id, .. } => *user_id,
            _ => None,
        }
    }

    /// The login name (trimmed) and password, when both are set (Octopus, AxonHub).
    pub fn login(&self) -> Option<(&str, &Secret)> {
        match self {
            Credentials::Login { login, password }
                if !login.trim().is_empty() && !password.is_empty() =>
            {
                Some((login.trim(), password))
            }
            _ => None,
        }
    }

    /// Every secret value, for redaction.
    pub fn secrets(&self) -> Vec<String> {
        self.fields().secrets()
    }

    /// The same shape with every secret emptied (the user id and login name stay).
    pub fn without_secrets(&self) -> Credentials {
        match self {
            Credentials::TokenAndUserId { user_id, .. } => Credentials::TokenAndUserId {
                token: Secret::default(),
                user_id: *user_id,
            },
            Credentials::Token { .. } => Credentials::Token {
                token: Secret::default(),
            },
            Credentials::Login { login, .. } => Credentials::Login {
                login: login.clone(),
                password: Secret::default(),
            },
        }
    }

    /// The flat view (storage, exports, forms).
    pub fn fields(&self) -> CredentialFields {
        self.clone().into()
    }
}

impl From<Credentials> for CredentialFields {
    fn from(c: Credentials) -> Self {
        match c {
            Credentials::TokenAndUserId { token, user_id } => CredentialFields {
                token,
                user_id,
                ..Default::default()
            },
            Credentials::Token { token } => CredentialFields {
                token,
                ..Default::default()
            },
            Credentials::Login { login, password } => CredentialFields {
                username: Some(login),
                password,
                ..Default::default()
            },
        }
    }
}

/// The shape the fields themselves suggest, for a record read without its site type; a
/// [`Site`] reshapes it by its type ([`crate::gateway::CredentialKind::shape`]).
impl From<CredentialFields> for Credentials {
    fn from(f: CredentialFields) -> Self {
        if f.username.is_some() || !f.password.is_empty() {
            Credentials::Login {
                login: f.username.unwrap_or_default(),
                password: f.password,
            }
        } else if f.user_id.is_some() {
            Credentials::TokenAndUserId {
                token: f.token,
                user_id: f.user_id,
            }
        } else {
            Credentials::Token { token: f.token }
        }
    }
}

/// A managed gateway site. Its credentials always have its type's shape, also when a stored
/// record carries fields of another type (see [`SiteRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SiteRecord")]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub kind: SiteKind,
    pub base_url: String,
    pub credentials: Credentials,
    /// The user explicitly accepted sending this site's credentials over plain `http://` to a
    /// non-local host (CLI `allow_insecure = true`, the Sites page's consent box). Without it
    /// every request to such an address is refused ([`crate::base_url::BaseUrl::is_insecure`]).
    #[serde(default)]
    pub allow_insecure: bool,
}

/// A stored site as read: credentials flat, put into the type's shape by [`Site`]'s
/// `From` (a field the type does not use is dropped, e.g. an Octopus password left in a record
/// whose type was changed to DoneHub).
#[derive(Deserialize)]
struct SiteRecord {
    id: SiteId,
    name: String,
    kind: SiteKind,
    base_url: String,
    #[serde(default)]
    credentials: CredentialFields,
    #[serde(default)]
    allow_insecure: bool,
}

impl From<SiteRecord> for Site {
    fn from(r: SiteRecord) -> Self {
        Site {
            credentials: crate::gateway::capabilities(r.kind)
                .credentials
                .shape(r.credentials),
            id: r.id,
            name: r.name,
            kind: r.kind,
            base_url: r.base_url,
            allow_insecure: r.allow_insecure,
        }
    }
}

impl Site {
    /// Base URL without trailing slashes (a path prefix is kept: sites may live under one).
    pub fn api_base(&self) -> &str {
        self.base_url.trim().trim_end_matches('/')
    }
}

/// A channel's model mapping ("requested name → actual upstream name"), as read from the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum Mapping {
    /// No mapping (absent, `""` or `{}`).
    Empty,
    /// Pairs in the site's order.
    Valid { pairs: Vec<(String, String)> },
    /// Text we could not parse; never overwritten without explicit confirmation.
    Invalid { raw: String, error: String },
    /// The site has no per-channel mapping (Octopus).
    Unsupported,
}

crate::stored_enum!(Mapping, "state");

impl Mapping {
    pub fn pairs(&self) -> &[(String, String)] {
        match self {
            Mapping::Valid { pairs } => pairs,
            _ => &[],
        }
    }

    /// Parse a New API / DoneHub `model_mapping` JSON string.
    pub fn from_json_text(text: Option<&str>) -> Mapping {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Mapping::Empty;
        };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => {
                // Read again keeping the members in the text's order (serde_json's map sorts).
                let members = match serde_json::from_str::<OrderedObject>(text) {
                    Ok(o) => o.0,
                    Err(e) => {
                        return Mapping::Invalid {
                            raw: text.to_string(),
                            error: format!("model_mapping is not valid JSON: {e}"),
                        }
                    }
                };
                let mut pairs = Vec::with_capacity(members.len());
                for (k, v) in members {
                    match v {
                        serde_json::Value::String(s) => pairs.push((k, s)),
                        other => {
                            return Mapping::Invalid {
                                raw: text.to_string(),
                                error: format!("value of {k:?} is not a string: {other}"),
                            }
                        }
                    }
                }
                if pairs.is_empty() {
                    Mapping::Empty
                } else {
                    Mapping::Valid { pairs }
                }
            }
            Ok(_) => Mapping::Invalid {
                raw: text.to_string(),
                error: "model_mapping is not a JSON object".into(),
            },
            Err(e) => Mapping::Invalid {
                raw: text.to_string(),
                error: format!("model_mapping is not valid JSON: {e}"),
            },
        }
    }

    /// Serialize pairs back to the JSON-string form (`""` for none), in their order.
    pub fn to_json_text(pairs: &[(String, String)]) -> String {
        if pairs.is_empty() {
            return String::new();
        }
        let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let mut out = String::from("{");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&quote(k));
            out.push(':');
            out.push_str(&quote(v));
        }
        out.push('}');
        out
    }
}

/// A JSON object's members in the order the text has them; a repeated key keeps its first
/// place and its last value (as Go's decoder, which the gateways use, keeps the last).
struct OrderedObject(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut out: Vec<(String, serde_json::Value)> = Vec::new();
                let mut at: std::collections::HashMap<String, usize> =
                    std::collections::HashMap::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    match at.get(&k) {
                        Some(&i) => out[i].1 = v,
                        None => {
                            at.insert(k.clone(), out.len());
                            out.push((k, v));
                        }
                    }
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(Members)
    }
}

#[cfg(test)]
mod mapping_tests {
    use super::*;

    #[test]
    fn a_mapping_keeps_the_sites_order_through_read_and_write() {
        let text = r#"{"zeta":"z-1","alpha":"a-1","mid":"m-1","alpha":"a-2"}"#;
        let m = Mapping::from_json_text(Some(text));
        let pairs: Vec<(&str, &str)> = m
            .pairs()
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(pairs, [("zeta", "z-1"), ("alpha", "a-2"), ("mid", "m-1")]);
        assert_eq!(
            Mapping::to_json_text(m.pairs()),
            r#"{"zeta":"z-1","alpha":"a-2","mid":"m-1"}"#
        );
        let odd = vec![("a\"b".to_string(), "模型/<x>".to_string())];
        assert_eq!(
            Mapping::from_json_text(Some(&Mapping::to_json_text(&odd))).pairs(),
            odd.as_slice()
        );
    }
}

/// A channel as the engine sees it. Site-specific fields stay inside the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub name: String,
    pub enabled: bool,
    /// The site's channel type, as text (`1`, `openai`, …), for display and filters.
    pub channel_type: String,
    /// The channel's upstream base URL, if the site exposes it (for per-host rate limits).
    pub upstream_base_url: Option<String>,
    pub models: Vec<String>,
    pub mapping: Mapping,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What the gateway itself keeps about this channel's models (read by the adapter, obeyed
    /// by the plan; `docs/gateways.md`).
    #[serde(default, skip_serializing_if = "GatewayRules::is_empty")]
    pub rules: GatewayRules,
}

/// A gateway's own rules for a channel's model list, which a sync must not fight:
/// hand-added names, the gateway's own sync pattern and ignore list, gateway-side auto sync,
/// and routes that point at a model. Empty for most channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRules {
    /// Names an admin added by hand on the gateway (AxonHub `manualModels`): never removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<String>,
    /// Only upstream names matching this are taken (AxonHub `autoSyncModelPattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<ModelPattern>,
    /// Upstream names the admin told the gateway to ignore (New API
    /// `upstream_model_update_ignored_models`): never added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<ModelPattern>,
    /// The gateway rewrites this channel's model list by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_sync: Option<AutoSync>,
    /// Models a gateway route points at (Octopus group items), with the routes' names: removing
    /// one deletes the route for good.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routed: Vec<RoutedModel>,
    /// The route items themselves (Octopus group items pointing at this channel), as a revert
    /// needs them to create the ones a write deleted again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_items: Vec<RouteItem>,
}

impl GatewayRules {
    pub fn is_empty(&self) -> bool {
        self == &GatewayRules::default()
    }
}

/// A model-name pattern as a gateway stores it. msync does not store it (it travels inside
/// [`Channel`] to the pages), so it is in serde's default enum form: `{"regex": "gpt-.*"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelPattern {
    Exact(String),
    /// A regular expression matched against the whole name.
    Regex(String),
}

impl ModelPattern {
    pub fn text(&self) -> &str {
        match self {
            ModelPattern::Exact(s) | ModelPattern::Regex(s) => s,
        }
    }
}

/// Which gateway feature rewrites a channel's models by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoSync {
    /// Octopus `auto_sync`.
    Octopus,
    /// AxonHub `autoSyncSupportedModels`.
    AxonHub,
    /// New API upstream model update detection with auto sync
    /// (`settings.upstream_model_update_auto_sync_enabled`).
    NewApi,
}

impl AutoSync {
    /// The gateway's own name for the setting, as an admin finds it.
    pub fn setting(self) -> &'static str {
        match self {
            AutoSync::Octopus => "auto_sync",
            AutoSync::AxonHub => "autoSyncSupportedModels",
            AutoSync::NewApi => "upstream_model_update_auto_sync_enabled",
        }
    }
}

/// One gateway route to a channel's model (an Octopus group item, bestruirui/octopus
/// `internal/model/group.go` `GroupItem`): what creating it again takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteItem {
    /// The group's id and name.
    pub group_id: String,
    pub group: String,
    pub model: String,
    #[serde(default)]
    pub priority: i64,
    /// Octopus v0.9 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    /// The group's active item (`active_item_id`, v0.10+) was this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub active: bool,
}

/// A model that routes point at, with the routes' (groups') names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedModel {
    pub model: String,
    pub routes: Vec<String>,
}

impl Channel {
    /// The host the gateway will contact when fetching this channel's models.
    pub fn upstream_host(&self) -> Option<String> {
        let base = self.upstream_base_url.as_deref()?.trim();
        if base.is_empty() {
            return None;
        }
        crate::base_url::parse_url(base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    }
}

/// What to change on a channel. `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelUpdate {
    pub models: Option<Vec<String>>,
    /// The full mapping to store ("requested → actual"), already merged by the caller.
    pub mapping: Option<Vec<(String, String)>>,
}

impl ChannelUpdate {
    pub fn is_empty(&self) -> bool {
        self.models.is_none() && self.mapping.is_none()
    }
}
