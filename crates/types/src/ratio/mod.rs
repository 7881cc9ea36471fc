//! New API ratio / price sync as values (the flow is described in `msync_core::ratio`): the
//! fields and values, the sources and upstreams, the diff pages show, the admin's selection and
//! the outcomes of an apply.

mod diff;
mod outcome;
mod select;
mod types;

pub use diff::{
    parse_fetch_data, Cell, DiffFilter, DiffRow, DiffWarning, LockedRatio, RatioDiff,
    UpstreamCheck, UpstreamNote, UpstreamTest,
};
pub use outcome::{
    FieldChange, ModelChange, RatioApplyOutcome, RatioPreview, RatioRevertOutcome, RatioSnapshot,
    RatioSnapshotHead,
};
pub use select::{Pick, RatioChoice, RatioSelection, Resolved};
pub use types::{
    default_endpoint_for_version, FetchRequest, RatioField, RatioSource, RatioSources,
    RatioUpstream, RatioValue, SourceKind, DEFAULT_TIMEOUT_S, ENDPOINT_PRICING,
    ENDPOINT_RATIO_CONFIG, MODELS_DEV_ID, MODELS_DEV_URL, OFFICIAL_PRESET_ENDPOINT,
    OFFICIAL_PRESET_ID,
};
