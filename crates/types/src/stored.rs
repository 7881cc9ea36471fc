//! How the enums msync stores are written and read.
//!
//! They are written in serde's default form: a unit variant as its name (`"excluded"`), any
//! other as a one-key object (`{"gateway_syncs": {"setting": "axon_hub"}}`). Up to worker storage
//! schema 3 they were written internally tagged (`{"kind": "excluded"}`,
//! `{"kind": "gateway_syncs", "setting": "axon_hub"}`), and serde reads that form by buffering
//! every value into its private `Content` first: a second reader per type in each wasm module
//! (ARCHITECTURE.md, "Size of the shipped wasm"). Old records, snapshots, settings files and
//! logs stay readable: [`read`] takes the value as a `serde_json::Value` (one reader for all
//! types), rewrites the old form into the default one ([`untag`], one function for all types)
//! and reads that with the type's derived reader, always from a `Value`, so each type has one
//! reader. `crates/types/tests/stored_forms.rs` pins both forms of every variant.
//!
//! A type opts in with `#[serde(remote = "Self")]` next to its derives and [`stored_enum!`]
//! (or [`stored_struct!`] for a struct that held a tagged enum flattened into itself).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Reads a stored enum: `typed` is its derived (default form) reader, `tag` the key its old,
/// internally tagged form held the variant's name in, and `flattened` the variants that held
/// another tagged enum flattened into themselves, with that enum's field name.
pub fn read<'de, D, T>(
    d: D,
    tag: &str,
    flattened: &[(&str, &str)],
    typed: fn(Value) -> Result<T, serde_json::Error>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(d)?;
    match untag(value, tag, flattened) {
        Untagged::Unit(name) => typed(Value::String(name.clone())).or_else(|unit_error| {
            // An old struct variant whose fields were all left out.
            let mut empty = Map::new();
            empty.insert(name, Value::Object(Map::new()));
            typed(Value::Object(empty)).map_err(|_| unit_error)
        }),
        Untagged::Value(v) => typed(v),
    }
    .map_err(D::Error::custom)
}

/// A value in the default form.
pub enum Untagged {
    /// An old form that held only the tag: a unit variant (or a struct variant without fields).
    Unit(String),
    Value(Value),
}

/// The default form of `value`: an object holding `tag` with a string is the old form (no
/// variant of a stored enum is named like its old tag, which the tests check), anything else is
/// already the default form.
pub fn untag(value: Value, tag: &str, flattened: &[(&str, &str)]) -> Untagged {
    let Value::Object(mut fields) = value else {
        return Untagged::Value(value);
    };
    let Some(Value::String(name)) = fields.get(tag).cloned() else {
        return Untagged::Value(Value::Object(fields));
    };
    fields.remove(tag);
    if fields.is_empty() {
        return Untagged::Unit(name);
    }
    if let Some((_, field)) = flattened.iter().find(|(variant, _)| *variant == name) {
        let mut inner = Map::new();
        inner.insert((*field).to_string(), Value::Object(fields));
        fields = inner;
    }
    let mut out = Map::new();
    out.insert(name, Value::Object(fields));
    Untagged::Value(Value::Object(out))
}

/// Reads a stored struct that held a tagged enum flattened into itself (up to schema 3) and now
/// holds it in `field`: `own` are its other fields. In the old form every key that is not one of
/// `own` belonged to the enum, so they move into `field`, where the enum reads its old form.
pub fn read_unflattened<'de, D, T>(
    d: D,
    own: &[&str],
    field: &str,
    typed: fn(Value) -> Result<T, serde_json::Error>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(d)?;
    typed(unflatten(value, own, field)).map_err(D::Error::custom)
}

fn unflatten(value: Value, own: &[&str], field: &str) -> Value {
    let Value::Object(fields) = value else {
        return value;
    };
    let enum_keys = fields.keys().filter(|k| !own.contains(&k.as_str())).count();
    let new_form = match fields.get(field) {
        // `{"outcome": {"passed": …}}`, or a unit variant, which both forms write alike.
        Some(Value::String(_)) => enum_keys == 1,
        Some(_) => true,
        None => false,
    };
    if new_form {
        return Value::Object(fields);
    }
    let (mut kept, mut inner) = (Map::new(), Map::new());
    for (k, v) in fields {
        if own.contains(&k.as_str()) {
            kept.insert(k, v);
        } else {
            inner.insert(k, v);
        }
    }
    kept.insert(field.to_string(), Value::Object(inner));
    Value::Object(kept)
}

/// `Serialize` / `Deserialize` for a stored enum that derives them with
/// `#[serde(remote = "Self")]`: written in the default form, read in either (see [`read`]).
/// `flattened`: `variant => field` pairs for variants that held a tagged enum flattened.
#[macro_export]
macro_rules! stored_enum {
    ($t:ty, $tag:literal $(, $variant:literal => $field:literal)* $(,)?) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::stored::read(d, $tag, &[$(($variant, $field)),*], <$t>::deserialize)
            }
        }
    };
}

/// `Serialize` / `Deserialize` for a stored struct that derives them with
/// `#[serde(remote = "Self")]` and holds in `field` a tagged enum it held flattened up to
/// schema 3 (see [`read_unflattened`]); `own` are its other fields.
#[macro_export]
macro_rules! stored_struct {
    ($t:ty, [$($own:literal),* $(,)?], $field:literal) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::stored::read_unflattened(d, &[$($own),*], $field, <$t>::deserialize)
            }
        }
    };
}
