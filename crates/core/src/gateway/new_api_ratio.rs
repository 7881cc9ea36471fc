//! New API's ratio sync and options calls (`docs/admin-apis.md` §1.6–1.7, `docs/ratios.md`). All of
//! them need root.
//!
//! * `GET /api/ratio_sync/channels` — sources (channels with a base URL, presets −100/−101).
//! * `POST /api/ratio_sync/fetch` — the difference table; the server fetches the upstreams (8 at
//!   once, 3 tries on transport errors, `timeout` seconds each), so our own time limit is sized
//!   from that, not from the adapter's default.
//! * `GET /api/option/` / `PUT /api/option/` — the option maps; a value is always a JSON *string*
//!   holding the whole map.

use super::new_api::{admin_request, unwrap_envelope};
use super::Ctx;
use crate::error::{Error, ErrorClass, Result};
use crate::http::{Method, Request};
use crate::model::SiteKind;
use crate::ratio::{
    default_endpoint_for_version, parse_fetch_data, FetchRequest, RatioDiff, RatioSource,
    RatioSources,
};
use serde_json::{json, Value};

pub struct NewApiRatio {
    ctx: Ctx,
}

impl NewApiRatio {
    /// Only New API has ratio sync (Veloera forked a day before it came).
    pub fn new(ctx: Ctx) -> Result<Self> {
        if ctx.site.kind != SiteKind::NewApi {
            return Err(Error::validation(format!(
                "ratio sync is a New API feature; {} has no /api/ratio_sync",
                ctx.site.kind.label()
            )));
        }
        Ok(NewApiRatio { ctx })
    }

    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    async fn call(&self, req: Request) -> Result<Value> {
        let resp = self.ctx.send(req).await.map_err(explain)?;
        unwrap_envelope(&self.ctx, &resp).map_err(explain)
    }

    /// The server version from `/api/status` (no auth), if it answers one.
    pub async fn version(&self) -> Option<String> {
        let resp = self
            .ctx
            .send(Request::new(Method::Get, self.ctx.url("/api/status")))
            .await
            .ok()?;
        unwrap_envelope(&self.ctx, &resp)
            .ok()?
            .get("version")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// `GET /api/ratio_sync/channels`, with each source's default endpoint for this server.
    pub async fn sources(&self) -> Result<RatioSources> {
        let data = self
            .call(admin_request(
                &self.ctx,
                Method::Get,
                "/api/ratio_sync/channels",
            ))
            .await?;
        let version = self.version().await;
        let default_endpoint = default_endpoint_for_version(version.as_deref()).to_string();
        let items = match data {
            // Before the presets existed, no channel with a base URL meant `null`.
            Value::Null => Vec::new(),
            Value::Array(items) => items,
            _ => {
                return Err(Error::invalid_response(
                    "ratio sync sources: data is not a list",
                ))
            }
        };
        let mut sources = Vec::with_capacity(items.len());
        for item in items {
            let Some(id) = item.get("id").and_then(Value::as_i64) else {
                return Err(Error::invalid_response(
                    "ratio sync sources: an entry has no numeric id",
                ));
            };
            let str_of = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let channel_type = item.get("type").and_then(Value::as_i64).unwrap_or(0);
            sources.push(RatioSource {
                id,
                name: str_of("name"),
                base_url: str_of("base_url").trim_end_matches('/').to_string(),
                status: item.get("status").and_then(Value::as_i64).unwrap_or(0),
                channel_type,
                kind: RatioSource::kind_for_id(id),
                default_endpoint: RatioSource::endpoint_for(id, channel_type, &default_endpoint),
            });
        }
        Ok(RatioSources {
            sources,
            version,
            default_endpoint,
        })
    }

    /// `POST /api/ratio_sync/fetch`. Upstream failures are per-upstream [`UpstreamTest`]s in the
    /// diff, not errors; an error here means the gateway itself failed or refused.
    ///
    /// [`UpstreamTest`]: crate::ratio::UpstreamTest
    pub async fn fetch(&self, req: &FetchRequest) -> Result<RatioDiff> {
        req.validate()?;
        let upstreams: Vec<Value> = req
            .upstreams
            .iter()
            .map(|u| {
                json!({"id": u.id, "name": u.name, "base_url": u.base_url.trim_end_matches('/'),
                       "endpoint": u.endpoint})
            })
            .collect();
        let body = json!({"upstreams": upstreams, "timeout": req.timeout_s});
        // The server runs 8 upstreams at once, each up to 3 tries of `timeout` plus back-off.
        let batches = req.upstreams.len().div_ceil(8) as u64;
        let limit_ms = batches * (3 * u64::from(req.timeout_s) * 1000 + 1_500) + 10_000;
        let http = admin_request(&self.ctx, Method::Post, "/api/ratio_sync/fetch")
            .json(&body)
            .timeout_ms(limit_ms);
        // Not through `Ctx::send`: its per-request cap is for quick admin calls.
        let resp = self.ctx.transport.send(http).await.map_err(|e| {
            let e: Error = e.into();
            let message = if e.class == ErrorClass::Timeout {
                format!(
                    "the gateway did not finish fetching the upstreams within {} s",
                    limit_ms / 1000
                )
            } else {
                self.ctx.redact(&e.message)
            };
            Error { message, ..e }
        })?;
        let data = unwrap_envelope(&self.ctx, &resp).map_err(explain)?;
        let mut diff = parse_fetch_data(&data)?;
        for t in &mut diff.tests {
            if let Some(e) = &t.error {
                t.error = Some(self.ctx.redact(e));
            }
        }
        Ok(diff)
    }

    /// `GET /api/option/` as `(key, value)` pairs (values that are not strings are kept as their
    /// JSON text).
    pub async fn read_options(&self) -> Result<Vec<(String, String)>> {
        read_options(&self.ctx).await
    }

    /// `PUT /api/option/` `{"key": key, "value": "<string>"}` — replaces the whole option.
    pub async fn write_option(&self, key: &str, value: &str) -> Result<()> {
        let body = json!({"key": key, "value": value});
        self.call(admin_request(&self.ctx, Method::Put, "/api/option/").json(&body))
            .await
            .map(|_| ())
            .map_err(|e| Error {
                message: format!("writing {key}: {}", e.message),
                ..e
            })
    }
}

/// `GET /api/option/` (root) as `(key, value)` pairs — New API and Veloera alike
/// (`controller/option.go` `GetOptions` in both). Values that are not strings are kept as their
/// JSON text.
pub(crate) async fn read_options(ctx: &Ctx) -> Result<Vec<(String, String)>> {
    let resp = ctx
        .send(admin_request(ctx, Method::Get, "/api/option/"))
        .await
        .map_err(explain)?;
    let data = unwrap_envelope(ctx, &resp).map_err(explain)?;
    let Value::Array(items) = data else {
        return Err(Error::invalid_response("options: data is not a list"));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(key) = item.get("key").and_then(Value::as_str) else {
            continue;
        };
        let value = match item.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// Say plainly what a refusal means for ratio sync.
fn explain(e: Error) -> Error {
    match e.class {
        ErrorClass::Permission => Error {
            message: format!(
                "ratio sync and price options need a root account; this site's token is not root ({})",
                e.message
            ),
            ..e
        },
        ErrorClass::NotFound if e.http_status == Some(404) => Error {
            message: format!(
                "this New API build has no ratio sync (it came on 2025-06-19): {}",
                e.message
            ),
            ..e
        },
        _ => e,
    }
}
