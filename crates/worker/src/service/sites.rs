//! Site records: validation of what the Sites page sends, the insecure-URL warning, the
//! host-permission pattern, and the secret-free summary pages see.

use super::storage::normalize_base_url;
use msync_core::base_url::{is_insecure, BaseUrl};
use msync_core::gateway::{capabilities, CredentialField};
use msync_core::model::{Site, SiteId};
use msync_core::protocol::{SiteInput, SiteSummary};
use msync_core::settings::{FieldProblem, SettingsIssue};

/// Whether `id` is usable as a site id (it becomes part of storage keys and alarm names).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A new id from the name: lowercase ASCII slug, unique among `taken`.
pub fn new_id(name: &str, taken: &[SiteId]) -> SiteId {
    let mut slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let mut slug = slug.trim_matches('-').to_string();
    slug.truncate(32);
    if slug.is_empty() {
        slug = "site".into();
    }
    let mut candidate = slug.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.0 == candidate) {
        candidate = format!("{slug}-{n}");
        n += 1;
    }
    SiteId(candidate)
}

/// The parsed base URL, or what is wrong with it (one parser for every shell:
/// [`msync_core::base_url::BaseUrl`]).
pub fn parse_base_url(raw: &str) -> Result<url::Url, String> {
    BaseUrl::parse(&normalize_base_url(raw))
        .map(BaseUrl::into_url)
        .map_err(|e| e.to_string())
}

/// The `origins` pattern of the host permission the site needs (`https://host/*`: every port of
/// the host in Chrome and Firefox; Firefox does not match requests against a pattern with a
/// port). The options page requests the same pattern (`crates/ui/src/api.rs` `host_pattern_of`).
pub fn origin_pattern(base_url: &str) -> Result<String, String> {
    BaseUrl::parse(&normalize_base_url(base_url))
        .map(|u| u.host_pattern())
        .map_err(|e| e.to_string())
}

/// The origin for messages (`https://host:port`).
pub fn origin(base_url: &str) -> String {
    parse_base_url(base_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| base_url.to_string())
}

pub fn summary(site: &Site) -> SiteSummary {
    SiteSummary {
        id: site.id.clone(),
        name: site.name.clone(),
        kind: site.kind,
        base_url: site.base_url.clone(),
        has_credentials: !site.credentials.secrets().is_empty(),
        user_id: site.credentials.user_id(),
        username: site.credentials.fields().username,
        insecure: is_insecure(&site.base_url),
        allow_insecure: site.allow_insecure,
    }
}

/// Validate `input` against the stored site (`existing`, when editing) and build the record to
/// store. Empty secrets keep the stored ones — unless the address moved to another origin: then
/// the stored secrets are not carried over (they would be sent to a different server).
pub fn build_site(
    input: SiteInput,
    existing: Option<&Site>,
    others: &[Site],
) -> Result<Site, Vec<SettingsIssue>> {
    let mut issues = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        issues.push(SettingsIssue::found("name", FieldProblem::NameMissing));
    } else if name.chars().count() > 100 {
        issues.push(SettingsIssue::found(
            "name",
            FieldProblem::NameTooLong { max: 100 },
        ));
    } else if others.iter().any(|o| {
        o.name.trim().eq_ignore_ascii_case(&name) && Some(&o.id) != existing.map(|e| &e.id)
    }) {
        issues.push(SettingsIssue::found(
            "name",
            FieldProblem::NameTaken { name: name.clone() },
        ));
    }
    let base_url = normalize_base_url(&input.base_url);
    if let Err(e) = BaseUrl::parse(&base_url) {
        issues.push(SettingsIssue::found("base_url", e.into()));
    }
    // Plain http to a public host needs the user's explicit consent (the form's checkbox);
    // consent is kept only while the address stays insecure.
    let insecure = is_insecure(&base_url);
    if insecure && !input.allow_insecure {
        issues.push(SettingsIssue::found(
            "allow_insecure",
            FieldProblem::InsecureNeedsConsent,
        ));
    }
    if let Some(id) = &input.id {
        if !valid_id(&id.0) {
            issues.push(SettingsIssue::found("id", FieldProblem::BadSiteId));
        }
    }
    let mut creds = input.credentials;
    creds.username = creds
        .username
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    if let Some(old) = existing {
        let same_origin = origin(&old.base_url) == origin(&base_url);
        let same_kind = old.kind == input.kind;
        let keep = |new: &mut msync_core::model::Secret, old: &msync_core::model::Secret| {
            if new.is_empty() {
                *new = old.clone();
            }
        };
        if same_origin && same_kind {
            let stored = old.credentials.fields();
            keep(&mut creds.token, &stored.token);
            keep(&mut creds.password, &stored.password);
        } else if creds.secrets().is_empty() && !old.credentials.secrets().is_empty() {
            issues.push(SettingsIssue::found(
                "credentials",
                FieldProblem::CredentialsAgain,
            ));
        }
    }
    let need = capabilities(input.kind).credentials;
    let creds = need.shape(creds);
    let changed_secret_issue = issues.iter().any(|i| i.field == "credentials");
    if !changed_secret_issue {
        for f in need.missing(&creds) {
            // The form keeps an email in the username field.
            let field = match f {
                CredentialField::Token => "token",
                CredentialField::UserId => "user_id",
                CredentialField::Username | CredentialField::Email => "username",
                CredentialField::Password => "password",
            };
            issues.push(SettingsIssue::found(
                format!("credentials.{field}"),
                FieldProblem::CredentialsMissing {
                    site: input.kind,
                    need,
                },
            ));
        }
    }
    if let Some(uid) = creds.user_id() {
        if uid <= 0 {
            issues.push(SettingsIssue::found(
                "credentials.user_id",
                FieldProblem::UserIdNotPositive,
            ));
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Site {
        id: input
            .id
            .or_else(|| existing.map(|e| e.id.clone()))
            .unwrap_or_else(|| {
                new_id(
                    &name,
                    &others.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
                )
            }),
        name,
        kind: input.kind,
        base_url,
        credentials: creds,
        allow_insecure: insecure && input.allow_insecure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns_drop_port_and_path() {
        assert_eq!(
            origin_pattern("https://gw.example.com:8443/api/").unwrap(),
            "https://gw.example.com/*"
        );
        assert_eq!(
            origin_pattern("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1/*"
        );
        assert_eq!(
            origin_pattern("http://[::1]:3000").unwrap(),
            "http://[::1]/*"
        );
        assert!(origin_pattern("ftp://x").is_err());
        assert_eq!(origin("http://127.0.0.1:3000/x"), "http://127.0.0.1:3000");
    }

    #[test]
    fn bad_base_urls_are_refused_with_reasons() {
        for (url, needle) in [
            ("", "enter the site"),
            ("gw.example.com", "not a valid URL"),
            ("ftp://gw.example.com", "https://"),
            ("https://admin:pw@gw.example.com", "credential fields"),
            ("https://gw.example.com/?x=1", "query"),
        ] {
            let e = parse_base_url(url).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }

    #[test]
    fn ids_are_slugs_and_unique() {
        let taken = vec![SiteId("my-gateway".into())];
        assert_eq!(new_id("My Gateway", &taken).0, "my-gateway-2");
        assert_eq!(new_id("  Prod / EU ", &[]).0, "prod-eu");
        assert_eq!(new_id("网关", &[]).0, "site");
        assert!(valid_id("prod_eu-1"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(""));
    }
}
