//! New API ratio / price sync (`docs/ratios.md`).
//!
//! The flow, and where each step lives:
//!
//! 1. **Sources** — [`RatioSync::sources`] (`GET /api/ratio_sync/channels`): channels with a base
//!    URL plus the official preset (−100) and models.dev (−101). Custom upstreams are built with
//!    [`RatioUpstream::custom`] (name, `http…` base URL, endpoint defaulting per server version).
//! 2. **Diff** — [`RatioSync::fetch`] (`POST /api/ratio_sync/fetch`) returns a [`RatioDiff`]: one
//!    [`DiffRow`] per model × [`RatioField`], with the current value, each upstream column's
//!    [`Cell`] (a value, `"same"` or `null`), confidence, and per-upstream [`UpstreamTest`]s.
//!    [`DiffFilter`] narrows it (only differing, only confident, model search, fields).
//! 3. **Selection** — a [`RatioSelection`] is a plain value (a list of [`Pick`]s: one cell, a
//!    whole column, "all confident values from X", or an un-pick). [`RatioSelection::resolve`]
//!    turns it into explicit [`RatioChoice`]s against a diff; pages and the CLI do this locally and
//!    send the choices, so what is applied is exactly what the admin saw.
//! 4. **Preview / apply / revert** — [`RatioSync::preview`] reads the current option maps
//!    (`GET /api/option/`) and shows old → new per model and field; [`RatioSync::apply`] reads
//!    again, stores a [`RatioSnapshot`] of the previous maps in the [`KvStore`], writes each
//!    changed option key as one whole-map JSON string (`PUT /api/option/`), reads back and
//!    verifies; [`RatioSync::revert`] restores a snapshot. Nothing is written when a read fails.
//!
//! Root is required for every call; a non-root token gets an [`ErrorClass::Permission`] error
//! that says so.
//!
//! [`KvStore`]: crate::store::KvStore
//! [`ErrorClass::Permission`]: crate::ErrorClass::Permission

mod apply;
mod sync;

pub use apply::{fingerprint, KeyWrite, OptionMaps, RatioPlan};
pub use msync_types::ratio::{
    default_endpoint_for_version, FetchRequest, RatioField, RatioSource, RatioSources,
    RatioUpstream, RatioValue, SourceKind, DEFAULT_TIMEOUT_S, ENDPOINT_PRICING,
    ENDPOINT_RATIO_CONFIG, MODELS_DEV_ID, MODELS_DEV_URL, OFFICIAL_PRESET_ENDPOINT,
    OFFICIAL_PRESET_ID,
};
pub use msync_types::ratio::{
    parse_fetch_data, Cell, DiffFilter, DiffRow, FieldChange, ModelChange, Pick, RatioApplyOutcome,
    RatioChoice, RatioDiff, RatioPreview, RatioRevertOutcome, RatioSelection, RatioSnapshot,
    RatioSnapshotHead, Resolved, UpstreamTest,
};
pub use sync::{RatioSync, SNAPSHOT_PREFIX};
