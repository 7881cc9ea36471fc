//! Model redirect (`docs/redirect.md`) and New API ratio sync (`docs/ratios.md`) commands. Previews answer directly;
//! applying a redirect is a background run like a sync (snapshots, progress, revert); a ratio
//! apply answers with its outcome (it writes a few option keys, not channels).

use super::runs::Job;
use super::Env;
use msync_core::engine::redirect::{RedirectApplyOptions, RedirectOp};
use msync_core::model::{ChannelId, SiteId};
use msync_core::protocol::Reply;
use msync_core::ratio::{FetchRequest, RatioChoice, RatioSync, RatioUpstream, DEFAULT_TIMEOUT_S};
use msync_core::reason::RunError;
use msync_core::redirect::{ClearScope, RedirectSettings};
use msync_core::{Error, ErrorClass};
use std::rc::Rc;

/// A redirect preview request, as the three preview commands give it.
pub enum PreviewKind {
    Redirect(Option<RedirectSettings>),
    Prune,
    Clear {
        scope: ClearScope,
        remove_added_names: bool,
    },
}

/// A ratio request.
pub enum RatioCall {
    Sources,
    Diff(Vec<RatioUpstream>, Option<u32>),
    Check(Box<RatioUpstream>),
    Preview(Vec<RatioChoice>),
    Apply(Vec<RatioChoice>, Option<String>),
    Snapshots,
    Revert(String, bool),
}

impl Env {
    pub async fn preview_redirect(
        self: &Rc<Self>,
        site_id: &SiteId,
        kind: PreviewKind,
        channels: Option<Vec<ChannelId>>,
        confirm_overwrite_invalid: bool,
    ) -> Result<Reply, Error> {
        let site = self.site(site_id).await?;
        self.require_permission(&site).await?;
        let settings = self.settings(site_id).await?;
        let saved = settings.redirect.clone();
        let op = match kind {
            PreviewKind::Redirect(given) => RedirectOp::Redirect {
                settings: given.unwrap_or(saved),
            },
            PreviewKind::Prune => RedirectOp::Prune,
            PreviewKind::Clear {
                scope,
                remove_added_names,
            } => RedirectOp::Clear {
                settings: saved,
                scope,
                remove_added_names,
            },
        };
        let engine = self.connector.engine(&site, self.store.clone(), settings)?;
        let preview = engine
            .preview_redirect(op, channels.as_deref(), confirm_overwrite_invalid)
            .await?;
        Ok(Reply::RedirectPreview { preview })
    }

    pub async fn apply_redirect(
        self: &Rc<Self>,
        site: &SiteId,
        preview: String,
        opts: RedirectApplyOptions,
    ) -> Result<Reply, Error> {
        match self.launch(site, Job::Redirect(preview, opts)).await? {
            Some(run) => Ok(Reply::RunStarted { run }),
            None => Err(Error::found(
                ErrorClass::Validation,
                RunError::NothingToApply,
            )),
        }
    }

    pub async fn ratio(self: &Rc<Self>, site_id: &SiteId, call: RatioCall) -> Result<Reply, Error> {
        let site = self.site(site_id).await?;
        self.require_permission(&site).await?;
        let sync: RatioSync = self.connector.ratio(&site, self.store.clone())?;
        Ok(match call {
            RatioCall::Sources => Reply::RatioSources {
                sources: sync.sources().await?,
            },
            RatioCall::Diff(upstreams, timeout_s) => {
                let mut req = FetchRequest::new(upstreams);
                req.timeout_s = timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
                Reply::RatioDiff {
                    diff: sync.fetch(&req).await?,
                }
            }
            RatioCall::Check(upstream) => Reply::RatioUpstreamChecked {
                check: sync.check_upstream(&upstream).await?,
            },
            RatioCall::Preview(choices) => Reply::RatioPreview {
                preview: sync.preview(&choices).await?,
            },
            RatioCall::Apply(choices, base) => Reply::RatioApplied {
                outcome: sync.apply(&choices, base.as_deref()).await?,
            },
            RatioCall::Snapshots => Reply::RatioSnapshots {
                snapshots: sync.snapshots().await?,
            },
            RatioCall::Revert(id, force) => Reply::RatioReverted {
                outcome: sync.revert(&id, force).await?,
            },
        })
    }
}
