//! Model redirect writes (SPEC §4) through the engine: previews, then runs that apply them with a
//! snapshot before every write, so [`Engine::revert_run`] restores models and mapping exactly.
//!
//! * [`Engine::preview_redirect`] — list the channels fresh and plan a [`RedirectOp`]; nothing is
//!   written. The preview is kept (one per site, the latest) so a later "Apply" can name it.
//! * [`Engine::apply_redirect`] — a run (mode `Redirect`) over a preview's changes: each channel
//!   is re-read first and refused (`NeedsReview`) if it changed since the preview, unless forced.
//! * [`Engine::redirect_after_sync`] — after a sync run, when redirect is enabled: preview and
//!   apply for the channels whose sync succeeded or was unchanged, never for one that failed.
//!
//! The matching and merging themselves are the pure functions of [`crate::redirect`].

use crate::gateway::Capabilities;
use crate::model::{Channel, ChannelId, SiteId, SiteKind};
use crate::redirect::{
    plan_clear, plan_prune, plan_redirect, ApplyOptions as PlanOptions, ChannelPreview,
    ClearOptions, ClearScope, Matcher, PlanTotals, RedirectSettings,
};
use serde::{Deserialize, Serialize};

/// What a redirect preview / run does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RedirectOp {
    /// Generate "standard → actual" mappings with `settings` and merge them into each channel
    /// (pruning vanished targets first when `settings.prune_missing_targets`).
    Redirect { settings: RedirectSettings },
    /// Only drop entries whose target vanished (site-aware); nothing is added.
    Prune,
    /// Bulk clear. `settings` tells msync's own entries apart (scope `generated`).
    Clear {
        settings: RedirectSettings,
        scope: ClearScope,
        #[serde(default)]
        remove_added_names: bool,
    },
}

impl RedirectOp {
    /// A short English name ("redirect", "prune", "bulk clear").
    pub fn label(&self) -> &'static str {
        match self {
            RedirectOp::Redirect { .. } => "redirect",
            RedirectOp::Prune => "prune",
            RedirectOp::Clear { .. } => "bulk clear",
        }
    }

    /// The matcher the op needs (an empty one for prune).
    pub fn matcher(&self) -> Matcher {
        match self {
            RedirectOp::Redirect { settings } | RedirectOp::Clear { settings, .. } => {
                settings.matcher()
            }
            RedirectOp::Prune => Matcher::new(&[], &[], Default::default()),
        }
    }

    /// Plan one channel (pure).
    pub fn plan(
        &self,
        matcher: &Matcher,
        channel: &Channel,
        caps: &Capabilities,
        site: SiteKind,
        confirm_overwrite_invalid: bool,
    ) -> ChannelPreview {
        match self {
            RedirectOp::Redirect { settings } => plan_redirect(
                matcher,
                channel,
                caps,
                site,
                &PlanOptions {
                    confirm_overwrite_invalid,
                    prune_missing_targets: settings.prune_missing_targets,
                },
            ),
            RedirectOp::Prune => plan_prune(channel, caps, site),
            RedirectOp::Clear {
                scope,
                remove_added_names,
                ..
            } => plan_clear(
                matcher,
                channel,
                caps,
                site,
                &ClearOptions {
                    scope: *scope,
                    remove_added_names: *remove_added_names,
                    confirm_overwrite_invalid,
                },
            ),
        }
    }
}

/// A redirect preview: what applying `op` would write to each channel, and, for every standard
/// model on every channel, why it was or was not mapped (`channels[i].outcomes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectPreview {
    /// Names this preview for [`Engine::apply_stored_redirect`] (the latest preview of a site is
    /// kept; applying an older one is refused).
    pub id: String,
    pub site: SiteId,
    pub kind: SiteKind,
    pub created_ms: u64,
    pub op: RedirectOp,
    /// The preview was made with "overwrite an unreadable mapping" confirmed.
    pub confirm_overwrite_invalid: bool,
    /// One per channel, in the site's channel order.
    pub channels: Vec<ChannelPreview>,
    pub totals: PlanTotals,
}

/// Options of [`Engine::apply_redirect`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectApplyOptions {
    /// Apply only these channels of the preview (default: every change in it).
    #[serde(default)]
    pub channels: Option<Vec<ChannelId>>,
    /// Replace mappings that cannot be read (JSON errors). Without it such channels are held
    /// for review and their text is left alone.
    #[serde(default)]
    pub confirm_overwrite_invalid: bool,
    /// The second confirmation a bulk clear needs; a clear without it is refused.
    #[serde(default)]
    pub confirm_clear: bool,
    /// Write channels that changed since the preview (they are planned again on their current
    /// state, so nothing the admin added since is lost from the mapping).
    #[serde(default)]
    pub force: bool,
}
