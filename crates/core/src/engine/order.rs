//! Which channel a free worker slot starts next.
//!
//! Channels wait in lanes, one per upstream fetch bucket (per host, or one for all). A free slot
//! takes the earliest-queued channel of a lane whose bucket would admit a fetch now; when every
//! bucket is waiting, the channel of the lane that is ready soonest. So a host slowed by a 429,
//! or a long run of channels on one host, does not hold every slot while other hosts could be
//! served. Without rate limits (or for runs that fetch nothing) this is plain queue order.

use super::limit::TokenBucket;
use super::record::QueuedChannel;
use std::collections::VecDeque;
use std::rc::Rc;

struct Lane {
    key: Option<String>,
    bucket: Option<Rc<TokenBucket>>,
    /// (position in the run's queue, channel)
    items: VecDeque<(usize, QueuedChannel)>,
}

pub(crate) struct StartOrder {
    lanes: Vec<Lane>,
}

impl StartOrder {
    /// `items` in queue order, each with its fetch bucket key and bucket (`None`: the channel
    /// fetches nothing, e.g. an apply or a revert).
    pub(crate) fn new(
        items: impl IntoIterator<Item = (QueuedChannel, Option<(String, Rc<TokenBucket>)>)>,
    ) -> StartOrder {
        let mut lanes: Vec<Lane> = Vec::new();
        for (pos, (q, bucket)) in items.into_iter().enumerate() {
            let (key, bucket) = match bucket {
                Some((k, b)) => (Some(k), Some(b)),
                None => (None, None),
            };
            match lanes.iter_mut().find(|l| l.key == key) {
                Some(lane) => lane.items.push_back((pos, q)),
                None => lanes.push(Lane {
                    key,
                    bucket,
                    items: VecDeque::from([(pos, q)]),
                }),
            }
        }
        StartOrder { lanes }
    }

    /// The channel to start now, or `None` when every channel has been handed out.
    pub(crate) fn next(&mut self) -> Option<QueuedChannel> {
        let mut best: Option<(u64, usize, usize)> = None; // (wait, queue position, lane)
        for (i, lane) in self.lanes.iter().enumerate() {
            let Some((pos, _)) = lane.items.front() else {
                continue;
            };
            let wait = lane.bucket.as_ref().map_or(0, |b| b.ready_in_ms());
            if best.is_none_or(|(w, p, _)| (wait, *pos) < (w, p)) {
                best = Some((wait, *pos, i));
            }
        }
        let (_, _, lane) = best?;
        self.lanes[lane].items.pop_front().map(|(_, q)| q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChannelId;
    use crate::sim::Sim;

    fn q(id: &str) -> QueuedChannel {
        QueuedChannel {
            id: ChannelId(id.into()),
            name: id.into(),
        }
    }

    fn drain(order: &mut StartOrder) -> Vec<String> {
        std::iter::from_fn(|| order.next().map(|c| c.id.0)).collect()
    }

    #[test]
    fn without_waiting_buckets_the_queue_order_is_kept() {
        let sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let a = Rc::new(TokenBucket::new(clock.clone(), 60, 10));
        let b = Rc::new(TokenBucket::new(clock, 60, 10));
        let mut order = StartOrder::new([
            (q("1"), Some(("a".into(), a.clone()))),
            (q("2"), Some(("b".into(), b.clone()))),
            (q("3"), None),
            (q("4"), Some(("a".into(), a))),
        ]);
        assert_eq!(drain(&mut order), ["1", "2", "3", "4"]);
    }

    #[test]
    fn a_slowed_host_yields_to_hosts_that_can_be_served() {
        let sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let slow = Rc::new(TokenBucket::new(clock.clone(), 60, 5));
        let fast = Rc::new(TokenBucket::new(clock, 60, 5));
        // A 429 on the slow host: nothing before 30 s.
        slow.penalize(Some(30_000));
        assert!(slow.ready_in_ms() >= 30_000);
        assert_eq!(fast.ready_in_ms(), 0);
        let mut order = StartOrder::new(
            ["1", "2", "3"]
                .map(|id| (q(id), Some(("slow".to_string(), slow.clone()))))
                .into_iter()
                .chain(["4", "5"].map(|id| (q(id), Some(("fast".to_string(), fast.clone()))))),
        );
        // The fast host's channels first, then the slow host's in their order.
        assert_eq!(drain(&mut order), ["4", "5", "1", "2", "3"]);
    }

    #[test]
    fn when_every_bucket_waits_the_soonest_ready_goes_first() {
        let sim = Sim::new();
        let clock = Rc::new(sim.clock());
        let late = Rc::new(TokenBucket::new(clock.clone(), 60, 1));
        let soon = Rc::new(TokenBucket::new(clock, 60, 1));
        late.penalize(Some(20_000));
        soon.penalize(Some(5_000));
        let mut order = StartOrder::new([
            (q("1"), Some(("late".into(), late))),
            (q("2"), Some(("soon".into(), soon))),
        ]);
        assert_eq!(order.next().map(|c| c.id.0), Some("2".into()));
        assert_eq!(order.next().map(|c| c.id.0), Some("1".into()));
        assert!(order.next().is_none());
    }
}
