//! What differs per site type, as data: one [`Capabilities`] value per gateway, read by the
//! engine and its adapters (`msync_core::gateway`), the redirect planner, the CLI's config, the
//! worker's Save Site and the UI's forms (which link this crate only, so the values live here, not
//! in the adapters). [`capabilities`] is the registry. Nothing outside the adapters and this file
//! asks which site type it has (`xtask/src/checks.rs`).

use super::ModelListFormat;
use crate::model::{Credentials, SiteKind};
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
    /// An email and password (AxonHub); kept in [`Credentials::username`].
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

    /// The needed fields `c` leaves empty.
    pub fn missing(self, c: &Credentials) -> Vec<CredentialField> {
        self.fields()
            .iter()
            .copied()
            .filter(|f| match f {
                CredentialField::Token => c.token.is_empty(),
                CredentialField::UserId => c.user_id.is_none(),
                CredentialField::Username | CredentialField::Email => {
                    c.username.as_deref().is_none_or(|u| u.trim().is_empty())
                }
                CredentialField::Password => c.password.is_empty(),
            })
            .collect()
    }

    /// `c` with only the fields this site type uses (a form may carry the others' leftovers).
    pub fn keep_used(self, c: Credentials) -> Credentials {
        Credentials {
            token: if self.uses_token() {
                c.token
            } else {
                Default::default()
            },
            user_id: c.user_id.filter(|_| self.uses_user_id()),
            username: c.username.filter(|_| self.login_field().is_some()),
            password: if self.uses(CredentialField::Password) {
                c.password
            } else {
                Default::default()
            },
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
        let c = Credentials {
            token: Secret("t".into()),
            user_id: None,
            username: Some("  ".into()),
            password: Secret::default(),
        };
        assert_eq!(
            CredentialKind::TokenAndUserId.missing(&c),
            vec![CredentialField::UserId]
        );
        assert!(CredentialKind::Token.missing(&c).is_empty());
        assert_eq!(
            CredentialKind::EmailPassword.missing(&c),
            vec![CredentialField::Email, CredentialField::Password]
        );
        let kept = CredentialKind::UsernamePassword.keep_used(c);
        assert!(kept.token.is_empty());
    }
}
