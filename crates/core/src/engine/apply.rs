//! Writing a confirmed plan entry, and what every write of a stored entry shares: a fresh read
//! first, a snapshot before the write, the item finished with its times.

use super::*;

impl Engine {
    /// Write one confirmed plan entry after re-reading the channel.
    pub(super) async fn apply_one(
        &self,
        run: &RunId,
        mut plan: ChannelPlan,
        prior: Option<Snapshot>,
        force: bool,
    ) -> ItemResult {
        let item = self.item_from_plan(&plan, self.clock.now_ms(), 0);
        let (current, mut item) = match self.fresh_read(&plan.channel_id, item).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        let (start, attempts) = (item.started_ms, item.attempts);
        if let Some(s) = &prior {
            if same_set(&current.models, &s.after.models) {
                return self.landed(s, start, attempts);
            }
        }
        item.old = current.models.clone();
        if same_set(&current.models, &plan.new) {
            item.status = ItemStatus::Unchanged;
            item.reason = Some(ItemReason::Note(ItemNote::AlreadyPlanned));
            (item.added, item.removed) = (Vec::new(), Vec::new());
            item.attempts = attempts;
            return self.finish(item, start);
        }
        if state_of(&current) != plan.before && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(ItemReason::Review(ReviewReason::ChangedSincePlan));
            item.attempts = attempts;
            return self.finish(item, start);
        }
        // Issue 21: a confirmed plan's additions are probed now (the dry run only estimated).
        if let Err(e) = self.probe_plan(&current, &mut plan, false, None).await {
            item.fail(&e);
            return self.finish(item, start);
        }
        item.probes = plan.probes.clone();
        if same_set(&current.models, &plan.new) {
            item.status = ItemStatus::Unchanged;
            (item.added, item.removed) = (Vec::new(), Vec::new());
            return self.finish(item, start);
        }
        (item.added, item.removed) = (plan.added.clone(), plan.removed.clone());
        item.new = plan.new.clone();
        let snap = Snapshot {
            channel_id: plan.channel_id.clone(),
            channel_name: plan.channel_name.clone(),
            taken_ms: self.clock.now_ms(),
            before: state_of(&current),
            after: ChannelState {
                models: plan.new.clone(),
                mapping: current.mapping.clone(),
            },
        };
        let update = ChannelUpdate {
            models: Some(plan.new.clone()),
            mapping: None,
        };
        self.write_with_snapshot(run, item, snap, &current, update, start, attempts)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_with_snapshot(
        &self,
        run: &RunId,
        mut item: ItemResult,
        snap: Snapshot,
        current: &Channel,
        update: ChannelUpdate,
        start: u64,
        mut attempts: u32,
    ) -> ItemResult {
        if let Err(e) = self.history().put_snapshot(run, &snap).await {
            item.fail(&e);
            return self.finish(item, start);
        }
        // Setting a channel's models is idempotent, so a retried write is safe.
        let written = self
            .retrying(None, &mut attempts, async || {
                self.gw.update_channel(current, &update).await
            })
            .await;
        item.attempts = attempts;
        match written {
            Ok(_) => {
                item.status = ItemStatus::Success;
                item.reason = None;
                item.snapshot = true;
                item.old = snap.before.models.clone();
                item.new = snap.after.models.clone();
                (item.added, item.removed) = plan::list_diff(&item.old, &item.new);
            }
            Err(e) => item.fail(&e),
        }
        self.finish(item, start)
    }

    /// Read a channel fresh for the item being worked on (started at `item.started_ms`), retrying
    /// retryable failures within the time limit; `item.attempts` counts the reads. On failure the
    /// item is finished as failed and handed back as `Err`.
    pub(super) async fn fresh_read(
        &self,
        id: &ChannelId,
        mut item: ItemResult,
    ) -> std::result::Result<(Channel, ItemResult), ItemResult> {
        let start = item.started_ms;
        let mut attempts = 0;
        let read = self
            .retrying(self.deadline(), &mut attempts, async || {
                self.gw.get_channel(id).await
            })
            .await;
        item.attempts = attempts;
        match read {
            Ok(c) => Ok((c, item)),
            Err(e) => {
                item.fail(&e);
                Err(self.finish(item, start))
            }
        }
    }

    /// A `running` item for a stored entry, started now.
    pub(super) fn running_item(&self, id: &ChannelId, name: &str) -> ItemResult {
        ItemResult::new(
            id.clone(),
            name.to_string(),
            ItemStatus::Running,
            self.clock.now_ms(),
        )
    }

    pub(super) fn finish(&self, mut item: ItemResult, start: u64) -> ItemResult {
        let now = self.clock.now_ms();
        item.started_ms = start;
        item.finished_ms = now;
        item.duration_ms = now.saturating_sub(start);
        item
    }
}

/// The channel changed between the read a write was planned on and the write.
pub(super) fn changed_by_someone_else() -> Error {
    Error::found(ErrorClass::Conflict, RunError::ChangedDuringWrite)
}
