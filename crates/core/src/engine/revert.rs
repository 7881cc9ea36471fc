//! Revert: restore the snapshots a run took, as a run of its own (mode `Revert`, with its
//! own snapshots, so a revert can be reverted too).

use super::*;
use crate::reason::{LostRoutes, RunError};

impl Engine {
    /// Revert every channel run `run` wrote, restoring each snapshot exactly (models and mapping).
    /// A channel changed since that run wrote it is not reverted (`NeedsReview`, with the reason)
    /// unless `force`. The revert is itself a run (mode `Revert`) with its own snapshots.
    pub async fn revert_run(
        &self,
        run: &RunId,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let h = self.history();
        let Some(target) = h.head(run).await? else {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::RunNotInHistory { run: run.clone() },
            ));
        };
        let mut snaps = h.snapshots(run).await?;
        let order: HashMap<&ChannelId, usize> = target
            .queue
            .iter()
            .enumerate()
            .map(|(i, q)| (&q.id, i))
            .collect();
        snaps.sort_by_key(|s| order.get(&s.channel_id).copied().unwrap_or(usize::MAX));
        if snaps.is_empty() {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::NothingToRevert { run: run.clone() },
            ));
        }
        self.revert(run, snaps, force, obs).await
    }

    /// Revert one channel to its snapshot from run `run` (see [`Engine::revert_run`]).
    pub async fn revert_channel(
        &self,
        run: &RunId,
        channel: &ChannelId,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let Some(snap) = self.history().snapshot(run, channel).await? else {
            return Err(Error::found(
                ErrorClass::Validation,
                RunError::NoSnapshot {
                    run: run.clone(),
                    channel: channel.clone(),
                },
            ));
        };
        self.revert(run, vec![snap], force, obs).await
    }

    pub(super) async fn revert(
        &self,
        of: &RunId,
        snaps: Vec<Snapshot>,
        force: bool,
        obs: &dyn Observer,
    ) -> Result<RunRecord> {
        let now = self.clock.now_ms();
        let id = self.new_run_id(now).await?;
        let job = Job::Revert {
            of: of.clone(),
            force,
        };
        let mut head = self.new_head(id, Trigger::Manual, RunMode::Revert, job, now);
        head.queue = snaps
            .iter()
            .map(|s| QueuedChannel {
                id: s.channel_id.clone(),
                name: s.channel_name.clone(),
            })
            .collect();
        head.note = Some(RunNote::RevertOf { run: of.clone() });
        self.with_run_lock(head, async |head| {
            self.history().put_head(&head).await?;
            let work = snaps
                .into_iter()
                .map(|s| (s.channel_id.clone(), Work::Revert(s)))
                .collect();
            self.execute(head, work, HashMap::new(), HashMap::new(), obs)
                .await
        })
        .await
    }

    /// Restore one snapshot.
    pub(super) async fn revert_one(
        &self,
        run: &RunId,
        target: Snapshot,
        prior: Option<Snapshot>,
        force: bool,
    ) -> ItemResult {
        let item = self.running_item(&target.channel_id, &target.channel_name);
        let (current, mut item) = match self.fresh_read(&target.channel_id, item).await {
            Ok(read) => read,
            Err(failed) => return failed,
        };
        let (start, attempts) = (item.started_ms, item.attempts);
        item.old = current.models.clone();
        item.new = target.before.models.clone();
        if redirect::same_state(&state_of(&current), &target.before) {
            if let Some(p) = &prior {
                // Resumed after this revert's own write landed: the run may have stopped before
                // the routes were created again, so that step runs now (the gateway adds only
                // the missing ones; a second call adds nothing).
                let item = self.landed(p, start, attempts);
                let item = self.restore_routes(&target, item).await;
                return self.finish(item, start);
            }
            item.status = ItemStatus::Unchanged;
            item.reason = Some(ItemReason::Note(ItemNote::AlreadyAsSnapshot));
            // The models may be back by someone else's hand; the routes the run deleted are not.
            let item = self.restore_routes(&target, item).await;
            return self.finish(item, start);
        }
        let caps = self.gw.capabilities();
        if !caps.empty_model_list && caps.model_list.clean(&target.before.models).is_empty() {
            item.status = ItemStatus::NeedsReview;
            let hold = hold::RevertHold::EmptyModelList {
                site: self.gw.site().kind,
            };
            item.reason = Some(ItemReason::Review(ReviewReason::RevertHold { hold }));
            return self.finish(item, start);
        }
        let as_written = same_set(&current.models, &target.after.models)
            && redirect::same_mapping(&current.mapping, &target.after.mapping);
        if !as_written && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(ItemReason::Review(ReviewReason::ChangedSinceWrite));
            return self.finish(item, start);
        }
        let mapping_restorable = !matches!(target.before.mapping, Mapping::Invalid { .. })
            || redirect::same_mapping(&current.mapping, &target.before.mapping);
        if !mapping_restorable && !force {
            item.status = ItemStatus::NeedsReview;
            item.reason = Some(ItemReason::Review(ReviewReason::SnapshotMappingUnreadable));
            return self.finish(item, start);
        }
        let mapping = if redirect::same_mapping(&current.mapping, &target.before.mapping) {
            None
        } else {
            match &target.before.mapping {
                Mapping::Empty => Some(Vec::new()),
                Mapping::Valid { pairs } => Some(pairs.clone()),
                Mapping::Invalid { .. } | Mapping::Unsupported => None,
            }
        };
        let snap = Snapshot {
            channel_id: target.channel_id.clone(),
            channel_name: target.channel_name.clone(),
            taken_ms: self.clock.now_ms(),
            before: state_of(&current),
            after: target.before.clone(),
            routes: routes_removed(&current, &target.before.models),
        };
        let update = ChannelUpdate {
            models: Some(target.before.models.clone()),
            mapping,
        };
        let item = self
            .write_with_snapshot(run, item, snap, &current, update, start, attempts)
            .await;
        if item.status != ItemStatus::Success {
            return item;
        }
        // Only now that the channel serves the models again can the gateway take the routes
        // back (Octopus refuses a group item for a model the channel lacks).
        let item = self.restore_routes(&target, item).await;
        self.finish(item, start)
    }

    /// Create again the routes the reverted write deleted (`Snapshot::routes`), with a
    /// read-back; a failure fails the item with [`RunError::RoutesNotRestored`].
    async fn restore_routes(&self, target: &Snapshot, mut item: ItemResult) -> ItemResult {
        if target.routes.is_empty() {
            return item;
        }
        let mut attempts = item.attempts;
        let restored = self
            .retrying(None, &mut attempts, async || {
                self.gw
                    .restore_routes(&target.channel_id, &target.routes)
                    .await
            })
            .await;
        item.attempts = attempts;
        if let Err(e) = restored {
            if matches!(e.reason, Some(RunError::RoutesNotRestored { .. })) {
                item.fail(&e);
                return item;
            }
            let mut by_model: Vec<LostRoutes> = Vec::new();
            for r in &target.routes {
                match by_model.iter_mut().find(|l| l.model == r.model) {
                    Some(l) if !l.routes.contains(&r.group) => l.routes.push(r.group.clone()),
                    Some(_) => {}
                    None => by_model.push(LostRoutes {
                        model: r.model.clone(),
                        routes: vec![r.group.clone()],
                    }),
                }
            }
            let found = Error::found(
                e.class,
                RunError::RoutesNotRestored {
                    routes: by_model,
                    error: Some(e.message.clone()),
                },
            );
            item.fail(&found);
        }
        item
    }
}
