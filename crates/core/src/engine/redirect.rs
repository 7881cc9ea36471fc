//! Model redirect writes (`docs/redirect.md`) through the engine: previews, then runs that apply them with a
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

use super::plan::{same_set, ChannelPlan, Decision};
use super::record::{
    ChannelState, ItemResult, ItemStatus, Job, RunId, RunMode, RunRecord, Snapshot, Trigger,
};
use super::{not_found, routes_removed, state_of, Engine, Observer, Work};
use crate::error::{Error, ErrorClass, Result};
use crate::gateway::Capabilities;
use crate::model::{Channel, ChannelId, Mapping, SiteKind};
use crate::reason::{ItemNote, ItemReason, ReviewReason, RunError, RunNote};
use crate::redirect::apply::diff_mapping;
use crate::redirect::{
    plan_clear, plan_prune, plan_redirect, totals, ApplyOptions as PlanOptions, BlockReason,
    ChannelPreview, ClearOptions, Matcher, PlanStatus, RedirectCheck,
};
use std::collections::HashMap;

pub use msync_types::redirect::{RedirectApplyOptions, RedirectOp, RedirectPreview};

/// How the engine plans a [`RedirectOp`].
pub trait RedirectOpPlan {
    /// The matcher the op needs (an empty one for prune).
    fn matcher(&self) -> Matcher;
    /// Plan one channel (pure).
    fn plan(
        &self,
        matcher: &Matcher,
        channel: &Channel,
        caps: &Capabilities,
        site: SiteKind,
        confirm_overwrite_invalid: bool,
    ) -> ChannelPreview;
}

impl RedirectOpPlan for RedirectOp {
    fn matcher(&self) -> Matcher {
        match self {
            RedirectOp::Redirect { settings } | RedirectOp::Clear { settings, .. } => {
                settings.matcher()
            }
            RedirectOp::Prune => Matcher::new(&[], &[], Default::default()),
        }
    }

    fn plan(
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
/// Whether a preview entry belongs in an apply run: a change, or a channel held back only
/// because its mapping cannot be read (the run reports it for review, or overwrites it when
/// that is confirmed).
fn wants_apply(p: &ChannelPreview) -> bool {
    matches!(
        p.status,
        PlanStatus::Change
            | PlanStatus::Blocked {
                reason: BlockReason::InvalidMapping,
                ..
            }
    )
}

/// A preview entry as the run's stored plan entry: the state it was planned on (checked again
/// before the write, and what resume needs) and the models it would write.
fn plan_entry(p: &ChannelPreview) -> ChannelPlan {
    ChannelPlan {
        channel_id: p.channel_id.clone(),
        channel_name: p.channel_name.clone(),
        before: ChannelState {
            models: p.old_models.clone(),
            mapping: p.old_mapping.clone(),
        },
        new: p.new_models().to_vec(),
        added: p.added_models.clone(),
        removed: p.removed_models.clone(),
        upstream_count: 0,
        decision: match &p.status {
            PlanStatus::Blocked {
                why: ItemReason::Review(reason),
                ..
            } => Decision::NeedsReview {
                reason: reason.clone(),
            },
            _ => Decision::Write,
        },
        price: None,
        probes: Vec::new(),
    }
}

/// The mapping a channel holds after a preview's update is written.
pub(crate) fn mapping_after(p: &ChannelPreview) -> Mapping {
    match &p.update.mapping {
        Some(pairs) if pairs.is_empty() => Mapping::Empty,
        Some(pairs) => Mapping::Valid {
            pairs: pairs.clone(),
        },
        None => p.old_mapping.clone(),
    }
}

/// Whether two mappings hold the same entries. Key order is not compared: sites store the
/// mapping as a JSON object, whose order does not survive a round trip.
pub(crate) fn same_mapping(a: &Mapping, b: &Mapping) -> bool {
    let sorted = |m: &Mapping| -> Option<Vec<(String, String)>> {
        match m {
            Mapping::Empty => Some(Vec::new()),
            Mapping::Valid { pairs } => {
                let mut p = pairs.clone();
                p.sort();
                Some(p)
            }
            _ => None,
        }
    };
    match (sorted(a), sorted(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Models as a set, mapping as a set of entries.
pub(crate) fn same_state(a: &ChannelState, b: &ChannelState) -> bool {
    same_set(&a.models, &b.models) && same_mapping(&a.mapping, &b.mapping)
}

fn no_mapping_error(kind: SiteKind) -> Error {
    Error::found(
        ErrorClass::Validation,
        RunError::NoMappingSupport { site: kind },
    )
    .not_retryable()
}

/// What a redirect run needs besides the channel: built once per run.
pub(crate) struct RedirectRun {
    op: RedirectOp,
    matcher: Matcher,
    confirm_overwrite_invalid: bool,
}

impl RedirectRun {
    pub(crate) fn of(job: &Job) -> Option<RedirectRun> {
        match job {
            Job::Redirect {
                op,
                confirm_overwrite_invalid,
                ..
            } => Some(RedirectRun {
                matcher: op.matcher(),
                op: op.clone(),
                confirm_overwrite_invalid: *confirm_overwrite_invalid,
            }),
            _ => None,
        }
    }
}

impl Engine {
    /// Plan `op` on the channels (`None`: every channel a sync would process — excluded and,
    /// per settings, disabled channels left out), read fresh from the site. Nothing is written.
    /// The preview is kept as the site's latest, for [`Engine::apply_stored_redirect`].
    ///
    /// Refused on sites without per-channel mapping (Octopus), with a message that says so.
    pub async fn preview_redirect(
        &self,
        op: RedirectOp,
        channels: Option<&[ChannelId]>,
        confirm_overwrite_invalid: bool,
    ) -> Result<RedirectPreview> {
        let caps = self.gw.capabilities();
        let kind = self.gw.site().kind;
        if !caps.model_mapping {
            return Err(no_mapping_error(kind));
        }
        if let RedirectOp::Redirect { settings } | RedirectOp::Clear { settings, .. } = &op {
            let problems = settings.validate();
            if !problems.is_empty() {
                return Err(Error::validation(format!(
                    "invalid redirect settings: {}",
                    problems.join("; ")
                )));
            }
        }
        let listed = self.list_channels().await?;
        let chosen: Vec<Channel> = match channels {
            None => listed
                .into_iter()
                .filter(|c| self.redirect_eligible(c))
                .collect(),
            Some([]) => {
                return Err(Error::found(
                    ErrorClass::Validation,
                    RunError::NoChannelsSelected,
                ))
            }
            Some(ids) => {
                let mut by_id: HashMap<ChannelId, Channel> =
                    listed.into_iter().map(|c| (c.id.clone(), c)).collect();
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if out.iter().any(|c: &Channel| &c.id == id) {
                        continue;
                    }
                    out.push(by_id.remove(id).ok_or_else(|| not_found(id))?);
                }
                out
            }
        };
        let matcher = op.matcher();
        let previews: Vec<ChannelPreview> = chosen
            .iter()
            .map(|c| op.plan(&matcher, c, &caps, kind, confirm_overwrite_invalid))
            .collect();
        let now = self.clock.now_ms();
        let nonce = self.rng.borrow_mut().next_u64() & 0xffff_ffff;
        let preview = RedirectPreview {
            id: format!("{now:013}-{nonce:08x}"),
            site: self.site.clone(),
            kind,
            created_ms: now,
            op,
            confirm_overwrite_invalid,
            totals: totals(&previews),
            channels: previews,
        };
        self.history().put_redirect_preview(&preview).await?;
        Ok(preview)
    }

    /// The site's latest preview, if it is `id` (its per-standard explanations are not kept).
    pub async fn stored_redirect_preview(&self, id: &str) -> Result<RedirectPreview> {
        match self.history().redirect_preview().await? {
            Some(p) if p.id == id => Ok(p),
            _ => Err(Error::found(
                ErrorClass::Validation,
                RunError::PreviewStale {
                    preview: id.to_string(),
                },
            )
            .not_retryable()),
        }
    }

    /// [`Engine::apply_redirect`] for the stored preview `id` (what the worker's "Apply" does).
    pub async fn apply_stored_redirect(
        &self,
        id: &str,
        opts: RedirectApplyOptions,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let preview = self.stored_redirect_preview(id).await?;
        self.apply_redirect(&preview, opts, obs).await
    }

    /// Apply a confirmed preview as a run (mode `Redirect`): every change in it, or only
    /// `opts.channels`. Each channel is re-read first; if it changed since the preview it is not
    /// written (`NeedsReview`) unless `opts.force`, and then it is planned again on its current
    /// state. A snapshot precedes every write (revert restores models and mapping). Channels
    /// with an unreadable mapping are held for review unless `opts.confirm_overwrite_invalid`.
    /// A bulk clear is refused without `opts.confirm_clear`.
    pub async fn apply_redirect(
        &self,
        preview: &RedirectPreview,
        opts: RedirectApplyOptions,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        if preview.site != self.site {
            return Err(Error::validation(format!(
                "this preview belongs to site {}, not {}",
                preview.site, self.site
            )));
        }
        if !self.gw.capabilities().model_mapping {
            return Err(no_mapping_error(self.gw.site().kind));
        }
        if matches!(preview.op, RedirectOp::Clear { .. }) && !opts.confirm_clear {
            return Err(
                Error::found(ErrorClass::Validation, RunError::ClearNeedsConfirmation)
                    .not_retryable(),
            );
        }
        let entries: Vec<ChannelPlan> = preview
            .channels
            .iter()
            .filter(|p| wants_apply(p))
            .filter(|p| {
                opts.channels
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&p.channel_id))
            })
            .map(plan_entry)
            .collect();
        if entries.is_empty() {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::NothingToApply,
            ));
        }
        let job = Job::Redirect {
            op: preview.op.clone(),
            preview: preview.id.clone(),
            confirm_overwrite_invalid: opts.confirm_overwrite_invalid,
            force: opts.force,
            after_sync: None,
        };
        self.start_redirect(job, Trigger::Manual, entries, obs)
            .await
    }

    /// After sync run `record`, when redirect is enabled in this engine's settings: preview and
    /// apply a redirect for the channels whose sync item succeeded or was unchanged — never for
    /// one that failed, was skipped or held for review in that run. `Ok(None)` when there is
    /// nothing to do (redirect off, a dry run or revert, a site without mapping, no changes).
    /// Channels with an unreadable mapping appear in the run as `NeedsReview`, untouched.
    pub async fn redirect_after_sync(
        &self,
        record: &RunRecord,
        obs: &dyn Observer,
    ) -> Result<Option<RunRecord>> {
        let settings = &self.settings.redirect;
        let synced = matches!(
            record.head.job,
            Job::Sync { dry_run: false, .. } | Job::Apply { .. }
        );
        if !settings.enabled
            || !synced
            || record.head.site != self.site
            || !self.gw.capabilities().model_mapping
        {
            return Ok(None);
        }
        let ok: Vec<ChannelId> = record
            .items
            .iter()
            .filter(|i| matches!(i.status, ItemStatus::Success | ItemStatus::Unchanged))
            .map(|i| i.channel_id.clone())
            .collect();
        if ok.is_empty() {
            return Ok(None);
        }
        let caps = self.gw.capabilities();
        let kind = self.gw.site().kind;
        let op = RedirectOp::Redirect {
            settings: settings.clone(),
        };
        let matcher = op.matcher();
        let entries: Vec<ChannelPlan> = self
            .list_channels()
            .await?
            .iter()
            .filter(|c| ok.contains(&c.id))
            .map(|c| op.plan(&matcher, c, &caps, kind, false))
            .filter(wants_apply)
            .map(|p| plan_entry(&p))
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        let job = Job::Redirect {
            op,
            preview: format!("after-sync-{}", record.head.id),
            confirm_overwrite_invalid: false,
            force: false,
            after_sync: Some(record.head.id.clone()),
        };
        self.start_redirect(job, record.head.first_trigger, entries, obs)
            .await
            .map(Some)
    }

    fn redirect_eligible(&self, c: &Channel) -> bool {
        let excluded = self
            .settings
            .channels
            .get(&c.id.0)
            .is_some_and(|x| x.excluded);
        !excluded && (c.enabled || !self.settings.skip_disabled)
    }

    async fn start_redirect(
        &self,
        job: Job,
        trigger: Trigger,
        entries: Vec<ChannelPlan>,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let now = self.clock.now_ms();
        let id = self.new_run_id(now).await?;
        let note = match &job {
            Job::Redirect {
                op,
                after_sync: Some(of),
                ..
            } => Some(RunNote::RedirectAfterSync {
                op: op.kind(),
                of: of.clone(),
            }),
            Job::Redirect { op, preview, .. } => Some(RunNote::RedirectFromPreview {
                op: op.kind(),
                preview: preview.clone(),
            }),
            _ => None,
        };
        let mut head = self.new_head(id, trigger, RunMode::Redirect, job, now);
        head.note = note;
        self.run_planned(head, entries, Work::Redirect, obs).await
    }

    /// Re-read one channel, check it against the preview, plan again on its current state and
    /// write with a snapshot first.
    pub(crate) async fn redirect_one(
        &self,
        run: &RunId,
        entry: ChannelPlan,
        prior: Option<Snapshot>,
        r: &RedirectRun,
        force: bool,
    ) -> ItemResult {
        let item = self.running_item(&entry.channel_id, &entry.channel_name);
        let (current, mut item) = match self.fresh_read(&entry.channel_id, item).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        let (start, attempts) = (item.started_ms, item.attempts);
        item.old = current.models.clone();
        item.new = current.models.clone();
        let now_state = state_of(&current);
        if let Some(s) = &prior {
            if same_state(&now_state, &s.after) {
                // the write landed before an interruption
                let mut done = self.landed(s, start, attempts);
                done.mapping_changes =
                    diff_mapping(s.before.mapping.pairs(), s.after.mapping.pairs());
                return done;
            }
        }
        if !same_state(&now_state, &entry.before) && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(ItemReason::Review(ReviewReason::ChangedSincePreview));
            return self.finish(item, start);
        }
        let caps = self.gw.capabilities();
        let p = r.op.plan(
            &r.matcher,
            &current,
            &caps,
            self.gw.site().kind,
            r.confirm_overwrite_invalid,
        );
        item.new = p.new_models().to_vec();
        item.added = p.added_models.clone();
        item.removed = p.removed_models.clone();
        item.mapping_changes = p.changes.clone();
        match &p.status {
            PlanStatus::Unchanged => {
                item.status = ItemStatus::Unchanged;
                item.reason = Some(ItemReason::Note(ItemNote::NothingToChange {
                    op: r.op.kind(),
                }));
                item.mapping_changes.clear();
                self.finish(item, start)
            }
            PlanStatus::Blocked { reason, why } => {
                item.status = match reason {
                    BlockReason::NoMappingSupport => ItemStatus::Skipped,
                    _ => ItemStatus::NeedsReview,
                };
                item.reason = Some(why.clone());
                item.mapping_changes.clear();
                self.finish(item, start)
            }
            PlanStatus::Change => {
                let snap = Snapshot {
                    channel_id: entry.channel_id.clone(),
                    channel_name: current.name.clone(),
                    taken_ms: self.clock.now_ms(),
                    before: now_state,
                    after: ChannelState {
                        models: p.new_models().to_vec(),
                        mapping: mapping_after(&p),
                    },
                    routes: routes_removed(&current, p.new_models()),
                };
                let mut done = self
                    .write_with_snapshot(run, item, snap, &current, p.update, start, attempts)
                    .await;
                if done.status != ItemStatus::Success {
                    done.mapping_changes.clear();
                }
                done
            }
        }
    }
}
