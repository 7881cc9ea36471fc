//! A site's base URL: one parser and one "plain http to a non-local host" test for every shell
//! (the worker's Save Site, the CLI's config, the UI's warning, and the adapters' last check
//! before sending credentials).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// Why a base URL was refused. English text via `Display`; the variants are what callers match
/// (and what a site form's issue carries, `FieldProblem::Address`, worded per language by the
/// pages).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseUrlError {
    Empty,
    /// Not parseable as a URL (the parser's reason).
    Invalid(String),
    /// Not `http` or `https` (the scheme given).
    Scheme(String),
    NoHost,
    /// `user:pass@` in the address.
    Credentials,
    /// `?query` or `#fragment` in the address.
    QueryOrFragment,
}

impl fmt::Display for BaseUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseUrlError::Empty => {
                f.write_str("enter the site's address, e.g. https://gateway.example.com")
            }
            BaseUrlError::Invalid(e) => write!(f, "not a valid URL ({e})"),
            BaseUrlError::Scheme(s) => write!(
                f,
                "the address must start with https:// or http://, not {s}://"
            ),
            BaseUrlError::NoHost => f.write_str("the address has no host"),
            BaseUrlError::Credentials => {
                f.write_str("put credentials in the credential fields, not in the address")
            }
            BaseUrlError::QueryOrFragment => {
                f.write_str("the address must not contain ?query or #fragment")
            }
        }
    }
}

/// How the shell turns a URL whose host is not ASCII into its ASCII (`xn--`) form, for builds
/// whose `url` crate cannot: the wasm modules pin `idna_adapter` 1.0, which has no Unicode data
/// and makes `url` refuse such hosts (issue 18; `wasm_lockfile` in `xtask/src/proc.rs`). The
/// service worker sets the browser's URL parser here (`crates/worker/src/platform.rs`); native
/// builds keep the full IDNA of `Cargo.lock` and set nothing.
static TO_ASCII: OnceLock<fn(&str) -> Option<String>> = OnceLock::new();

/// Set the converter [`parse_url`] gives a non-ASCII URL to (once per process; later calls are
/// ignored).
pub fn set_idna(to_ascii: fn(&str) -> Option<String>) {
    let _ = TO_ASCII.set(to_ascii);
}

/// `url::Url::parse`, where a non-ASCII URL first goes through the converter of [`set_idna`]
/// when one is set. Every URL msync reads is parsed here.
pub fn parse_url(text: &str) -> Result<url::Url, url::ParseError> {
    parse_url_with(text, TO_ASCII.get().copied())
}

fn parse_url_with(
    text: &str,
    to_ascii: Option<fn(&str) -> Option<String>>,
) -> Result<url::Url, url::ParseError> {
    match to_ascii {
        Some(convert) if !text.is_ascii() => match convert(text) {
            Some(ascii) => url::Url::parse(&ascii),
            // not a URL to the browser either: the `url` crate says why
            None => url::Url::parse(text),
        },
        _ => url::Url::parse(text),
    }
}

/// A parsed, checked base URL (`http`/`https`, a host, no credentials, no query or fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(url::Url);

impl BaseUrl {
    /// Parse a base URL as typed (surrounding spaces and trailing slashes are ignored).
    pub fn parse(raw: &str) -> Result<BaseUrl, BaseUrlError> {
        let text = raw.trim().trim_end_matches('/');
        if text.is_empty() {
            return Err(BaseUrlError::Empty);
        }
        let url = parse_url(text).map_err(|e| BaseUrlError::Invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(BaseUrlError::Scheme(url.scheme().to_string()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(BaseUrlError::NoHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BaseUrlError::Credentials);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BaseUrlError::QueryOrFragment);
        }
        Ok(BaseUrl(url))
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    pub fn into_url(self) -> url::Url {
        self.0
    }

    /// The host is loopback, a private/link-local address, or a local-only name.
    pub fn is_local(&self) -> bool {
        self.0.host().is_some_and(|h| is_local_host(&h))
    }

    /// Plain `http://` to a host that is not local: credentials would cross networks unencrypted.
    pub fn is_insecure(&self) -> bool {
        self.0.scheme() == "http" && !self.is_local()
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The host permission pattern the site needs: `scheme://host/*`, every port of the host.
    /// Not `scheme://host:port/*`: Firefox grants and lists such a pattern but does not match
    /// requests against it (`ARCHITECTURE.md`, "Firefox"). The options page requests it and the
    /// worker checks it.
    pub fn host_pattern(&self) -> String {
        let host = match self.0.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        format!("{}://{}/*", self.0.scheme(), host)
    }
}

/// Whether `raw` parses and is plain http to a non-local host (an unparseable address is not
/// "insecure": it is refused for its own reason).
pub fn is_insecure(raw: &str) -> bool {
    BaseUrl::parse(raw).is_ok_and(|b| b.is_insecure())
}

/// Loopback, private LAN, link-local, or a name that only resolves locally.
pub fn is_local_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => is_local_domain(d),
        url::Host::Ipv4(ip) => is_local_ip(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => is_local_ip(IpAddr::V6(*ip)),
    }
}

/// [`is_local_host`] for a host as the WHATWG URL standard serializes it (a browser `URL`'s
/// `hostname`: a lower-case domain, a dotted IPv4 address, or an IPv6 address in brackets).
/// The pages check addresses with the browser's parser, so they link no `url` crate
/// (issue 18); this is the same rule without it.
pub fn is_local_hostname(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<Ipv6Addr>()
            .is_ok_and(|ip| is_local_ip(IpAddr::V6(ip)));
    }
    match host.parse::<Ipv4Addr>() {
        Ok(ip) => is_local_ip(IpAddr::V4(ip)),
        Err(_) => is_local_domain(host),
    }
}

fn is_local_domain(d: &str) -> bool {
    let d = d.to_ascii_lowercase();
    d == "localhost"
        || d.ends_with(".localhost")
        || d.ends_with(".local")
        || d.ends_with(".lan")
        || d.ends_with(".internal")
        || d.ends_with(".home.arpa")
}

fn is_local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_ascii_url_goes_through_the_shells_converter() {
        fn browser(text: &str) -> Option<String> {
            (text == "https://例子.test/api").then(|| "https://xn--fsqu00a.test/api".into())
        }
        fn refuses(_: &str) -> Option<String> {
            None
        }
        fn never(text: &str) -> Option<String> {
            panic!("an ASCII URL was given to the converter: {text}")
        }
        let u = parse_url_with("https://例子.test/api", Some(browser)).unwrap();
        assert_eq!(u.as_str(), "https://xn--fsqu00a.test/api");
        // ASCII addresses never reach it
        let u = parse_url_with("https://gw.example.com/x", Some(never)).unwrap();
        assert_eq!(u.host_str(), Some("gw.example.com"));
        // what it cannot read is left to the `url` crate, which gives the reason
        assert!(parse_url_with("https://例 子.test", Some(refuses)).is_err());
        // native builds keep the full IDNA of Cargo.lock and set no converter
        let u = parse_url_with("https://例子.test/api", None).unwrap();
        assert_eq!(u.host_str(), Some("xn--fsqu00a.test"));
    }

    #[test]
    fn insecure_means_plain_http_to_a_public_host() {
        let rows = [
            ("https://gw.example.com", false),
            ("http://gw.example.com", true),
            ("HTTP://GW.EXAMPLE.COM/", true),
            ("http://203.0.113.9:3000", true),
            ("http://[2001:db8::1]", true),
            ("http://127.0.0.1:3000", false),
            ("http://localhost", false),
            ("http://app.localhost", false),
            ("http://10.1.2.3", false),
            ("http://192.168.1.2", false),
            ("http://172.16.0.1", false),
            ("http://169.254.1.1", false),
            ("http://[::1]:8080", false),
            ("http://[fd00::1]", false),
            ("http://[fe80::1]", false),
            ("http://[::ffff:127.0.0.1]", false),
            ("http://[::ffff:8.8.8.8]", true),
            ("http://8.8.8.8", true),
            ("http://172.32.0.9", true),
            ("http://gw.example.com:8080/api", true),
            ("http://nas.local", false),
            ("http://gw.lan", false),
            ("http://gw.internal", false),
            ("http://gw.home.arpa", false),
            ("http://user:pw@gw.example.com", false), // refused for its own reason
            ("ftp://gw.example.com", false),
            ("not a url", false),
            ("", false),
        ];
        for (url, want) in rows {
            assert_eq!(is_insecure(url), want, "{url}");
            // the pages' rule on the browser's `hostname` agrees with the `url` crate's
            if let Ok(b) = BaseUrl::parse(url) {
                let host = b.url().host_str().unwrap_or_default();
                assert_eq!(is_local_hostname(host), b.is_local(), "{url}");
            }
        }
    }

    #[test]
    fn refusals_are_typed() {
        assert_eq!(BaseUrl::parse("  "), Err(BaseUrlError::Empty));
        assert_eq!(
            BaseUrl::parse("ftp://x"),
            Err(BaseUrlError::Scheme("ftp".into()))
        );
        assert_eq!(
            BaseUrl::parse("https://u:p@x"),
            Err(BaseUrlError::Credentials)
        );
        assert_eq!(
            BaseUrl::parse("https://x/?a=1"),
            Err(BaseUrlError::QueryOrFragment)
        );
        assert!(matches!(
            BaseUrl::parse("not a url"),
            Err(BaseUrlError::Invalid(_))
        ));
        let b = BaseUrl::parse(" https://gw.example.com:8443/prefix/ ").unwrap();
        assert_eq!(b.origin(), "https://gw.example.com:8443");
        assert_eq!(b.url().path(), "/prefix");
    }

    #[test]
    fn host_patterns_drop_port_and_path() {
        let rows = [
            (
                "https://gw.example.com:8443/api/",
                "https://gw.example.com/*",
            ),
            ("http://127.0.0.1:3000", "http://127.0.0.1/*"),
            ("http://[::1]:3000", "http://[::1]/*"),
            ("HTTP://GW.Example.COM", "http://gw.example.com/*"),
        ];
        for (url, want) in rows {
            assert_eq!(BaseUrl::parse(url).unwrap().host_pattern(), want, "{url}");
        }
    }
}
