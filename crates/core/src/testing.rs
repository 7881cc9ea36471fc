//! An in-memory [`Gateway`] for tests (this crate's and others'): scripted upstream lists,
//! scripted failures, latency in virtual time, and a log of every call and write.
//!
//! ```
//! use msync_core::testing::{fake_channel, FakeGateway};
//! use msync_core::sim::Sim;
//! use std::rc::Rc;
//! let sim = Sim::new();
//! let gw = FakeGateway::new(Rc::new(sim.clock()));
//! gw.add(fake_channel(1, "openai", &["gpt-4o"], Some("https://api.openai.com")), &["gpt-4o", "o1"]);
//! assert_eq!(gw.channel(1).unwrap().models, vec!["gpt-4o"]);
//! ```

use crate::clock::Clock;
use crate::engine::limit::TokenBucket;
use crate::error::{Error, ErrorClass, Result};
use crate::gateway::{Capabilities, ConnectionReport, Gateway};
use crate::model::{
    Channel, ChannelId, ChannelUpdate, Credentials, Mapping, RouteItem, Site, SiteId, SiteKind,
};
use async_trait::async_trait;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// Virtual-time latencies of the fake's calls, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub list_ms: u64,
    pub get_ms: u64,
    pub fetch_ms: u64,
    /// Before a write lands.
    pub write_before_ms: u64,
    /// After a write landed, before the reply (an interruption here loses the reply, not the write).
    pub write_after_ms: u64,
}

/// One write the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLog {
    pub channel: ChannelId,
    pub at_ms: u64,
    pub update: ChannelUpdate,
}

#[derive(Default)]
struct State {
    channels: Vec<Channel>,
    /// Position of each channel in `channels`.
    index: HashMap<ChannelId, usize>,
    upstream: HashMap<ChannelId, Vec<String>>,
    fetch_faults: HashMap<ChannelId, VecDeque<Error>>,
    write_faults: HashMap<ChannelId, VecDeque<Error>>,
    list_faults: VecDeque<Error>,
    hang: HashSet<ChannelId>,
    writes: Vec<WriteLog>,
    fetches: Vec<(ChannelId, u64)>,
    calls: Vec<(&'static str, u64)>,
    /// Issue 21: scripted channel-test answers per model (default: passed), and every test sent.
    probe_script: HashMap<String, FakeProbe>,
    probes: Vec<(ChannelId, String)>,
    /// Issue 19: the site's prices (`None`: no price API, as for most site types).
    prices: Option<crate::pricing::PriceBook>,
    /// Every `restore_routes` call (channel, items asked for), and errors to answer them with.
    route_restores: Vec<(ChannelId, Vec<RouteItem>)>,
    restore_faults: VecDeque<Error>,
}

/// What the fake's channel test answers for a model.
#[derive(Debug, Clone)]
pub enum FakeProbe {
    Pass,
    Fail(String),
    /// Never answers (the probe's time limit or the channel's deadline ends it).
    Hang,
    /// The test request fails with this error.
    Error(Error),
}

/// The fake gateway. Cheap to share with `Rc`.
pub struct FakeGateway {
    site: Site,
    caps: Cell<Capabilities>,
    clock: Rc<dyn Clock>,
    latency: Cell<Latency>,
    admin: RefCell<Option<Rc<TokenBucket>>>,
    in_flight: Cell<usize>,
    max_in_flight: Cell<usize>,
    st: RefCell<State>,
}

/// A channel for tests: `id`, `name`, models, upstream base URL.
pub fn fake_channel(id: i64, name: &str, models: &[&str], base_url: Option<&str>) -> Channel {
    Channel {
        id: ChannelId::from(id),
        name: name.to_string(),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: base_url.map(str::to_string),
        models: models.iter().map(|s| s.to_string()).collect(),
        mapping: Mapping::Empty,
        tag: None,
        rules: Default::default(),
    }
}

/// The site the fake pretends to be.
pub fn fake_site() -> Site {
    Site {
        id: SiteId("fake".into()),
        name: "Fake".into(),
        kind: SiteKind::NewApi,
        base_url: "http://127.0.0.1:9".into(),
        credentials: Credentials::default(),
        allow_insecure: false,
    }
}

impl FakeGateway {
    pub fn new(clock: Rc<dyn Clock>) -> FakeGateway {
        FakeGateway {
            site: fake_site(),
            caps: Cell::new(Capabilities {
                ratio_sync: false,
                empty_model_list: true,
                // Probe tests opt in with `set_channel_test` (issue 21).
                channel_test: crate::probe::ChannelTest::Missing,
                ..Capabilities::NEW_API
            }),
            clock,
            latency: Cell::new(Latency::default()),
            admin: RefCell::new(None),
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
            st: RefCell::new(State::default()),
        }
    }

    pub fn set_capabilities(&self, caps: Capabilities) {
        self.caps.set(caps);
    }

    /// Issue 19: the names the site has a ratio or price for (the price check reads them).
    pub fn set_prices(&self, book: crate::pricing::PriceBook) {
        self.st.borrow_mut().prices = Some(book);
    }

    /// Issue 21: turn the channel test on (as New API has it) or off.
    pub fn set_channel_test(&self, test: crate::probe::ChannelTest) {
        let mut caps = self.caps.get();
        caps.channel_test = test;
        self.caps.set(caps);
    }

    /// Script the channel test's answer for `model` (every channel).
    pub fn script_probe(&self, model: &str, answer: FakeProbe) {
        self.st
            .borrow_mut()
            .probe_script
            .insert(model.to_string(), answer);
    }

    /// Every channel test sent: (channel, model), in order.
    pub fn probes(&self) -> Vec<(ChannelId, String)> {
        self.st.borrow().probes.clone()
    }

    pub fn set_latency(&self, l: Latency) {
        self.latency.set(l);
    }

    /// Every call takes a token from this bucket first (as the limiting transport would; a
    /// channel list takes one per 100 channels, like pages).
    pub fn set_admin_bucket(&self, bucket: Rc<TokenBucket>) {
        *self.admin.borrow_mut() = Some(bucket);
    }

    /// Add a channel and what its upstream lists.
    pub fn add(&self, channel: Channel, upstream: &[&str]) {
        let mut st = self.st.borrow_mut();
        st.upstream.insert(
            channel.id.clone(),
            upstream.iter().map(|s| s.to_string()).collect(),
        );
        let pos = st.channels.len();
        st.index.insert(channel.id.clone(), pos);
        st.channels.push(channel);
    }

    pub fn set_upstream(&self, id: i64, upstream: &[&str]) {
        self.st.borrow_mut().upstream.insert(
            ChannelId::from(id),
            upstream.iter().map(|s| s.to_string()).collect(),
        );
    }

    /// The next fetches of channel `id` fail with these errors, in order.
    pub fn fail_fetch(&self, id: i64, errors: Vec<Error>) {
        self.st
            .borrow_mut()
            .fetch_faults
            .entry(ChannelId::from(id))
            .or_default()
            .extend(errors);
    }

    /// The next writes to channel `id` fail with these errors, in order.
    pub fn fail_write(&self, id: i64, errors: Vec<Error>) {
        self.st
            .borrow_mut()
            .write_faults
            .entry(ChannelId::from(id))
            .or_default()
            .extend(errors);
    }

    /// The next channel lists fail with these errors.
    pub fn fail_list(&self, errors: Vec<Error>) {
        self.st.borrow_mut().list_faults.extend(errors);
    }

    /// Fetches of channel `id` never answer.
    pub fn hang_fetch(&self, id: i64) {
        self.st.borrow_mut().hang.insert(ChannelId::from(id));
    }

    /// Change a channel behind the engine's back (an admin editing it).
    pub fn edit(&self, id: i64, f: impl FnOnce(&mut Channel)) {
        let id = ChannelId::from(id);
        if let Some(c) = self
            .st
            .borrow_mut()
            .channels
            .iter_mut()
            .find(|c| c.id == id)
        {
            f(c);
        }
    }

    /// Delete a channel (404 from then on).
    pub fn delete(&self, id: i64) {
        let id = ChannelId::from(id);
        let mut st = self.st.borrow_mut();
        st.channels.retain(|c| c.id != id);
        st.index = st
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
    }

    pub fn channel(&self, id: i64) -> Option<Channel> {
        let id = ChannelId::from(id);
        self.st
            .borrow()
            .channels
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    pub fn all_channels(&self) -> Vec<Channel> {
        self.st.borrow().channels.clone()
    }

    /// Every `restore_routes` call: the channel and the route items asked for.
    pub fn route_restores(&self) -> Vec<(ChannelId, Vec<RouteItem>)> {
        self.st.borrow().route_restores.clone()
    }

    /// The next `restore_routes` calls fail with these errors, in order.
    pub fn fail_route_restores(&self, errors: impl IntoIterator<Item = Error>) {
        self.st.borrow_mut().restore_faults.extend(errors);
    }

    pub fn writes(&self) -> Vec<WriteLog> {
        self.st.borrow().writes.clone()
    }

    /// How many writes each channel received.
    pub fn write_counts(&self) -> HashMap<ChannelId, usize> {
        let mut m = HashMap::new();
        for w in &self.st.borrow().writes {
            *m.entry(w.channel.clone()).or_insert(0) += 1;
        }
        m
    }

    /// When each fetch started (after any admin token).
    pub fn fetches(&self) -> Vec<(ChannelId, u64)> {
        self.st.borrow().fetches.clone()
    }

    /// Every call by name and time.
    pub fn calls(&self) -> Vec<(&'static str, u64)> {
        self.st.borrow().calls.clone()
    }

    /// The most fetches that were in progress at once.
    pub fn max_concurrent_fetches(&self) -> usize {
        self.max_in_flight.get()
    }

    async fn admin_call(&self, name: &'static str, tokens: usize) {
        let bucket = self.admin.borrow().clone();
        if let Some(b) = bucket {
            for _ in 0..tokens.max(1) {
                b.acquire().await;
            }
        }
        self.st.borrow_mut().calls.push((name, self.clock.now_ms()));
    }

    async fn delay(&self, ms: u64) {
        if ms > 0 {
            self.clock.sleep_ms(ms).await;
        }
    }

    fn find(&self, id: &ChannelId) -> Result<Channel> {
        let st = self.st.borrow();
        st.index
            .get(id)
            .map(|&pos| st.channels[pos].clone())
            .ok_or_else(|| {
                Error::new(ErrorClass::NotFound, format!("channel {id} not found")).with_status(404)
            })
    }
}

struct InFlight<'a>(&'a FakeGateway);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.set(self.0.in_flight.get() - 1);
    }
}

#[async_trait(?Send)]
impl Gateway for FakeGateway {
    fn site(&self) -> &Site {
        &self.site
    }

    fn capabilities(&self) -> Capabilities {
        self.caps.get()
    }

    async fn test_connection(&self) -> Result<ConnectionReport> {
        self.admin_call("test", 1).await;
        Ok(ConnectionReport {
            reachable: true,
            authenticated: true,
            admin: true,
            channel_count: Some(self.st.borrow().channels.len()),
            ..Default::default()
        })
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        let pages = self.st.borrow().channels.len().div_ceil(100);
        self.admin_call("list", pages).await;
        self.delay(self.latency.get().list_ms).await;
        if let Some(e) = self.st.borrow_mut().list_faults.pop_front() {
            return Err(e);
        }
        Ok(self.st.borrow().channels.clone())
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Channel> {
        self.admin_call("get", 1).await;
        self.delay(self.latency.get().get_ms).await;
        self.find(id)
    }

    async fn fetch_upstream_models(&self, channel: &Channel) -> Result<Vec<String>> {
        self.admin_call("fetch", 1).await;
        self.st
            .borrow_mut()
            .fetches
            .push((channel.id.clone(), self.clock.now_ms()));
        self.in_flight.set(self.in_flight.get() + 1);
        self.max_in_flight
            .set(self.max_in_flight.get().max(self.in_flight.get()));
        let _guard = InFlight(self);
        if self.st.borrow().hang.contains(&channel.id) {
            self.clock.sleep_ms(u64::MAX / 4).await;
        }
        self.delay(self.latency.get().fetch_ms).await;
        self.find(&channel.id)?;
        let fault = self
            .st
            .borrow_mut()
            .fetch_faults
            .get_mut(&channel.id)
            .and_then(VecDeque::pop_front);
        if let Some(e) = fault {
            return Err(e);
        }
        Ok(self
            .st
            .borrow()
            .upstream
            .get(&channel.id)
            .cloned()
            .unwrap_or_default())
    }

    async fn read_prices(&self) -> Result<Option<crate::pricing::PriceBook>> {
        Ok(self.st.borrow().prices.clone())
    }

    async fn test_channel(
        &self,
        channel: &Channel,
        model: &str,
        timeout_ms: u64,
    ) -> Result<crate::probe::TestReply> {
        self.admin_call("probe", 1).await;
        let script = {
            let mut st = self.st.borrow_mut();
            st.probes.push((channel.id.clone(), model.to_string()));
            st.probe_script
                .get(model)
                .cloned()
                .unwrap_or(FakeProbe::Pass)
        };
        self.delay(self.latency.get().fetch_ms).await;
        let answer = |message: Option<String>| crate::probe::ProbeAnswer {
            http_status: 200,
            message,
            response_ms: Some(self.latency.get().fetch_ms),
            ..Default::default()
        };
        match script {
            FakeProbe::Pass => Ok(crate::probe::TestReply {
                passed: true,
                answer: answer(None),
            }),
            FakeProbe::Fail(m) => Ok(crate::probe::TestReply {
                passed: false,
                answer: answer(Some(m)),
            }),
            FakeProbe::Hang => {
                self.clock.sleep_ms(timeout_ms).await;
                Err(Error::new(ErrorClass::Timeout, "request timed out"))
            }
            FakeProbe::Error(e) => Err(e),
        }
    }

    /// Octopus's way (`internal/op/group.go` `GroupUpdate`): only the missing items are added,
    /// and an item for a model the channel does not serve is refused.
    async fn restore_routes(&self, channel: &ChannelId, items: &[RouteItem]) -> Result<()> {
        self.admin_call("restore_routes", 1).await;
        let mut st = self.st.borrow_mut();
        st.route_restores.push((channel.clone(), items.to_vec()));
        if let Some(e) = st.restore_faults.pop_front() {
            return Err(e);
        }
        let Some(&pos) = st.index.get(channel) else {
            return Err(Error::new(
                ErrorClass::NotFound,
                format!("channel {channel} not found"),
            ));
        };
        let c = &mut st.channels[pos];
        for r in items {
            if !c.models.contains(&r.model) {
                return Err(Error::validation(format!(
                    "the channel does not serve {}",
                    r.model
                )));
            }
            if !c
                .rules
                .route_items
                .iter()
                .any(|x| x.group_id == r.group_id && x.model == r.model)
            {
                c.rules.route_items.push(r.clone());
            }
            // The channel is listed with the models its routes point at again, as the Octopus
            // adapter reads them from the groups (`gateway/octopus.rs` `with_routes`).
            match c.rules.routed.iter_mut().find(|m| m.model == r.model) {
                Some(m) if !m.routes.contains(&r.group) => m.routes.push(r.group.clone()),
                Some(_) => {}
                None => c.rules.routed.push(crate::model::RoutedModel {
                    model: r.model.clone(),
                    routes: vec![r.group.clone()],
                }),
            }
        }
        Ok(())
    }

    async fn update_channel(&self, channel: &Channel, update: &ChannelUpdate) -> Result<Channel> {
        self.admin_call("update", 1).await;
        let lat = self.latency.get();
        self.delay(lat.write_before_ms).await;
        let fault = self
            .st
            .borrow_mut()
            .write_faults
            .get_mut(&channel.id)
            .and_then(VecDeque::pop_front);
        if let Some(e) = fault {
            return Err(e);
        }
        let stored = {
            let mut st = self.st.borrow_mut();
            let now = self.clock.now_ms();
            let Some(&pos) = st.index.get(&channel.id) else {
                return Err(Error::new(
                    ErrorClass::NotFound,
                    format!("channel {} not found", channel.id),
                )
                .with_status(404));
            };
            let c = &mut st.channels[pos];
            if let Some(m) = &update.models {
                c.models = m.clone();
                // As Octopus does (bestruirui/octopus `internal/op/channel.go` `ChannelUpdate`):
                // the routes (group items) to a model the channel no longer serves are deleted.
                c.rules.route_items.retain(|r| m.contains(&r.model));
                c.rules.routed.retain(|r| m.contains(&r.model));
            }
            if let Some(pairs) = &update.mapping {
                c.mapping = if pairs.is_empty() {
                    Mapping::Empty
                } else {
                    Mapping::Valid {
                        pairs: pairs.clone(),
                    }
                };
            }
            let stored = c.clone();
            st.writes.push(WriteLog {
                channel: channel.id.clone(),
                at_ms: now,
                update: update.clone(),
            });
            stored
        };
        self.delay(lat.write_after_ms).await;
        Ok(stored)
    }
}
