//! What differs per site type, as data: one [`Capabilities`] value per gateway, read by the
//! engine and its adapters (`msync_core::gateway`), the redirect planner, the CLI's config, the
//! worker's Save Site and the UI's forms (which link this crate only, so the values live here, not
//! in the adapters). [`capabilities`] is the registry. Nothing outside the adapters and this file
//! asks which site type it has (`xtask/src/checks.rs`).

use super::ModelListFormat;
use crate::model::{CredentialFields, Credentials, Secret, SiteKind};
use crate::probe::ChannelTest;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a site can do; the UI says so instead of pretending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Per-channel model mapping (Octopus has none: it uses groups).
    pub model_mapping: bool,
    /// New API ratio sync endpoints (`docs/ratios.md`).
    pub ratio_sync: bool,
    /// A mapping's request-side names must also be listed in the channel's models for the
    /// gateway to route them (New API, Veloera, DoneHub). AxonHub exposes mapping `from` names
    /// by itself and its models list holds upstream ids only.
    pub aliases_must_be_listed: bool,
    /// How the site stores a channel's model list: which names it can hold at all.
    #[serde(default)]
    pub model_list: ModelListFormat,
    /// How the site reads a mapping's values.
    #[serde(default)]
    pub mapping: MappingRules,
    /// Which credentials the site needs.
    #[serde(default)]
    pub credentials: CredentialKind,
    /// The limit the gateway puts on its own admin API by default (`None`: it has none).
    #[serde(default)]
    pub api_rate_limit: Option<ApiRateLimit>,
    /// The site can store an empty model list through its admin API. None of the five can
    /// (New API, Veloera and DoneHub skip an empty `models`; Octopus would drop the channel's
    /// group routes; AxonHub refuses it), so a revert to an empty list is held for review
    /// ([`crate::hold::RevertHold::EmptyModelList`]).
    #[serde(default)]
    pub empty_model_list: bool,
    /// The gateway's own channel test, used to probe a model before adding it (issue 21,
    /// `docs/probe.md`). Sites without one disable the probe option with a reason.
    #[serde(default)]
    pub channel_test: ChannelTest,
}

/// How a site reads a model mapping's values (`docs/gateways.md`, "Model mapping").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRules {
    /// A value may start with `+` ("bill by the original model", DoneHub), which is not part of
    /// the target model's name.
    #[serde(default)]
    pub billing_prefix: bool,
    /// The relay follows a target that is itself a key (`a→b→c`, New API).
    #[serde(default)]
    pub follows_chains: bool,
    /// The site ignores and refuses entries whose target is not among the channel's models
    /// (AxonHub: `to ∈ supportedModels`).
    #[serde(default)]
    pub targets_must_be_listed: bool,
}

/// A limit a gateway puts on its own admin API, per client IP: at most `max` requests in any
/// `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRateLimit {
    pub max: u32,
    pub window_ms: u64,
}

impl ApiRateLimit {
    /// New API's `GlobalAPIRateLimit` on every `/api/*` route, per client IP: 180 requests per
    /// 180 s before 2026-06-10 (360 since; `common/init.go`, `middleware/rate-limit.go`). Over it:
    /// 429 with an empty body (and no `Retry-After` before 2026-07-21). The older, lower limit is
    /// the one msync stays under: a site's version is not known before its first request.
    pub const NEW_API: ApiRateLimit = ApiRateLimit {
        max: 180,
        window_ms: 180_000,
    };
    /// Veloera kept New API's 2025 limit: 180 per 180 s per IP, 429 with an empty body, no
    /// `Retry-After` (`common/init.go`, `middleware/rate-limit.go`).
    pub const VELOERA: ApiRateLimit = ApiRateLimit::NEW_API;
    /// DoneHub's `GlobalAPIRateLimit` (`middleware/rate-limit.go`, config
    /// `global.api_rate_limit`): 300 requests per 180 s per client IP on every `/api` route; over
    /// it, 429 with an empty body and no `Retry-After`. (Loopback clients are exempt; msync is
    /// normally remote.)
    pub const DONE_HUB: ApiRateLimit = ApiRateLimit {
        max: 300,
        window_ms: 180_000,
    };
}

/// The site types' channel tests (issue 21, `docs/probe.md`).
impl ChannelTest {
    /// New API's channel test (`controller/channel-test.go` `TestChannel`, admin route
    /// `GET /api/channel/test/:id?model=`; Veloera: the same file): the gateway sends a tiny
    /// request for the model with the channel's key, logs it as usage ("模型测试") and, on
    /// success, stores the time as the channel's response time (Veloera: also on failure). A
    /// single test never disables the channel (only the periodic "test all" does).
    pub const NEW_API: ChannelTest = ChannelTest::Supported {
        may_disable_channel: false,
        updates_response_time: true,
        logged_as_usage: true,
    };
    /// DoneHub's channel test (`controller/channel-test.go` `TestChannel`, admin route
    /// `GET /api/channel/test/:id?model=`): HTTP 200 with `success`, `message` and `time`. On
    /// success it stores the time as the channel's response time. On failure, when automatic
    /// disabling is on and the error qualifies (`controller/common.go` `ShouldDisableChannel`:
    /// 401, `invalid_api_key`, `insufficient_quota`, `permission_error`, …), it **disables the
    /// channel** and says so ("测速失败，已被禁用，原因：…"). No usage log entry.
    pub const DONE_HUB: ChannelTest = ChannelTest::Supported {
        may_disable_channel: true,
        updates_response_time: true,
        logged_as_usage: false,
    };
    /// AxonHub's channel test: the GraphQL mutation `testChannel(input: {channelID, modelID})`
    /// → `{latency (seconds), success, error}` (`internal/server/gql/axonhub.graphql`,
    /// `internal/server/chat/tester.go`): a one-message chat request through the channel,
    /// recorded as a request with source "test". A failed test never disables the channel.
    pub const AXON_HUB: ChannelTest = ChannelTest::Supported {
        may_disable_channel: false,
        updates_response_time: false,
        logged_as_usage: true,
    };
}

/// Each site type's value (`docs/admin-apis.md`).
impl Capabilities {
    /// New API: the relay follows mapping chains `a→b→c` (`docs/redirect.md`, "Applying"); ratio
    /// sync exists (`docs/ratios.md`).
    pub const NEW_API: Capabilities = Capabilities {
        model_mapping: true,
        ratio_sync: true,
        aliases_must_be_listed: true,
        model_list: ModelListFormat::CommaJoined,
        mapping: MappingRules {
            billing_prefix: false,
            follows_chains: true,
            targets_must_be_listed: false,
        },
        credentials: CredentialKind::TokenAndUserId,
        api_rate_limit: Some(ApiRateLimit::NEW_API),
        empty_model_list: false,
        channel_test: ChannelTest::NEW_API,
    };
    /// Veloera: New API's 2025 code with its own user-id header; one mapping lookup (no chains),
    /// no ratio sync routes.
    pub const VELOERA: Capabilities = Capabilities {
        ratio_sync: false,
        mapping: MappingRules {
            billing_prefix: false,
            follows_chains: false,
            targets_must_be_listed: false,
        },
        api_rate_limit: Some(ApiRateLimit::VELOERA),
        ..Capabilities::NEW_API
    };
    /// DoneHub: a mapping value may start with `+` (bill by the original model; `docs/redirect.md`,
    /// "Applying"), an access token without a user id.
    pub const DONE_HUB: Capabilities = Capabilities {
        model_mapping: true,
        ratio_sync: false,
        aliases_must_be_listed: true,
        model_list: ModelListFormat::CommaJoined,
        mapping: MappingRules {
            billing_prefix: true,
            follows_chains: false,
            targets_must_be_listed: false,
        },
        credentials: CredentialKind::Token,
        api_rate_limit: Some(ApiRateLimit::DONE_HUB),
        empty_model_list: false,
        channel_test: ChannelTest::DONE_HUB,
    };
    /// Octopus: no per-channel mapping (groups route models), names trimmed and de-duplicated by
    /// the server, a username and password, no admin API limit.
    pub const OCTOPUS: Capabilities = Capabilities {
        model_mapping: false,
        ratio_sync: false,
        aliases_must_be_listed: true,
        model_list: ModelListFormat::CommaJoinedTrimmed,
        mapping: MappingRules {
            billing_prefix: false,
            follows_chains: false,
            targets_must_be_listed: false,
        },
        credentials: CredentialKind::UsernamePassword,
        api_rate_limit: None,
        empty_model_list: false,
        // No channel test in v0.9–v0.11 (`internal/server/handlers/channel.go` routes):
        // probing is disabled with a reason (`docs/probe.md`).
        channel_test: ChannelTest::Missing,
    };
    /// AxonHub: mapping `from` names are exposed by the server itself (the models list holds
    /// upstream ids only), and a mapping's `to` must be one of the channel's `supportedModels`
    /// (`docs/redirect.md`, "AxonHub dead entries"); email and password; a JSON list of models; no
    /// admin API limit.
    pub const AXON_HUB: Capabilities = Capabilities {
        model_mapping: true,
        ratio_sync: false,
        aliases_must_be_listed: false,
        model_list: ModelListFormat::List,
        mapping: MappingRules {
            billing_prefix: false,
            follows_chains: false,
            targets_must_be_listed: true,
        },
        credentials: CredentialKind::EmailPassword,
        api_rate_limit: None,
        empty_model_list: false,
        channel_test: ChannelTest::AXON_HUB,
    };
}

/// One credential a site type needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialField {
    Token,
    UserId,
    Username,
    Email,
    Password,
}

impl fmt::Display for CredentialField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialField::Token => "access token",
            CredentialField::UserId => "user id",
            CredentialField::Username => "username",
            CredentialField::Email => "email",
            CredentialField::Password => "password",
        })
    }
}

/// Which credentials a site type needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An access token and the id of the admin user it belongs to (New API, Veloera).
    #[default]
    TokenAndUserId,
    /// An access token (DoneHub).
    Token,
    /// A username and password (Octopus).
    UsernamePassword,
    /// An email and password (AxonHub); the email is [`Credentials::Login`]'s `login`.
    EmailPassword,
}

impl CredentialKind {
    /// The fields, in the order a form shows them.
    pub fn fields(self) -> &'static [CredentialField] {
        match self {
            CredentialKind::TokenAndUserId => &[CredentialField::Token, CredentialField::UserId],
            CredentialKind::Token => &[CredentialField::Token],
            CredentialKind::UsernamePassword => {
                &[CredentialField::Username, CredentialField::Password]
            }
            CredentialKind::EmailPassword => &[CredentialField::Email, CredentialField::Password],
        }
    }

    pub fn uses(self, field: CredentialField) -> bool {
        self.fields().contains(&field)
    }

    /// An access token (rather than a login).
    pub fn uses_token(self) -> bool {
        self.uses(CredentialField::Token)
    }

    pub fn uses_user_id(self) -> bool {
        self.uses(CredentialField::UserId)
    }

    /// The login name's field (username or email) for sites that log in with a password.
    pub fn login_field(self) -> Option<CredentialField> {
        self.fields()
            .iter()
            .copied()
            .find(|f| matches!(f, CredentialField::Username | CredentialField::Email))
    }

    /// The needed fields `c` leaves empty (all of them when `c` has another type's shape).
    pub fn missing(self, c: &Credentials) -> Vec<CredentialField> {
        let f = self.shape(c.fields());
        self.fields()
            .iter()
            .copied()
            .filter(|field| match (field, &f) {
                (CredentialField::Token, _) => f.token().is_none_or(Secret::is_empty),
                (CredentialField::UserId, _) => f.user_id().is_none(),
                (
                    CredentialField::Username | CredentialField::Email,
                    Credentials::Login { login, .. },
                ) => login.trim().is_empty(),
                (CredentialField::Password, Credentials::Login { password, .. }) => {
                    password.is_empty()
                }
                _ => true,
            })
            .collect()
    }

    /// `f` in this site type's shape: the fields it uses, the others dropped (a form may carry
    /// another type's leftovers).
    pub fn shape(self, f: CredentialFields) -> Credentials {
        match self {
            CredentialKind::TokenAndUserId => Credentials::TokenAndUserId {
                token: f.token,
                user_id: f.user_id,
            },
            CredentialKind::Token => Credentials::Token { token: f.token },
            CredentialKind::UsernamePassword | CredentialKind::EmailPassword => {
                Credentials::Login {
                    login: f.username.unwrap_or_default(),
                    password: f.password,
                }
            }
        }
    }
}

/// The capabilities of a site type, without a connection. Adding a gateway = its value above,
/// one line here, its adapter module and one line in `msync_core::gateway::connect`.
pub fn capabilities(kind: SiteKind) -> Capabilities {
    match kind {
        SiteKind::NewApi => Capabilities::NEW_API,
        SiteKind::Veloera => Capabilities::VELOERA,
        SiteKind::DoneHub => Capabilities::DONE_HUB,
        SiteKind::Octopus => Capabilities::OCTOPUS,
        SiteKind::AxonHub => Capabilities::AXON_HUB,
    }
}

/// The admin API limit a site type enforces by default (`docs/gateways.md`); `None` when the
/// server has none (Octopus, AxonHub).
pub fn api_rate_limit(kind: SiteKind) -> Option<ApiRateLimit> {
    capabilities(kind).api_rate_limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Secret;

    #[test]
    fn each_site_type_says_what_it_needs() {
        let rows = [
            (SiteKind::NewApi, "token,user_id", true),
            (SiteKind::Veloera, "token,user_id", false),
            (SiteKind::DoneHub, "token", false),
            (SiteKind::Octopus, "username,password", false),
            (SiteKind::AxonHub, "email,password", false),
        ];
        for (kind, fields, ratio) in rows {
            let caps = capabilities(kind);
            let got: Vec<String> = caps
                .credentials
                .fields()
                .iter()
                .map(|f| {
                    serde_json::to_value(f)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            assert_eq!(got.join(","), fields, "{kind}");
            assert_eq!(caps.ratio_sync, ratio, "{kind}");
        }
        assert!(capabilities(SiteKind::DoneHub).mapping.billing_prefix);
        assert!(capabilities(SiteKind::NewApi).mapping.follows_chains);
        assert!(!capabilities(SiteKind::Veloera).mapping.follows_chains);
        assert!(
            capabilities(SiteKind::AxonHub)
                .mapping
                .targets_must_be_listed
        );
        assert!(!capabilities(SiteKind::Octopus).model_mapping);
    }

    #[test]
    fn missing_credentials_are_named() {
        let f = CredentialFields {
            token: Secret("t".into()),
            user_id: None,
            username: Some("  ".into()),
            password: Secret::default(),
        };
        let need = CredentialKind::TokenAndUserId;
        assert_eq!(
            need.missing(&need.shape(f.clone())),
            vec![CredentialField::UserId]
        );
        let need = CredentialKind::Token;
        assert!(need.missing(&need.shape(f.clone())).is_empty());
        let need = CredentialKind::EmailPassword;
        assert_eq!(
            need.missing(&need.shape(f.clone())),
            vec![CredentialField::Email, CredentialField::Password]
        );
        // Another type's shape lacks every field this one needs.
        assert_eq!(
            CredentialKind::UsernamePassword.missing(&Credentials::Token {
                token: Secret("t".into())
            }),
            vec![CredentialField::Username, CredentialField::Password]
        );
        let kept = CredentialKind::UsernamePassword.shape(f);
        assert!(kept.token().is_none());
        assert!(kept.secrets().is_empty(), "the token is dropped");
    }

    #[test]
    fn a_stored_site_takes_its_types_shape_and_stores_flat() {
        use crate::model::{Site, SiteId};
        // A record whose type changed from Octopus to DoneHub: the password is dropped.
        let raw = r#"{"id":"s1","name":"a","kind":"done-hub","base_url":"http://127.0.0.1:1",
            "credentials":{"token":"tok","username":"admin","password":"pw"}}"#;
        let site: Site = serde_json::from_str(raw).unwrap();
        assert_eq!(site.id, SiteId("s1".into()));
        assert_eq!(
            site.credentials,
            Credentials::Token {
                token: Secret("tok".into())
            }
        );
        let back = serde_json::to_value(&site).unwrap();
        assert_eq!(back["credentials"], serde_json::json!({ "token": "tok" }));
        // A New API record without a user id keeps its token and misses the id.
        let raw = r#"{"id":"s2","name":"b","kind":"new-api","base_url":"http://127.0.0.1:1",
            "credentials":{"token":"tok"}}"#;
        let site: Site = serde_json::from_str(raw).unwrap();
        assert_eq!(
            capabilities(site.kind)
                .credentials
                .missing(&site.credentials),
            vec![CredentialField::UserId]
        );
        assert_eq!(site.credentials.token().map(Secret::expose), Some("tok"));
        // AxonHub logs in with an email.
        let raw = r#"{"id":"s3","name":"c","kind":"axonhub","base_url":"http://127.0.0.1:1",
            "credentials":{"username":" a@b.c ","password":"pw"}}"#;
        let site: Site = serde_json::from_str(raw).unwrap();
        let (login, pw) = site.credentials.login().unwrap();
        assert_eq!((login, pw.expose()), ("a@b.c", "pw"));
    }
}
