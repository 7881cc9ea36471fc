//! One channel of a sync: fetch its upstream's models, decide (see [`super::plan`]) and,
//! unless it is a dry run, write with a snapshot first — under the time limit, with retries.

use super::apply::changed_by_someone_else;
use super::deadline::Deadline;
use super::plan::{plan_channel, PlanRules};
use super::*;

enum Outcome {
    /// Decided, and `true` when written; with the plan entry that confirms models the price
    /// check held back, if it held any.
    Planned(Box<ChannelPlan>, bool, Option<Box<ChannelPlan>>),
    /// A write whose reply was lost had landed.
    Landed(Box<Snapshot>),
}

enum Fail {
    Deadline,
    /// An error; `true` when it came from the write (the write may have landed).
    Err(Error, bool),
}

impl Engine {
    pub(super) fn item_from_plan(
        &self,
        plan: &ChannelPlan,
        start: u64,
        attempts: u32,
    ) -> ItemResult {
        let now = self.clock.now_ms();
        let (status, reason) = match &plan.decision {
            Decision::Write => (ItemStatus::Success, None),
            Decision::Unchanged => (ItemStatus::Unchanged, None),
            Decision::Skip { reason } => {
                (ItemStatus::Skipped, Some(ItemReason::Skip(reason.clone())))
            }
            Decision::NeedsReview { reason } => (
                ItemStatus::NeedsReview,
                Some(ItemReason::Review(reason.clone())),
            ),
            Decision::Failed { .. } => (ItemStatus::Failed, None),
        };
        let mut item = ItemResult::new(
            plan.channel_id.clone(),
            plan.channel_name.clone(),
            status,
            start,
        );
        if let Decision::Failed { error } = &plan.decision {
            item.fail(error);
        }
        item.reason = reason;
        item.attempts = attempts;
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item.old = plan.before.models.clone();
        item.new = plan.new.clone();
        item.added = plan.added.clone();
        item.removed = plan.removed.clone();
        item.price = plan.price.clone();
        item.probes = plan.probes.clone();
        item
    }

    /// A write that landed before an interruption (or before a lost reply): record it as done.
    pub(super) fn landed(&self, snap: &Snapshot, start: u64, attempts: u32) -> ItemResult {
        let now = self.clock.now_ms();
        let mut item = ItemResult::new(
            snap.channel_id.clone(),
            snap.channel_name.clone(),
            ItemStatus::Success,
            start,
        );
        item.attempts = attempts.max(1);
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item.old = snap.before.models.clone();
        item.new = snap.after.models.clone();
        (item.added, item.removed) = plan::list_diff(&item.old, &item.new);
        item.snapshot = true;
        item
    }

    /// Fetch, decide and (unless a dry run) write one channel, with retries and the time limit.
    pub(super) async fn sync_one(
        &self,
        run: &RunId,
        channel: Channel,
        dropped: bool,
        prior: Option<Snapshot>,
        dry_run: bool,
        confirmed: bool,
    ) -> (ItemResult, Option<ChannelPlan>) {
        let start = self.clock.now_ms();
        let id = channel.id.clone();
        let cfg = self.settings.channels.get(&id.0);
        let skip = if cfg.is_some_and(|c| c.excluded) {
            Some(SkipReason::Excluded)
        } else if !channel.enabled && self.settings.skip_disabled {
            Some(SkipReason::Disabled)
        } else {
            // The gateway rewrites this channel by itself: a sync would flap against it.
            channel
                .rules
                .auto_sync
                .map(|setting| SkipReason::GatewaySyncs { setting })
        };
        if let Some(reason) = skip {
            let plan = ChannelPlan::without_change(&channel, Decision::Skip { reason });
            return (self.item_from_plan(&plan, start, 0), Some(plan));
        }
        if let Some(s) = prior.as_ref().filter(|_| !dropped) {
            if same_set(&channel.models, &s.after.models) {
                return (self.landed(s, start, 1), None);
            }
        }
        let rules = PlanRules {
            settings: &self.settings,
            filters: &self.filters,
            keep_aliases: self.gw.capabilities().aliases_must_be_listed,
            confirmed,
            model_list: self.gw.capabilities().model_list,
        };
        let deadline = self.deadline();
        let mut channel = channel;
        // A channel listed without its models is read first; a write from before an
        // interruption is then recognised on that read.
        let mut pending: Option<Snapshot> = if dropped { prior } else { None };
        let mut reread = dropped;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let attempt: Result<Outcome, Fail> = async {
                if reread {
                    channel = match self.within(deadline, self.gw.get_channel(&id)).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(e)) => return Err(Fail::Err(e, false)),
                        Err(Deadline) => return Err(Fail::Deadline),
                    };
                    if let Some(s) = &pending {
                        if same_set(&channel.models, &s.after.models) {
                            // The write that "failed" had landed.
                            return Ok(Outcome::Landed(Box::new(s.clone())));
                        }
                    }
                }
                let bucket = self.limits.fetch_bucket(channel.upstream_host().as_deref());
                self.within(deadline, bucket.acquire())
                    .await
                    .map_err(|_| Fail::Deadline)?;
                let upstream = match self
                    .within(deadline, self.gw.fetch_upstream_models(&channel))
                    .await
                {
                    Ok(Ok(u)) => u,
                    Ok(Err(e)) => {
                        if e.class == ErrorClass::RateLimited || e.http_status == Some(429) {
                            bucket.penalize(e.retry_after_ms);
                        }
                        return Err(Fail::Err(e, false));
                    }
                    Err(Deadline) => return Err(Fail::Deadline),
                };
                let mut plan = plan_channel(&channel, &upstream, &rules);
                // Price check first (issue 19), so no probe is spent on a model it holds back.
                let mut confirm = self.price_gate(&mut plan);
                // Issue 21: models the plan adds are probed first; failures are held back.
                self.probe_plan(&channel, &mut plan, dry_run, deadline)
                    .await
                    .map_err(|e| Fail::Err(e, false))?;
                if let Some(c) = confirm.as_mut() {
                    Self::drop_probe_held(&plan, c);
                }
                if plan.decision != Decision::Write || dry_run {
                    return Ok(Outcome::Planned(Box::new(plan), false, confirm));
                }
                // Compare-and-write: the channel as it is now must still be the one planned on
                // (another msync or an admin may have written it since it was listed).
                let now = match self.within(deadline, self.gw.get_channel(&id)).await {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(Fail::Err(e, false)),
                    Err(Deadline) => return Err(Fail::Deadline),
                };
                if state_of(&now) != state_of(&channel) {
                    return Err(Fail::Err(changed_by_someone_else(), false));
                }
                let snap = Snapshot {
                    channel_id: id.clone(),
                    channel_name: channel.name.clone(),
                    taken_ms: self.clock.now_ms(),
                    before: state_of(&channel),
                    after: ChannelState {
                        models: plan.new.clone(),
                        mapping: channel.mapping.clone(),
                    },
                    routes: routes_removed(&now, &plan.new),
                };
                self.history()
                    .put_snapshot(run, &snap)
                    .await
                    .map_err(|e| Fail::Err(e, false))?;
                pending = Some(snap);
                // The write itself is not cut off by the time limit: a half-sent write is worse
                // than a late one (the transport's own request timeout still applies).
                let update = ChannelUpdate {
                    models: Some(plan.new.clone()),
                    mapping: None,
                };
                self.gw
                    .update_channel(&channel, &update)
                    .await
                    .map_err(|e| Fail::Err(e, true))?;
                Ok(Outcome::Planned(Box::new(plan), true, confirm))
            }
            .await;
            match attempt {
                Ok(Outcome::Landed(s)) => return (self.landed(&s, start, attempts), None),
                Ok(Outcome::Planned(plan, written, confirm)) => {
                    let mut item = self.item_from_plan(&plan, start, attempts);
                    item.snapshot = written;
                    if dry_run && plan.decision == Decision::Write {
                        item.reason = Some(ItemReason::Note(ItemNote::DryRunWouldWrite));
                    }
                    if let Some(confirm) = confirm {
                        return self.held_for_price(item, &plan, written, *confirm);
                    }
                    return (item, Some(*plan));
                }
                Err(Fail::Deadline) => {
                    let e = self.deadline_error();
                    let plan = ChannelPlan::without_change(&channel, Decision::Failed { error: e });
                    return (self.item_from_plan(&plan, start, attempts), Some(plan));
                }
                Err(Fail::Err(mut e, in_write)) => {
                    reread |= in_write;
                    let give_up = match self.retry_after(&mut e, attempts, deadline) {
                        RetryDecision::GiveUp => true,
                        RetryDecision::After(ms) => {
                            self.clock.sleep_ms(ms).await;
                            false
                        }
                    };
                    if give_up {
                        let plan =
                            ChannelPlan::without_change(&channel, Decision::Failed { error: e });
                        return (self.item_from_plan(&plan, start, attempts), Some(plan));
                    }
                }
            }
        }
    }
}
