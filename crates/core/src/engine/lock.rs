//! The site's run lock and this engine's busy flag: one run per site at a time, across
//! processes (the lock lives in the store, with a heartbeat) and within this engine.

use super::*;

/// Set while this engine runs something; cleared when dropped.
pub(super) struct BusyGuard<'a>(&'a Cell<bool>);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

pub(super) enum LockOutcome {
    Acquired,
    Held(RunLock),
}

impl Engine {
    /// Run `body` under the site's run lock. Another run in this engine or holding the lock:
    /// a scheduled run is recorded as skipped, anything else refused (see [`Self::refuse`]).
    /// When `body` fails the lock is released; when it succeeds, `body` released it.
    pub(super) async fn with_run_lock(
        &self,
        head: RunHead,
        body: impl AsyncFnOnce(RunHead) -> Result<RunRecord>,
    ) -> Result<RunRecord> {
        let Some(_busy) = self.enter() else {
            return self.refuse(head, None).await;
        };
        if let LockOutcome::Held(l) = self.try_lock(&head.id).await? {
            return self.refuse(head, Some(l)).await;
        }
        let result = body(head).await;
        if result.is_err() {
            let _ = self.history().remove_lock().await;
        }
        result
    }

    pub(super) fn enter(&self) -> Option<BusyGuard<'_>> {
        if self.busy.replace(true) {
            None
        } else {
            Some(BusyGuard(&self.busy))
        }
    }

    /// Take the site's run lock for `run`, unless a live run holds it. A stale lock's run is
    /// closed as abandoned.
    pub(super) async fn try_lock(&self, run: &RunId) -> Result<LockOutcome> {
        let h = self.history();
        let now = self.clock.now_ms();
        if let Some(l) = h.lock().await? {
            if &l.run != run {
                let other = h
                    .head(&l.run)
                    .await?
                    .filter(|o| o.state == RunState::Running);
                if let Some(mut other) = other {
                    if now.saturating_sub(l.heartbeat_ms) < LOCK_STALE_MS {
                        return Ok(LockOutcome::Held(l));
                    }
                    other.state = RunState::Failed;
                    other.finished_ms = Some(now);
                    other.note = Some(RunNote::Superseded {
                        minutes: LOCK_STALE_MS / 60_000,
                        by: run.clone(),
                    });
                    h.put_head(&other).await?;
                }
            }
        }
        h.put_lock(&RunLock {
            run: run.clone(),
            acquired_ms: now,
            heartbeat_ms: now,
        })
        .await?;
        Ok(LockOutcome::Acquired)
    }

    /// Another run is in progress: record a skipped scheduled run, refuse anything else.
    pub(super) async fn refuse(
        &self,
        mut head: RunHead,
        holder: Option<RunLock>,
    ) -> Result<RunRecord> {
        if head.trigger != Trigger::Scheduled {
            let reason = RunError::SiteLocked {
                run: holder.as_ref().map(|l| l.run.clone()),
                since_ms: holder.as_ref().map(|l| l.acquired_ms),
            };
            return Err(Error::found(ErrorClass::Validation, reason).not_retryable());
        }
        head.state = RunState::Skipped;
        head.queue.clear();
        head.finished_ms = Some(head.started_ms);
        head.note = Some(RunNote::ScheduledSkipped {
            holder: holder.as_ref().map(|l| l.run.clone()),
            since_ms: holder.as_ref().map(|l| l.acquired_ms),
        });
        let h = self.history();
        h.put_head(&head).await?;
        h.prune(
            self.settings.history.keep_runs as usize,
            self.settings.history.max_bytes,
            holder.as_ref().map(|l| &l.run),
        )
        .await?;
        Ok(RunRecord {
            head,
            items: Vec::new(),
        })
    }

    /// The run to resume: the lock's run if it is still `Running`, else the newest such run.
    pub(super) async fn interrupted_run(&self) -> Result<Option<RunHead>> {
        let h = self.history();
        if let Some(l) = h.lock().await? {
            match h.head(&l.run).await? {
                Some(head) if head.state == RunState::Running => return Ok(Some(head)),
                _ => h.remove_lock().await?,
            }
        }
        if let Some(id) = h.run_ids().await?.last() {
            if let Some(head) = h.head(id).await? {
                if head.state == RunState::Running {
                    return Ok(Some(head));
                }
            }
        }
        Ok(None)
    }
}
