//! [`ReqwestTransport`]: core's [`Transport`] over reqwest, for the CLI.
//!
//! * A per-request timeout (the request's own `timeout_ms`, else the transport's default).
//! * Redirects are never followed: a 3xx answer is [`TransportError::Redirect`] naming the
//!   target. Following one would re-send the credentials (and, on 307/308, a login password or a
//!   channel key in the body) to whatever address the server names, plain http included.
//! * Proxies ([`proxy_policy`]): `HTTPS_PROXY`/`ALL_PROXY` (and `NO_PROXY`) are honoured for
//!   https (the proxy tunnels TLS and sees no secret); plain-http requests never go through a
//!   proxy, which would read the tokens in the clear.
//! * Bodies are read in chunks up to a cap (64 MiB by default), so a hostile or broken server
//!   cannot make us buffer without bound; a larger body is an I/O error, not a truncated success.
//! * Failures below HTTP map to [`TransportError`]; messages never include request headers.
//! * TLS trusts the system's roots (`rustls-native-certs`: the OS store, `SSL_CERT_FILE`,
//!   `SSL_CERT_DIR`), the bundled web PKI roots, and a site's `ca_file`; nothing else.
//!
//! The trait is `?Send`: run it on a current-thread tokio runtime.

use async_trait::async_trait;
use msync_core::http::{Method, Request, Response, Transport, TransportError};
use std::time::Duration;

/// Default cap on a response body.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

pub struct ReqwestTransport {
    client: reqwest::Client,
    default_timeout: Duration,
    max_body: usize,
}

impl ReqwestTransport {
    pub fn new() -> Result<Self, TransportError> {
        Self::with_limits(Duration::from_secs(30), DEFAULT_MAX_BODY)
    }

    pub fn with_limits(default_timeout: Duration, max_body: usize) -> Result<Self, TransportError> {
        Self::with_roots(default_timeout, max_body, &[])
    }

    /// Like [`Self::with_limits`], trusting `extra_roots` (a site's `ca_file`, see
    /// [`parse_ca_pem`]) besides the system's roots and the bundled web PKI roots. There is no
    /// way to accept any certificate.
    pub fn with_roots(
        default_timeout: Duration,
        max_body: usize,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Self, TransportError> {
        let mut builder = proxy_policy(reqwest::Client::builder())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("msync/", env!("CARGO_PKG_VERSION")));
        for root in extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Io(format!("cannot build the HTTP client: {e}")))?;
        Ok(ReqwestTransport {
            client,
            default_timeout,
            max_body,
        })
    }
}

/// The CA certificates in a PEM file's text (one or more `BEGIN CERTIFICATE` blocks).
pub fn parse_ca_pem(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// The proxy settings: only https requests may use a proxy from the environment
/// (`HTTPS_PROXY`, else `ALL_PROXY`, upper or lower case; `NO_PROXY` applies). reqwest's default
/// would also send plain-http requests, tokens and passwords readable, through `HTTP_PROXY`.
pub fn proxy_policy(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let builder = builder.no_proxy();
    let from_env = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    match from_env.map(|url| reqwest::Proxy::https(url.trim())) {
        Some(Ok(proxy)) => builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_env())),
        // A proxy URL reqwest cannot parse is ignored, as reqwest's own environment lookup does.
        Some(Err(_)) | None => builder,
    }
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Map a reqwest failure to a transport error. The URL is dropped from the message: the
/// adapter knows which site it called, and a URL could carry something private.
fn classify(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        return TransportError::Timeout;
    }
    let is_connect = e.is_connect();
    let is_redirect = e.is_redirect();
    let chain = error_chain(&e.without_url());
    let lower = chain.to_ascii_lowercase();
    if lower.contains("dns")
        || lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
        || lower.contains("nodename nor servname")
    {
        return TransportError::Dns(chain);
    }
    if is_connect {
        return TransportError::Connect(chain);
    }
    if is_redirect {
        return TransportError::Redirect {
            status: None,
            location: None,
        };
    }
    TransportError::Io(chain)
}

/// The error and its sources, joined.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    parts.join(": ")
}

#[async_trait(?Send)]
impl Transport for ReqwestTransport {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        let timeout = if req.timeout_ms == 0 {
            self.default_timeout
        } else {
            Duration::from_millis(req.timeout_ms)
        };
        let mut builder = self
            .client
            .request(method(req.method), &req.url)
            .timeout(timeout);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let mut resp = builder.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        if msync_core::http::is_redirect_status(status) {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .map(|l| match resp.url().join(&l) {
                    Ok(u) => u.to_string(),
                    Err(_) => l,
                });
            return Err(TransportError::Redirect {
                status: Some(status),
                location,
            });
        }
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if let Some(len) = resp.content_length() {
            if len > self.max_body as u64 {
                return Err(TransportError::Io(format!(
                    "response body of {len} bytes exceeds the {} byte limit",
                    self.max_body
                )));
            }
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.max_body {
                return Err(TransportError::Io(format!(
                    "response body exceeds the {} byte limit",
                    self.max_body
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
