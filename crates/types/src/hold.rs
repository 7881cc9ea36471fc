//! Typed reasons a revert holds a channel for review instead of writing it. They travel as
//! values and are rendered per language at the edge (English [`fmt::Display`] for the CLI and the
//! stored record, `crates/ui/src/i18n.rs` for the UI).

use crate::model::SiteKind;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum RevertHold {
    /// The snapshot holds an empty model list, and no site type can store one through its admin
    /// API (New API, Veloera and DoneHub skip an empty `models`; Octopus would drop every group
    /// route; AxonHub refuses it): nothing is written, forced or not.
    EmptyModelList { site: SiteKind },
}

crate::stored_enum!(RevertHold, "kind");

impl fmt::Display for RevertHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevertHold::EmptyModelList { site } => write!(
                f,
                "the channel had no models before that run, and {} cannot store an empty model list; nothing was written (remove the models in the gateway's own page if the channel should have none)",
                site.label()
            ),
        }
    }
}
