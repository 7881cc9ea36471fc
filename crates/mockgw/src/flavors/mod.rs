//! One module per gateway. Each turns seed data into its own JSON shape, routes requests to
//! logical operations ([`Op`]) and answers them exactly as `docs/admin-apis.md` describes.
//!
//! New API ratio sync lives in `crate::ratio` (routed from `new_api.rs`); other flavours' price
//! endpoints would belong in their modules (a `ratio` part
//! per flavour) when added.

pub mod axonhub;
pub mod done_hub;
pub mod new_api;
pub mod octopus;
pub mod veloera;

use crate::config::{Flavor, MockConfig};
use crate::fault::{FaultKind, Op};
use crate::seed::SeedChannel;
use crate::state::{Reply, Req, State};
use serde_json::{Map, Value};

/// What every flavour provides to the server core.
pub trait FlavorApi: Send + Sync {
    /// Fills `state.channels` (and anything else) from the seed.
    fn seed(&self, st: &mut State, seeds: &[SeedChannel]);
    /// The logical operation of a request and the channel it is about, for faults and the log.
    fn classify(&self, st: &State, req: &Req) -> (Op, Option<u64>);
    /// Answers a request. `fault` is a data-level fault ([`FaultKind::is_data_fault`]) picked for
    /// it, which the handler applies its own way.
    fn handle(&self, st: &mut State, req: &Req, fault: Option<&FaultKind>) -> Reply;
    /// A business error in the flavour's envelope.
    fn business_error(&self, st: &State, req: &Req, message: &str) -> Reply;
    /// An error with this HTTP status in the flavour's shape (401/403 use its auth shape).
    fn status_error(&self, st: &State, req: &Req, status: u16) -> Reply;
    /// A request whose answer needs async work without the lock (New API's ratio fetch, which
    /// calls other servers). `Some(Err(reply))` answers at once (auth, bad body).
    fn deferred(
        &self,
        _st: &mut State,
        _req: &Req,
    ) -> Option<Result<crate::ratio::FetchPlan, Reply>> {
        None
    }
}

pub fn for_config(cfg: &MockConfig) -> Box<dyn FlavorApi> {
    match cfg.flavor {
        Flavor::NewApi => Box::new(new_api::NewApiFamily::new_api(cfg)),
        Flavor::Veloera => Box::new(veloera::flavor()),
        Flavor::DoneHub => Box::new(done_hub::DoneHub),
        Flavor::Octopus => Box::new(octopus::Octopus {
            v09: cfg.legacy,
            v013: cfg
                .version
                .as_deref()
                .is_some_and(|v| v.starts_with("v0.12") || v.starts_with("v0.13")),
        }),
        Flavor::Axonhub => Box::new(axonhub::AxonHub { legacy: cfg.legacy }),
    }
}

/// The Go type of a struct field, for decoding checks that mirror `encoding/json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    /// Any JSON (objects kept as-is).
    Any,
}

/// A struct field: JSON name, Go kind, and whether it is a pointer (nullable; written even when
/// zero by GORM `Updates`).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub pointer: bool,
}

pub const fn f(name: &'static str, kind: Kind, pointer: bool) -> Field {
    Field {
        name,
        kind,
        pointer,
    }
}

/// `encoding/json`'s complaint when `value` cannot go into `field`, or `None`.
pub fn go_type_error(struct_name: &str, field: &Field, value: &Value) -> Option<String> {
    let (ok, go_type) = match field.kind {
        Kind::Str => (value.is_string() || value.is_null(), "string"),
        Kind::Int => (
            value.is_null() || value.as_i64().is_some() || value.as_u64().is_some(),
            "int",
        ),
        Kind::Float => (value.is_null() || value.is_number(), "float64"),
        Kind::Bool => (value.is_null() || value.is_boolean(), "bool"),
        Kind::Any => (true, ""),
    };
    if ok {
        return None;
    }
    let what = match value {
        Value::String(_) => "string".to_string(),
        Value::Number(n) => format!("number {n}"),
        Value::Bool(_) => "bool".to_string(),
        Value::Array(_) => "array".to_string(),
        Value::Object(_) => "object".to_string(),
        Value::Null => "null".to_string(),
    };
    Some(format!(
        "json: cannot unmarshal {what} into Go struct field {struct_name}.{} of type {go_type}",
        field.name
    ))
}

/// Is this a Go zero value (skipped by GORM `Updates` with a struct)?
pub fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The Go zero value of a field as it would be stored (pointers become `null`).
pub fn zero_of(field: &Field) -> Value {
    if field.pointer {
        return Value::Null;
    }
    match field.kind {
        Kind::Str => Value::String(String::new()),
        Kind::Int | Kind::Float => Value::from(0),
        Kind::Bool => Value::Bool(false),
        Kind::Any => Value::Null,
    }
}

/// Applies GORM `DB.Model(ch).Updates(ch)` semantics: non-pointer fields are written only when
/// non-zero; pointer fields whenever present and not `null` (even `""`/`0`). `skip` names fields
/// the handler drops first (read-only fields, `id`).
pub fn gorm_updates(
    stored: &mut Map<String, Value>,
    body: &Map<String, Value>,
    fields: &[Field],
    skip: &[&str],
) {
    for field in fields {
        if skip.contains(&field.name) {
            continue;
        }
        let Some(v) = body.get(field.name) else {
            continue;
        };
        let write = if field.pointer {
            !v.is_null()
        } else {
            !is_zero(v)
        };
        if write {
            stored.insert(field.name.to_string(), v.clone());
        }
    }
}

/// Integer id from a JSON value (numbers, or numeric strings, as Go would not accept — callers
/// type-check first).
pub fn json_id(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_u64)
}

/// Returns `items[start..start+len]` safely.
pub fn page_slice<T: Clone>(items: &[T], start: usize, len: usize) -> Vec<T> {
    items.iter().skip(start).take(len).cloned().collect()
}

/// Base64url without padding (JWT segments), no dependency.
pub fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A JWT-looking token (header.payload.signature) that the mock recognises by exact match.
pub fn fake_jwt(payload: &Value, salt: &str) -> String {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = base64url(payload.to_string().as_bytes());
    let mut rng = crate::seed::Rng::new(salt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    let sig = base64url(rng.hex(43).as_bytes());
    format!("{header}.{body}.{}", &sig[..43.min(sig.len())])
}

/// Content-type check shared by routes that only accept JSON.
pub fn is_json_content(req: &Req) -> bool {
    req.header("content-type")
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"))
}

/// Model names the list-content faults put in a fetch-models answer, or `None` to keep `names`.
/// `NullList` is handled by callers (they know how their flavour spells "null").
pub fn faulted_names(fault: Option<&FaultKind>, names: &[String]) -> Option<Vec<String>> {
    match fault? {
        FaultKind::HugeList { count } => Some(
            (0..count.unwrap_or(100_000))
                .map(|i| format!("bulk-model-{i:06}"))
                .collect(),
        ),
        FaultKind::MessyNames => {
            let mut out = names.to_vec();
            if let Some(first) = names.first() {
                out.push(first.clone());
                out.push(format!("  {first} "));
            }
            out.push(String::new());
            out.push("   ".into());
            out.push("\t".into());
            Some(out)
        }
        FaultKind::NonAsciiNames => {
            let mut out = names.to_vec();
            out.extend(
                [
                    "通义千问-max",
                    "GLM-4.5·高速",
                    "模型/测试:free",
                    "café-ü-ß",
                    "🚀-turbo",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn gorm_updates_skip_zero_values_but_write_pointers() {
        let fields = [
            f("name", Kind::Str, false),
            f("models", Kind::Str, false),
            f("model_mapping", Kind::Str, true),
            f("priority", Kind::Int, true),
        ];
        let mut stored =
            json!({"name":"a","models":"x","model_mapping":"{\"a\":\"b\"}","priority":5})
                .as_object()
                .unwrap()
                .clone();
        let body = json!({"name":"","models":"","model_mapping":"","priority":0});
        gorm_updates(&mut stored, body.as_object().unwrap(), &fields, &[]);
        assert_eq!(
            Value::Object(stored),
            json!({"name":"a","models":"x","model_mapping":"","priority":0})
        );
    }

    #[test]
    fn go_type_errors_read_like_go() {
        let field = f("models", Kind::Str, false);
        assert_eq!(
            go_type_error("PatchChannel", &field, &json!(["a"])).as_deref(),
            Some("json: cannot unmarshal array into Go struct field PatchChannel.models of type string")
        );
        assert_eq!(go_type_error("PatchChannel", &field, &json!("a,b")), None);
        let id = f("id", Kind::Int, false);
        assert!(go_type_error("Channel", &id, &json!(1.5)).is_some());
    }
}
