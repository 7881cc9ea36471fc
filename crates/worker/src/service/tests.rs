//! The worker's behaviour natively: in-memory store, fake gateway, fake browser, a local
//! executor standing in for `spawn_local`, and a clock whose sleeps pass instantly.

use super::*;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use msync_core::engine::record::{ItemResult, ItemStatus, RunState, Trigger};
use msync_core::engine::retry::SplitMix64;
use msync_core::engine::{EngineDeps, Progress, Selection};
use msync_core::gateway::{Capabilities, ConnectionReport};
use msync_core::model::{Channel, ChannelId, ChannelUpdate, CredentialFields, Secret, SiteKind};
use msync_core::protocol::{ExportFormat, ItemFilter, SiteInput};
use msync_core::store::MemoryStore;
use msync_core::testing::{fake_channel, FakeGateway};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const TOKEN: &str = "sk-very-secret-admin-token-0123456789";

// ----- fakes ------------------------------------------------------------------------------

/// Time that passes only when someone sleeps (instantly).
#[derive(Default)]
struct InstantClock(Cell<u64>);

#[async_trait(?Send)]
impl Clock for InstantClock {
    fn now_ms(&self) -> u64 {
        1_700_000_000_000 + self.0.get()
    }
    async fn sleep_ms(&self, ms: u64) {
        self.0.set(self.0.get().saturating_add(ms.min(1 << 40)));
        Yield(false).await
    }
}

struct Yield(bool);
impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Holds fetches while closed, so a run stays "in progress" as long as a test needs.
#[derive(Default)]
struct Gate {
    closed: Cell<bool>,
    /// When set, only channels with this id or higher are held.
    hold_from: Cell<Option<i64>>,
    wakers: RefCell<Vec<Waker>>,
}

impl Gate {
    fn close(&self) {
        self.closed.set(true);
    }
    fn open(&self) {
        self.closed.set(false);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }
    fn wait(&self, channel: &ChannelId) -> impl Future<Output = ()> + '_ {
        let held = self
            .hold_from
            .get()
            .is_none_or(|from| channel.0.parse::<i64>().is_ok_and(|id| id >= from));
        futures::future::poll_fn(move |cx| {
            if held && self.closed.get() {
                self.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
    }
}

/// The fake gateway, answering as our site, with a gate on upstream fetches.
struct SiteGw {
    site: Site,
    inner: Rc<FakeGateway>,
    gate: Rc<Gate>,
}

#[async_trait(?Send)]
impl Gateway for SiteGw {
    fn site(&self) -> &Site {
        &self.site
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn test_connection(&self) -> msync_core::Result<ConnectionReport> {
        self.inner.test_connection().await
    }
    async fn list_channels(&self) -> msync_core::Result<Vec<Channel>> {
        self.inner.list_channels().await
    }
    async fn get_channel(&self, id: &ChannelId) -> msync_core::Result<Channel> {
        self.inner.get_channel(id).await
    }
    async fn fetch_upstream_models(&self, channel: &Channel) -> msync_core::Result<Vec<String>> {
        self.gate.wait(&channel.id).await;
        self.inner.fetch_upstream_models(channel).await
    }
    async fn update_channel(
        &self,
        channel: &Channel,
        update: &ChannelUpdate,
    ) -> msync_core::Result<Channel> {
        self.inner.update_channel(channel, update).await
    }
    async fn test_channel(
        &self,
        channel: &Channel,
        model: &str,
        timeout_ms: u64,
    ) -> msync_core::Result<msync_core::probe::TestReply> {
        self.inner.test_channel(channel, model, timeout_ms).await
    }
}

struct TestConnector {
    gw: Rc<FakeGateway>,
    gate: Rc<Gate>,
    clock: Rc<InstantClock>,
}

impl Connector for TestConnector {
    fn gateway(&self, site: &Site) -> Box<dyn Gateway> {
        Box::new(SiteGw {
            site: site.clone(),
            inner: self.gw.clone(),
            gate: self.gate.clone(),
        })
    }
    fn engine(
        &self,
        site: &Site,
        store: Rc<dyn KvStore>,
        settings: SyncSettings,
    ) -> Result<Engine, Error> {
        Engine::new(
            EngineDeps {
                gateway: Rc::new(SiteGw {
                    site: site.clone(),
                    inner: self.gw.clone(),
                    gate: self.gate.clone(),
                }),
                clock: self.clock.clone(),
                store,
                limits: None,
                rng: Box::new(SplitMix64(1)),
            },
            settings,
        )
    }
    fn ratio(
        &self,
        site: &Site,
        _store: Rc<dyn KvStore>,
    ) -> Result<msync_core::ratio::RatioSync, Error> {
        Err(Error::validation(format!(
            "no ratio sync for {} in these tests",
            site.kind
        )))
    }
}

#[derive(Default)]
struct FakeBrowser {
    granted: RefCell<Vec<String>>,
    alarms: RefCell<BTreeMap<String, AlarmInfo>>,
    alarm_creations: Cell<usize>,
    events: RefCell<Vec<Event>>,
    badge: RefCell<String>,
    notes: RefCell<Vec<(String, String)>>,
    spawner: RefCell<Option<futures::executor::LocalSpawner>>,
    now: Cell<f64>,
}

#[async_trait(?Send)]
impl Browser for FakeBrowser {
    async fn has_host_permission(&self, pattern: &str) -> Result<bool, String> {
        Ok(self.granted.borrow().iter().any(|g| g == pattern))
    }
    async fn get_alarm(&self, name: &str) -> Result<Option<AlarmInfo>, String> {
        Ok(self.alarms.borrow().get(name).cloned())
    }
    async fn all_alarms(&self) -> Result<Vec<AlarmInfo>, String> {
        Ok(self.alarms.borrow().values().cloned().collect())
    }
    async fn create_alarm(
        &self,
        name: &str,
        delay_minutes: f64,
        period_minutes: Option<f64>,
    ) -> Result<(), String> {
        self.alarm_creations.set(self.alarm_creations.get() + 1);
        self.alarms.borrow_mut().insert(
            name.into(),
            AlarmInfo {
                name: name.into(),
                scheduled_ms: self.now.get() + delay_minutes * 60_000.0,
                period_minutes,
            },
        );
        Ok(())
    }
    async fn clear_alarm(&self, name: &str) -> Result<(), String> {
        self.alarms.borrow_mut().remove(name);
        Ok(())
    }
    fn broadcast(&self, event: &Event) {
        self.events.borrow_mut().push(event.clone());
    }
    fn set_badge(&self, text: &str) {
        *self.badge.borrow_mut() = text.into();
    }
    fn notify(&self, _id: &str, title: &str, message: &str) {
        self.notes.borrow_mut().push((title.into(), message.into()));
    }
    fn spawn(&self, fut: LocalBoxFuture<'static, ()>) {
        if let Some(s) = self.spawner.borrow().as_ref() {
            s.spawn_local(fut).unwrap();
        }
    }
}

/// A worker instance over a store and a gateway that outlive it (a restarted worker is a new World
/// over the same store and gateway).
struct World {
    pool: LocalPool,
    env: Rc<Env>,
    browser: Rc<FakeBrowser>,
    store: Rc<MemoryStore>,
    gw: Rc<FakeGateway>,
    gate: Rc<Gate>,
}

impl World {
    fn new() -> World {
        let clock = Rc::new(InstantClock::default());
        let gw = Rc::new(FakeGateway::new(clock.clone()));
        World::over(
            Rc::new(MemoryStore::new()),
            gw,
            Rc::new(Gate::default()),
            clock,
        )
    }

    fn over(
        store: Rc<MemoryStore>,
        gw: Rc<FakeGateway>,
        gate: Rc<Gate>,
        clock: Rc<InstantClock>,
    ) -> World {
        let pool = LocalPool::new();
        let browser = Rc::new(FakeBrowser::default());
        *browser.spawner.borrow_mut() = Some(pool.spawner());
        browser.now.set(clock.now_ms() as f64);
        let env = Env::new(
            store.clone(),
            clock.clone(),
            browser.clone(),
            Rc::new(TestConnector {
                gw: gw.clone(),
                gate: gate.clone(),
                clock,
            }),
            "1.2.3".into(),
        );
        World {
            pool,
            env,
            browser,
            store,
            gw,
            gate,
        }
    }

    /// The same store and gateway, a fresh worker (the old one's tasks are dropped with it).
    fn restart(self) -> World {
        let World {
            store,
            gw,
            gate,
            env,
            ..
        } = self;
        let clock = Rc::new(InstantClock::default());
        clock.0.set(env.clock.now_ms() - 1_700_000_000_000 + 1000);
        World::over(store, gw, gate, clock)
    }

    fn cmd(&mut self, c: Command) -> Reply {
        let env = self.env.clone();
        self.pool.run_until(async move { env.handle(c).await })
    }

    /// A message as a page sends it (JSON text); `None` when the worker gives no answer.
    fn message(&mut self, text: &str) -> Option<Reply> {
        match parse_message(text) {
            Ok(Some(c)) => Some(self.cmd(c)),
            Ok(None) => None,
            Err(e) => Some(Reply::error(&e)),
        }
    }

    /// Let background runs work until nothing can proceed.
    fn settle(&mut self) {
        self.pool.run_until_stalled();
    }

    fn add_site(&mut self, id: &str) -> SiteId {
        let r = self.cmd(Command::SaveSite {
            site: input(id, "http://127.0.0.1:3000", TOKEN),
        });
        let Reply::Site { site } = r else {
            panic!("{r:?}")
        };
        self.browser
            .granted
            .borrow_mut()
            .push("http://127.0.0.1/*".into());
        site.id
    }

    fn runs(&self, site: &SiteId) -> Vec<msync_core::engine::record::RunHead> {
        let store = self.store.clone();
        let site = site.clone();
        futures::executor::block_on(async move {
            msync_core::history::History::new(&*store, site)
                .runs()
                .await
                .unwrap()
        })
    }

    fn all_storage_text(&self) -> BTreeMap<String, String> {
        self.store.snapshot()
    }
}

fn input(id: &str, url: &str, token: &str) -> SiteInput {
    SiteInput {
        id: Some(SiteId(id.into())),
        name: format!("Site {id}"),
        kind: SiteKind::NewApi,
        base_url: url.into(),
        credentials: CredentialFields {
            token: Secret(token.into()),
            user_id: Some(1),
            ..Default::default()
        },
        allow_insecure: false,
    }
}

fn populate(gw: &FakeGateway, n: i64) {
    for i in 1..=n {
        gw.add(
            fake_channel(
                i,
                &format!("ch{i}"),
                &["a", "b"],
                Some("https://up.example"),
            ),
            &["a", "b", "c"],
        );
    }
}

fn run_id(r: Reply) -> msync_core::engine::record::RunId {
    match r {
        Reply::RunStarted { run } => run,
        other => panic!("expected run_started, got {other:?}"),
    }
}

fn error_of(r: &Reply) -> (&str, &str) {
    match r {
        Reply::Error { class, message, .. } => (class.as_str(), message),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The typed finding of an error reply.
fn reason_of(r: &Reply) -> Option<&RunError> {
    match r {
        Reply::Error { reason, .. } => reason.as_ref(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn start_all(site: &SiteId) -> Command {
    Command::StartRun {
        site: site.clone(),
        selection: Selection::All,
        dry_run: false,
    }
}

fn auto(interval: u32, notify: bool) -> SyncSettings {
    let mut s = SyncSettings::default();
    s.auto_sync.enabled = true;
    s.auto_sync.interval_minutes = interval;
    s.auto_sync.notify = notify;
    s
}

// ----- sites ------------------------------------------------------------------------------

#[test]
fn sites_are_validated_listed_without_secrets_and_keep_secrets_on_edit() {
    let mut w = World::new();
    let bad = w.cmd(Command::SaveSite {
        site: SiteInput {
            id: None,
            name: " ".into(),
            kind: SiteKind::Octopus,
            base_url: "ftp://x".into(),
            credentials: CredentialFields::default(),
            allow_insecure: false,
        },
    });
    let Reply::Invalid { issues } = bad else {
        panic!("{bad:?}")
    };
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "base_url",
            "credentials.username",
            "credentials.password"
        ]
    );
    // What is wrong travels as data, for the pages to word in their language.
    let missing = msync_core::settings::FieldProblem::CredentialsMissing {
        site: SiteKind::Octopus,
        need: msync_core::gateway::CredentialKind::UsernamePassword,
    };
    assert_eq!(
        issues.iter().map(|i| i.reason.clone()).collect::<Vec<_>>(),
        [
            msync_core::settings::FieldProblem::NameMissing,
            msync_core::settings::FieldProblem::Address(
                msync_core::base_url::BaseUrlError::Scheme("ftp".into())
            ),
            missing.clone(),
            missing,
        ]
    );
    assert!(
        !w.store.snapshot().contains_key(KEY_SITES),
        "nothing stored"
    );

    // Plain http to a public host needs explicit consent: refused without it, nothing stored.
    let r = w.cmd(Command::SaveSite {
        site: SiteInput {
            id: None,
            ..input("x", "http://gw.example.com/", TOKEN)
        },
    });
    let Reply::Invalid { issues } = r else {
        panic!("{r:?}")
    };
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field, "allow_insecure");
    assert!(issues[0].message.contains("unencrypted"), "{issues:?}");
    assert_eq!(
        issues[0].reason,
        msync_core::settings::FieldProblem::InsecureNeedsConsent
    );
    assert!(
        !w.store.snapshot().contains_key(KEY_SITES),
        "nothing stored"
    );

    let r = w.cmd(Command::SaveSite {
        site: SiteInput {
            id: None,
            allow_insecure: true,
            ..input("x", "http://gw.example.com/", TOKEN)
        },
    });
    let Reply::Site { site } = r else {
        panic!("{r:?}")
    };
    assert_eq!(site.id.0, "site-x");
    assert_eq!(site.base_url, "http://gw.example.com");
    assert!(site.insecure, "plain http to a public host");
    assert!(site.allow_insecure, "the consent is kept");
    assert!(site.has_credentials);

    // Edit with an empty token: the stored one stays.
    let mut edit = input("site-x", "http://gw.example.com", "");
    edit.allow_insecure = true;
    edit.name = "Renamed".into();
    let r = w.cmd(Command::SaveSite { site: edit });
    assert!(matches!(r, Reply::Site { .. }), "{r:?}");
    let stored = w.store.snapshot()[KEY_SITES].clone();
    assert!(stored.contains(TOKEN), "token kept");
    assert!(stored.contains("Renamed"));

    // Moving to another origin without new credentials is refused (no secret to a new server).
    let r = w.cmd(Command::SaveSite {
        site: input("site-x", "https://other.example.com", ""),
    });
    let Reply::Invalid { issues } = r else {
        panic!("{r:?}")
    };
    assert_eq!(issues[0].field, "credentials");

    let listed = w.cmd(Command::ListSites);
    let text = serde_json::to_string(&listed).unwrap();
    assert!(text.contains("Renamed"));
    assert!(!text.contains(TOKEN), "no secret in list_sites");
}

#[test]
fn network_commands_without_host_permission_fail_early_and_clearly() {
    let mut w = World::new();
    populate(&w.gw, 2);
    let site = w.add_site("s");
    w.browser.granted.borrow_mut().clear();
    for c in [
        start_all(&site),
        Command::TestSite { site: site.clone() },
        Command::ListChannels { site: site.clone() },
    ] {
        let r = w.cmd(c);
        let (class, msg) = error_of(&r);
        assert_eq!(class, "permission");
        assert_eq!(
            msg,
            "msync has no permission to reach http://127.0.0.1:3000; grant it on the Sites page"
        );
    }
    w.settle();
    assert!(w.gw.writes().is_empty());
    assert!(w.gw.calls().is_empty(), "no request was made");
    let Reply::Status { sites } = w.cmd(Command::GetStatus) else {
        panic!()
    };
    assert!(!sites[0].host_permission);
}

#[test]
fn removing_a_site_removes_its_settings_history_and_alarm() {
    let mut w = World::new();
    populate(&w.gw, 2);
    let a = w.add_site("a");
    let b = w.add_site("b");
    for s in [&a, &b] {
        w.cmd(Command::SaveSettings {
            site: s.clone(),
            settings: auto(60, true),
        });
        run_id(w.cmd(start_all(s)));
        w.settle();
    }
    assert_eq!(w.runs(&a).len(), 1);
    assert_eq!(w.cmd(Command::RemoveSite { site: a.clone() }), Reply::Ok);
    let keys: Vec<String> = w.store.snapshot().keys().cloned().collect();
    assert!(
        keys.iter().all(|k| !k.contains("/a/") && k != "settings/a"),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("sync/b/")),
        "the other site keeps its history"
    );
    assert!(!w.browser.alarms.borrow().contains_key("msync:sync:a"));
    assert!(w.browser.alarms.borrow().contains_key("msync:sync:b"));
    let r = w.cmd(Command::RemoveSite { site: a });
    assert_eq!(error_of(&r).0, "not_found");
}

// ----- settings ---------------------------------------------------------------------------

#[test]
fn settings_are_validated_and_rearm_the_alarm_without_drift() {
    let mut w = World::new();
    let site = w.add_site("s");
    let mut bad = SyncSettings::default();
    bad.rate.rpm = 0;
    bad.concurrency = 99;
    let r = w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: bad,
    });
    let Reply::Invalid { issues } = r else {
        panic!("{r:?}")
    };
    assert_eq!(issues.len(), 2);
    assert!(w.browser.alarms.borrow().is_empty());

    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(120, true),
    });
    let first = w.browser.alarms.borrow()["msync:sync:s"].clone();
    assert_eq!(first.period_minutes, Some(120.0));
    assert_eq!(w.browser.alarm_creations.get(), 1);

    // Unrelated change and a worker start keep the alarm (and its next time) as it is.
    let mut s2 = auto(120, false);
    s2.concurrency = 4;
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: s2,
    });
    let env = w.env.clone();
    w.pool.run_until(env.start()).unwrap();
    assert_eq!(w.browser.alarms.borrow()["msync:sync:s"], first);
    assert_eq!(
        w.browser.alarm_creations.get(),
        2,
        "only the housekeeping alarm was added"
    );
    assert!(w
        .browser
        .alarms
        .borrow()
        .contains_key(schedule::HOUSEKEEPING_ALARM));

    // A new interval re-arms; turning auto-sync off clears.
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(60, true),
    });
    assert_eq!(
        w.browser.alarms.borrow()["msync:sync:s"].period_minutes,
        Some(60.0)
    );
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: SyncSettings::default(),
    });
    assert!(!w.browser.alarms.borrow().contains_key("msync:sync:s"));

    // An alarm of a site that no longer exists is cleared at start.
    w.browser.alarms.borrow_mut().insert(
        "msync:sync:gone".into(),
        AlarmInfo {
            name: "msync:sync:gone".into(),
            scheduled_ms: 0.0,
            period_minutes: Some(60.0),
        },
    );
    let env = w.env.clone();
    w.pool.run_until(env.start()).unwrap();
    assert!(!w.browser.alarms.borrow().contains_key("msync:sync:gone"));
}

#[test]
fn alarms_are_armed_afresh_after_the_clock_is_set_back_or_jumps_forward() {
    let mut w = World::new();
    let site = w.add_site("s");
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(120, false),
    });
    let armed = w.browser.alarms.borrow()["msync:sync:s"].clone();
    let creations = w.browser.alarm_creations.get();
    // Alarms live in wall time: a clock jump shows as an alarm too far ahead or overdue.
    let restart_with = |w: &mut World, scheduled_ms: f64| {
        let now = w.env.clock.now_ms() as f64;
        w.browser.now.set(now);
        let mut a = armed.clone();
        a.scheduled_ms = scheduled_ms;
        w.browser.alarms.borrow_mut().insert(a.name.clone(), a);
        let env = w.env.clone();
        w.pool.run_until(env.start()).unwrap();
        (now, w.browser.alarms.borrow()["msync:sync:s"].clone())
    };
    let period_ms = 120.0 * 60_000.0;
    // A restart with the alarm due within the period keeps it (no drift).
    let (_, kept) = restart_with(&mut w, armed.scheduled_ms);
    assert_eq!(kept, armed);
    assert_eq!(
        w.browser.alarm_creations.get(),
        creations + 1,
        "+ housekeeping"
    );

    // The system clock set back a day: the alarm is a day further out than a period; armed
    // afresh, one period from now.
    let (now, again) = restart_with(&mut w, armed.scheduled_ms + 86_400_000.0);
    assert_eq!(again.scheduled_ms, now + period_ms);
    assert_eq!(again.period_minutes, Some(120.0));

    // Woken a day later without the alarm having fired: it fires once, in a minute.
    let (now, woke) = restart_with(&mut w, armed.scheduled_ms - 86_400_000.0);
    assert_eq!(woke.scheduled_ms, now + 60_000.0);
    assert_eq!(woke.period_minutes, Some(120.0));
}

#[test]
fn excluded_channels_are_persisted_and_skipped() {
    let mut w = World::new();
    populate(&w.gw, 3);
    let site = w.add_site("s");
    let r = w.cmd(Command::SetChannelExcluded {
        site: site.clone(),
        channel: ChannelId("2".into()),
        excluded: true,
    });
    let Reply::Settings { settings } = r else {
        panic!("{r:?}")
    };
    assert!(settings.channels["2"].excluded);
    let run = run_id(w.cmd(start_all(&site)));
    w.settle();
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site: site.clone(),
        run: Some(run),
        filter: ItemFilter {
            statuses: vec![ItemStatus::Skipped],
            text: String::new(),
        },
    }) else {
        panic!()
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].channel_id.0, "2");
    assert_eq!(w.gw.write_counts().get(&ChannelId("2".into())), None);
    // Including it again removes the (now default) per-channel entry.
    let Reply::Settings { settings } = w.cmd(Command::SetChannelExcluded {
        site,
        channel: ChannelId("2".into()),
        excluded: false,
    }) else {
        panic!()
    };
    assert!(!settings.channels.contains_key("2"));
}

#[test]
fn settings_export_leaves_secrets_out_unless_asked_and_import_refuses_bad_files_unchanged() {
    let mut w = World::new();
    let site = w.add_site("s");
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(90, true),
    });
    let Reply::Export {
        content, filename, ..
    } = w.cmd(Command::ExportSettings {
        include_secrets: false,
    })
    else {
        panic!()
    };
    assert_eq!(filename, "msync-settings.json");
    assert!(!content.contains(TOKEN));
    let Reply::Export { content: with, .. } = w.cmd(Command::ExportSettings {
        include_secrets: true,
    }) else {
        panic!()
    };
    assert!(with.contains(TOKEN));

    let before = w.store.snapshot();
    let newer = content.replace(
        "\"version\": 1,\n  \"exported_ms\"",
        "\"version\": 7,\n  \"exported_ms\"",
    );
    assert_ne!(newer, content);
    let mut broken_setting = content.clone();
    broken_setting = broken_setting.replace("\"concurrency\": 2", "\"concurrency\": 0");
    assert_ne!(broken_setting, content);
    let damaged = "{\"format\":\"msync-settings\",\"version\":1,\"sites\":[{\"site\":5}]}";
    for (file, is_why) in [
        (
            "{not json",
            (|r| matches!(r, RunError::FileNotJson { detail } if !detail.is_empty()))
                as fn(&RunError) -> bool,
        ),
        ("{\"sites\": []}", |r| *r == RunError::FileNotSettings),
        (newer.as_str(), |r| {
            *r == RunError::FileTooNew {
                version: 7,
                max: transfer::FILE_VERSION,
            }
        }),
        (damaged, |r| matches!(r, RunError::FileDamaged { .. })),
    ] {
        let r = w.cmd(Command::ImportSettings {
            content: file.into(),
            confirm_auto_sync: false,
        });
        let (class, msg) = error_of(&r);
        assert_eq!(class, "validation");
        assert!(msg.to_lowercase().contains("nothing was imported"), "{msg}");
        let why = reason_of(&r);
        assert!(why.is_some_and(is_why), "{why:?}");
    }
    let r = w.cmd(Command::ImportSettings {
        content: broken_setting,
        confirm_auto_sync: false,
    });
    let Reply::Invalid { issues } = r else {
        panic!("{r:?}")
    };
    assert_eq!(issues[0].field, "sites[0].settings.concurrency");
    assert_eq!(
        w.store.snapshot(),
        before,
        "nothing changed by refused imports"
    );

    // A file without secrets over the same site keeps the stored token; settings are replaced.
    let renamed = content.replace("\"interval_minutes\": 90", "\"interval_minutes\": 180");
    let r = w.cmd(Command::ImportSettings {
        content: renamed,
        confirm_auto_sync: false,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
    assert!(w.store.snapshot()[KEY_SITES].contains(TOKEN));
    assert_eq!(
        w.browser.alarms.borrow()["msync:sync:s"].period_minutes,
        Some(180.0)
    );
}

/// Issue 20 item 10: an imported settings file gets Save Site's checks (unique names, the
/// credentials the site type needs) and a size cap; a refused import changes nothing.
#[test]
fn settings_import_checks_sites_like_save_site_and_caps_the_size() {
    let mut w = World::new();
    let site = w.add_site("s");
    let Reply::Export { content, .. } = w.cmd(Command::ExportSettings {
        include_secrets: false,
    }) else {
        panic!()
    };
    let before = w.store.snapshot();
    let mut file: serde_json::Value = serde_json::from_str(&content).unwrap();
    let stored_name = file["sites"][0]["site"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // A second site under another id with the stored site's name, and no token.
    let mut other = file["sites"][0].clone();
    other["site"]["id"] = "other".into();
    other["site"]["base_url"] = "http://127.0.0.1:4000".into();
    file["sites"].as_array_mut().unwrap().push(other);
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: false,
    });
    let Reply::Invalid { issues } = r else {
        panic!("{r:?}")
    };
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert!(fields.contains(&"sites[1].site.name"), "{issues:?}");
    assert!(
        fields.contains(&"sites[1].site.credentials.token"),
        "{issues:?}"
    );
    assert!(
        issues.iter().any(|i| i.message.contains(&stored_name)),
        "{issues:?}"
    );
    // The stored site itself, without secrets, still imports (it keeps its token).
    assert_eq!(w.store.snapshot(), before, "nothing changed");
    let r = w.cmd(Command::ImportSettings {
        content: content.clone(),
        confirm_auto_sync: false,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
    let _ = site;

    // Larger than the cap: refused before parsing.
    let padded = format!(
        "{}{}",
        content,
        " ".repeat(super::transfer::MAX_FILE_BYTES as usize)
    );
    let r = w.cmd(Command::ImportSettings {
        content: padded,
        confirm_auto_sync: false,
    });
    let (class, msg) = error_of(&r);
    assert_eq!(class, "validation");
    assert!(
        msg.contains("MiB") && msg.contains("nothing was imported"),
        "{msg}"
    );
}

/// Issue 20 item 10: a file that turns auto-sync on under settings that remove models
/// unattended is not imported until the user confirms it.
#[test]
fn settings_import_asks_before_turning_on_destructive_auto_sync() {
    let mut w = World::new();
    w.add_site("s");
    let Reply::Export { content, .. } = w.cmd(Command::ExportSettings {
        include_secrets: false,
    }) else {
        panic!()
    };
    let mut file: serde_json::Value = serde_json::from_str(&content).unwrap();
    file["sites"][0]["settings"]["auto_sync"]["enabled"] = true.into();
    file["sites"][0]["settings"]["allow_empty"] = true.into();
    let before = w.store.snapshot();
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: false,
    });
    let Reply::ImportNeedsConfirmation { sites } = r else {
        panic!("{r:?}")
    };
    assert_eq!(sites.len(), 1);
    assert_eq!(
        sites[0].settings,
        [msync_core::settings::DestructiveSetting::AllowEmpty]
    );
    assert_eq!(
        w.store.snapshot(),
        before,
        "nothing saved before confirming"
    );
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: true,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
    // Auto-sync already on: importing it again asks nothing.
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: false,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
}

/// Issue 19: a file that turns on the price watch's unattended apply (scheduled writes of the
/// site's prices) is not imported until the user confirms it, and the confirmation names the
/// guardrails the file loosens.
#[test]
fn settings_import_asks_before_turning_on_unattended_price_apply() {
    use msync_core::protocol::UnattendedJob;
    use msync_core::settings::DestructiveSetting as D;
    let mut w = World::new();
    w.add_site("s");
    let Reply::Export { content, .. } = w.cmd(Command::ExportSettings {
        include_secrets: false,
    }) else {
        panic!()
    };
    let mut file: serde_json::Value = serde_json::from_str(&content).unwrap();
    file["sites"][0]["settings"]["price_watch"] = serde_json::json!({
        "enabled": true,
        "upstream": {"id": 1, "name": "up", "base_url": "https://up.example.com", "endpoint": "/api/pricing"},
        "interval_minutes": 60,
        "apply": {"enabled": true, "max_raise_pct": 20, "new_models": true, "only_confident": true}
    });
    let before = w.store.snapshot();
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: false,
    });
    let Reply::ImportNeedsConfirmation { sites } = r else {
        panic!("{r:?}")
    };
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0].job, UnattendedJob::PriceWatchApply);
    assert_eq!(sites[0].interval_minutes, 60);
    assert_eq!(
        sites[0].settings,
        [D::PriceRaises { max_raise_pct: 20 }, D::PricesNewModels]
    );
    assert_eq!(
        w.store.snapshot(),
        before,
        "nothing saved before confirming"
    );
    // The watch alone (no unattended apply) asks nothing.
    let mut watch_only = file.clone();
    watch_only["sites"][0]["settings"]["price_watch"]["apply"]["enabled"] = false.into();
    let r = w.cmd(Command::ImportSettings {
        content: watch_only.to_string(),
        confirm_auto_sync: false,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: true,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
    // Already on: importing it again asks nothing.
    let r = w.cmd(Command::ImportSettings {
        content: file.to_string(),
        confirm_auto_sync: false,
    });
    assert!(matches!(r, Reply::Sites { .. }), "{r:?}");
}

// ----- runs -------------------------------------------------------------------------------

#[test]
fn a_run_writes_reports_progress_and_sets_the_badge() {
    let mut w = World::new();
    populate(&w.gw, 4);
    w.gw.fail_fetch(
        3,
        vec![Error::new(ErrorClass::Auth, "upstream key rejected").with_status(401)],
    );
    let site = w.add_site("s");
    let run = run_id(w.cmd(start_all(&site)));
    w.settle();
    let counts = w.gw.write_counts();
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|n| *n == 1));
    assert_eq!(w.gw.channel(1).unwrap().models, vec!["a", "b", "c"]);
    let events = w.browser.events.borrow().clone();
    assert!(events.iter().any(|e| matches!(e, Event::Progress { .. })));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Item { .. }))
            .count(),
        4
    );
    let Some(Event::RunFinished { head, .. }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(head.id, run);
    assert_eq!(head.totals.failed, 1);
    assert_eq!(*w.browser.badge.borrow(), "1");
    assert!(
        w.browser.notes.borrow().is_empty(),
        "no notification after a manual run"
    );
    assert!(!w.env.is_active(&site));

    // Retry failed: the badge clears when the failure is gone.
    let r = w.cmd(Command::StartRun {
        site: site.clone(),
        selection: Selection::FailedOnly,
        dry_run: false,
    });
    run_id(r);
    w.settle();
    assert_eq!(*w.browser.badge.borrow(), "");

    // Status, history, exports.
    let Reply::Status { sites } = w.cmd(Command::GetStatus) else {
        panic!()
    };
    assert!(sites[0].host_permission);
    assert!(sites[0].running.is_none());
    assert_eq!(sites[0].last_run.as_ref().unwrap().trigger, Trigger::Retry);
    let Reply::Runs { runs } = w.cmd(Command::ListRuns { site: site.clone() }) else {
        panic!()
    };
    assert_eq!(runs.len(), 2);
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site: site.clone(),
        run: Some(run.clone()),
        filter: ItemFilter {
            statuses: vec![],
            text: "REJECTED".into(),
        },
    }) else {
        panic!()
    };
    assert_eq!(items.len(), 1);
    for format in [ExportFormat::Json, ExportFormat::Csv] {
        let Reply::Export {
            content, filename, ..
        } = w.cmd(Command::ExportRun {
            site: site.clone(),
            run: run.clone(),
            format,
        })
        else {
            panic!()
        };
        assert!(filename.starts_with("msync-s-"));
        assert!(content.contains("ch3"));
        assert!(!content.contains(TOKEN));
    }
}

#[test]
fn dry_run_then_apply_then_revert() {
    let mut w = World::new();
    populate(&w.gw, 2);
    let site = w.add_site("s");
    let plan = run_id(w.cmd(Command::StartRun {
        site: site.clone(),
        selection: Selection::All,
        dry_run: true,
    }));
    w.settle();
    assert!(w.gw.writes().is_empty(), "a dry run writes nothing");
    let applied = run_id(w.cmd(Command::ApplyPlan {
        site: site.clone(),
        run: plan,
        channels: None,
        force: false,
    }));
    w.settle();
    assert_eq!(w.gw.writes().len(), 2);
    run_id(w.cmd(Command::Revert {
        site: site.clone(),
        run: applied,
        channel: Some(ChannelId("1".into())),
        force: false,
    }));
    w.settle();
    assert_eq!(w.gw.channel(1).unwrap().models, vec!["a", "b"]);
    assert_eq!(w.gw.channel(2).unwrap().models, vec!["a", "b", "c"]);
    let r = w.cmd(Command::ApplyPlan {
        site,
        run: msync_core::engine::record::RunId("nope".into()),
        channels: None,
        force: false,
    });
    assert_eq!(
        reason_of(&r),
        Some(&RunError::NoStoredPlan {
            run: msync_core::engine::record::RunId("nope".into())
        })
    );
}

#[test]
fn overlapping_runs_are_refused_and_the_scheduled_one_is_recorded_as_skipped() {
    let mut w = World::new();
    populate(&w.gw, 3);
    let site = w.add_site("s");
    // No channel time limit: the instant clock would expire it while the gate holds a fetch.
    let mut settings = auto(60, true);
    settings.channel_timeout_secs = 0;
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings,
    });
    w.gate.close();
    let first = run_id(w.cmd(start_all(&site)));
    w.settle();
    assert!(w.env.is_active(&site));
    let Reply::Status { sites } = w.cmd(Command::GetStatus) else {
        panic!()
    };
    assert_eq!(sites[0].running.as_ref().unwrap().run, first);
    assert!(sites[0].next_run_ms.is_some());

    let again = w.cmd(start_all(&site));
    assert!(error_of(&again).1.contains("in progress"), "{again:?}");
    assert!(
        matches!(reason_of(&again), Some(RunError::RunInProgress { run: Some(r), .. }) if *r == first),
        "{again:?}"
    );
    let env = w.env.clone();
    w.pool.run_until(env.on_alarm("msync:sync:s")).unwrap();

    w.gate.open();
    w.settle();
    let runs = w.runs(&site);
    assert_eq!(runs.len(), 2, "{runs:?}");
    let skipped = runs.iter().find(|h| h.state == RunState::Skipped).unwrap();
    assert_eq!(skipped.trigger, Trigger::Scheduled);
    assert!(matches!(
        skipped.note,
        Some(msync_core::reason::RunNote::ScheduledSkipped { .. })
    ));
    let done = runs.iter().find(|h| h.id == first).unwrap();
    assert_eq!(done.state, RunState::Finished);
    assert!(w.gw.write_counts().values().all(|n| *n == 1));
    assert!(
        w.browser.notes.borrow().is_empty(),
        "skipped runs do not notify"
    );
}

#[test]
fn scheduled_runs_notify_when_enabled_and_never_with_secrets() {
    for notify in [true, false] {
        let mut w = World::new();
        populate(&w.gw, 2);
        let site = w.add_site("s");
        w.cmd(Command::SaveSettings {
            site: site.clone(),
            settings: auto(60, notify),
        });
        let env = w.env.clone();
        w.pool.run_until(env.on_alarm("msync:sync:s")).unwrap();
        w.settle();
        let runs = w.runs(&site);
        assert_eq!(runs[0].trigger, Trigger::Scheduled);
        assert_eq!(runs[0].state, RunState::Finished);
        let notes = w.browser.notes.borrow().clone();
        if notify {
            assert_eq!(notes.len(), 1);
            assert_eq!(notes[0].0, "msync: Site s: sync finished");
            assert_eq!(
                notes[0].1,
                "2 channels: 2 updated, 0 unchanged, 0 failed, 0 skipped, 0 to review"
            );
        } else {
            assert!(notes.is_empty());
        }
    }
}

#[test]
fn a_scheduled_run_without_permission_notifies_and_writes_nothing() {
    let mut w = World::new();
    populate(&w.gw, 2);
    let site = w.add_site("s");
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(60, true),
    });
    w.browser.granted.borrow_mut().clear();
    let env = w.env.clone();
    let err = w.pool.run_until(env.on_alarm("msync:sync:s")).unwrap_err();
    assert_eq!(err.class, ErrorClass::Permission);
    let notes = w.browser.notes.borrow().clone();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1.contains("grant it on the Sites page"));
    assert!(!notes[0].1.contains(TOKEN));
    assert!(w.gw.calls().is_empty());
    // The history says why the schedule did nothing.
    let runs = w.runs(&site);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Failed);
    assert_eq!(runs[0].trigger, Trigger::Scheduled);
    assert_eq!(
        runs[0].error.as_ref().map(|e| e.class),
        Some(ErrorClass::Permission)
    );
    assert!(runs[0].queue.is_empty());
}

#[test]
fn cancel_closes_the_run_and_releases_the_site() {
    let mut w = World::new();
    populate(&w.gw, 3);
    let site = w.add_site("s");
    let settings = SyncSettings {
        channel_timeout_secs: 0,
        ..Default::default()
    };
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings,
    });
    w.gate.close();
    let run = run_id(w.cmd(start_all(&site)));
    w.settle();
    assert_eq!(w.cmd(Command::CancelRun { site: site.clone() }), Reply::Ok);
    w.settle();
    assert!(!w.env.is_active(&site));
    let head = w.runs(&site).into_iter().find(|h| h.id == run).unwrap();
    assert_eq!(head.state, RunState::Cancelled);
    assert_eq!(head.note, Some(msync_core::reason::RunNote::Cancelled));
    assert!(w.gw.writes().is_empty());
    let r = w.cmd(Command::CancelRun { site: site.clone() });
    assert_eq!(reason_of(&r), Some(&RunError::NoRunInProgress));
    // Nothing left to resume; a new run starts at once.
    w.gate.open();
    let env = w.env.clone();
    assert!(w.pool.run_until(env.resume_all()).is_empty());
    run_id(w.cmd(start_all(&site)));
    w.settle();
    assert_eq!(w.gw.writes().len(), 3);
}

#[test]
fn a_run_interrupted_by_a_worker_stop_resumes_on_start_without_double_writes() {
    let mut w = World::new();
    populate(&w.gw, 6);
    let site = w.add_site("s");
    let settings = SyncSettings {
        concurrency: 1,
        channel_timeout_secs: 0,
        ..Default::default()
    };
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings,
    });
    // Let two channels through, then hold the third.
    w.gate.hold_from.set(Some(3));
    w.gate.close();
    let run = run_id(w.cmd(start_all(&site)));
    w.settle();
    assert_eq!(w.gw.writes().len(), 2);
    assert!(w
        .browser
        .alarms
        .borrow()
        .contains_key(schedule::RESUME_ALARM));
    let alarms = w.browser.alarms.borrow().clone();

    // The worker is stopped: its tasks are gone. A new one starts over the same storage.
    let mut w = w.restart();
    *w.browser.alarms.borrow_mut() = alarms;
    w.browser
        .granted
        .borrow_mut()
        .push("http://127.0.0.1/*".into());
    w.gate.hold_from.set(None);
    w.gate.open();
    let env = w.env.clone();
    w.pool.run_until(env.start()).unwrap();
    w.settle();
    let runs = w.runs(&site);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run);
    assert_eq!(runs[0].state, RunState::Finished);
    assert_eq!(runs[0].trigger, Trigger::Resume);
    assert_eq!(runs[0].totals.success, 6);
    assert_eq!(w.gw.writes().len(), 6);
    assert!(w.gw.write_counts().values().all(|n| *n == 1));
    assert!(
        !w.browser
            .alarms
            .borrow()
            .contains_key(schedule::RESUME_ALARM),
        "resume alarm dropped when idle"
    );
}

#[test]
fn secrets_live_only_in_the_site_record() {
    let mut w = World::new();
    populate(&w.gw, 2);
    w.gw.fail_fetch(
        2,
        vec![Error::new(
            ErrorClass::Upstream,
            format!("bad key {}", "upstream-xyz"),
        )],
    );
    let site = w.add_site("s");
    w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: auto(60, true),
    });
    run_id(w.cmd(start_all(&site)));
    w.settle();
    for (k, v) in w.all_storage_text() {
        if k != KEY_SITES {
            assert!(!v.contains(TOKEN), "secret in {k}");
        }
    }
    let events = serde_json::to_string(&*w.browser.events.borrow()).unwrap();
    assert!(!events.contains(TOKEN));
}

#[test]
fn malformed_messages_get_validation_errors() {
    let mut w = World::new();
    for text in [
        r#""format_disk""#,
        r#"{"format_disk": {}}"#,
        r#"{"nope": 1}"#,
        r#"{"start_run": {"site": "s"}}"#,
        // the internally tagged form of before (a page left open across an update)
        r#"{"cmd": "ping"}"#,
        r#""text""#,
        "{not json",
    ] {
        let r = w.message(text).expect("an answer");
        assert_eq!(error_of(&r).0, "validation", "{text}");
    }
    // well-formed messages, with and without fields
    let Some(Reply::Pong { .. }) = w.message(r#""ping""#) else {
        panic!("no pong")
    };
    let r = w
        .message(r#"{"get_run": {"site": "x"}}"#)
        .expect("an answer");
    assert_eq!(error_of(&r).0, "not_found");
    // the worker's own broadcasts are no commands and get no answer
    let event = r#"{"event": {"run_finished": {"site": "x", "head": {}}}}"#;
    assert_eq!(w.message(event), None);
    let r = w.cmd(Command::GetRun {
        site: SiteId("x".into()),
        run: None,
        filter: ItemFilter::default(),
    });
    assert_eq!(error_of(&r).0, "not_found");
}

// ----- storage schema ---------------------------------------------------------------------

fn block<T>(f: impl Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

#[test]
fn a_fresh_install_starts_at_the_current_schema() {
    let w = World::new();
    let meta = block(w.env.record_start()).unwrap();
    assert_eq!(meta.schema, SCHEMA_VERSION);
    assert_eq!(meta.starts, 1);
    assert_eq!(meta.version, "1.2.3");
    let again = block(w.env.record_start()).unwrap();
    assert_eq!(again.starts, 2);
    assert_eq!(again.installed_at, meta.installed_at);
}

const V1_SITES: &str = r#"[{"id":"old","name":"Old","kind":"new-api","base_url":" http://127.0.0.1:3000/ ","credentials":{"token":"sk-v1-secret","user_id":1}}]"#;

#[test]
fn migration_1_to_2_normalizes_urls_and_adds_settings() {
    for with_meta in [true, false] {
        let w = World::new();
        block(async {
            if with_meta {
                w.store
                    .set(KEY_META, r#"{"schema":1,"version":"0.1.0","installed_at":5,"last_start":5,"starts":3}"#.into())
                    .await
                    .unwrap();
            }
            w.store.set(KEY_SITES, V1_SITES.into()).await.unwrap();
        });
        let meta = block(w.env.record_start()).unwrap();
        assert_eq!(meta.schema, SCHEMA_VERSION);
        assert_eq!(meta.starts, if with_meta { 4 } else { 1 });
        let sites = block(w.env.sites()).unwrap();
        assert_eq!(sites[0].base_url, "http://127.0.0.1:3000");
        assert_eq!(
            sites[0].credentials.token().unwrap().expose(),
            "sk-v1-secret"
        );
        assert!(w.store.snapshot().contains_key("settings/old"));
        // A New API site's defaults: its site bucket under New API's own rate limit.
        assert_eq!(
            block(w.env.settings(&SiteId("old".into()))).unwrap(),
            SyncSettings::for_site(SiteKind::NewApi)
        );
    }
}

#[test]
fn migration_1_to_2_keeps_existing_settings() {
    let w = World::new();
    let custom = auto(60, false);
    block(async {
        w.store
            .set(
                KEY_META,
                r#"{"schema":1,"version":"0.1.0","installed_at":5,"last_start":5,"starts":1}"#
                    .into(),
            )
            .await
            .unwrap();
        w.store.set(KEY_SITES, V1_SITES.into()).await.unwrap();
        w.store
            .set("settings/old", serde_json::to_string(&custom).unwrap())
            .await
            .unwrap();
    });
    block(w.env.record_start()).unwrap();
    assert_eq!(
        block(w.env.settings(&SiteId("old".into()))).unwrap(),
        custom
    );
}

/// `extension/background.js` does not order the pages' messages after `on_startup`: a command
/// that arrives first waits for the migration instead of reading (or writing back) schema-1
/// data, and the start that follows neither migrates nor counts the start again.
#[test]
fn a_command_before_the_start_waits_for_the_migration() {
    let mut w = World::new();
    block(w.store.set(KEY_SITES, V1_SITES.into())).unwrap();
    match w.cmd(Command::ListSites) {
        Reply::Sites { sites } => assert_eq!(sites[0].base_url, "http://127.0.0.1:3000"),
        other => panic!("{other:?}"),
    }
    assert!(w.store.snapshot().contains_key("settings/old"));
    let env = w.env.clone();
    let meta = w.pool.run_until(async move { env.start().await }).unwrap();
    assert_eq!((meta.schema, meta.starts), (SCHEMA_VERSION, 1));
}

/// Storage a newer msync wrote is refused to commands and alarms too, not only to the start.
#[test]
fn commands_and_alarms_refuse_storage_from_a_newer_version() {
    let mut w = World::new();
    block(w.store.set(
        KEY_META,
        r#"{"schema":99,"version":"9","installed_at":1,"last_start":1,"starts":1}"#.into(),
    ))
    .unwrap();
    block(w.store.set(KEY_SITES, V1_SITES.into())).unwrap();
    let before = w.store.snapshot();
    let r = w.cmd(Command::RemoveSite {
        site: SiteId("old".into()),
    });
    assert_eq!(error_of(&r).0, "validation");
    let env = w.env.clone();
    let alarm = w
        .pool
        .run_until(async move { env.on_alarm(schedule::RESUME_ALARM).await });
    assert!(alarm.is_err());
    assert_eq!(w.store.snapshot(), before);
}

#[test]
fn storage_from_a_newer_version_is_refused_unchanged() {
    let w = World::new();
    block(w.store.set(
        KEY_META,
        r#"{"schema":99,"version":"9","installed_at":1,"last_start":1,"starts":1}"#.into(),
    ))
    .unwrap();
    let before = w.store.snapshot();
    let err = block(w.env.record_start()).unwrap_err();
    assert!(err.message.contains("newer msync"), "{}", err.message);
    assert_eq!(w.store.snapshot(), before);
}

/// Records and settings stored at schema 3 (enums internally tagged, `{"kind": "excluded"}`)
/// are read after the 3 → 4 step, which writes serde's default form (`msync_types::stored`;
/// every variant's two forms are pinned in crates/types/tests/stored_forms.rs).
#[test]
fn migration_3_to_4_keeps_tagged_records_and_sinks_readable() {
    use msync_core::notify::Sink;
    use msync_core::reason::{GaveUp, ItemReason, RunNote, SkipReason};
    let mut w = World::new();
    let sites = r#"[{"id":"s3","name":"s3","kind":"new-api","base_url":"http://127.0.0.1:3000","credentials":{"token":"tok","user_id":1}}]"#;
    let run = "1796375869742-0000";
    block(async {
        for (key, value) in [
            (
                KEY_META.to_string(),
                r#"{"schema":3,"version":"0.1.0","installed_at":5,"last_start":5,"starts":3}"#,
            ),
            (KEY_SITES.to_string(), sites),
            (
                format!("sync/s3/run/{run}/head"),
                include_str!("../../../types/tests/schema3/revert_head.json"),
            ),
            (
                format!("sync/s3/run/{run}/item/3"),
                include_str!("../../../types/tests/schema3/item_excluded.json"),
            ),
            (
                format!("sync/s3/run/{run}/item/4"),
                include_str!("../../../types/tests/schema3/item_timeout.json"),
            ),
            (
                notify::KEY_NOTIFY.to_string(),
                include_str!("../../../types/tests/schema3/notify.json"),
            ),
        ] {
            w.store.set(&key, value.to_string()).await.unwrap();
        }
    });
    let meta = block(w.env.record_start()).unwrap();
    assert_eq!(meta.schema, SCHEMA_VERSION);
    let site = SiteId("s3".into());
    let Reply::Run { head, items } = w.cmd(Command::GetRun {
        site,
        run: Some(msync_core::engine::record::RunId(run.into())),
        filter: ItemFilter::default(),
    }) else {
        panic!("no run")
    };
    let of = msync_core::engine::record::RunId("1796375859584-0000".into());
    assert_eq!(head.note, Some(RunNote::RevertOf { run: of.clone() }));
    assert_eq!(
        head.job,
        msync_core::engine::record::Job::Revert { of, force: false }
    );
    assert_eq!(
        items[0].reason,
        Some(ItemReason::Skip(SkipReason::Excluded))
    );
    assert_eq!(
        items[1].error_reason,
        Some(RunError::ChannelTimeout { secs: 60 })
    );
    assert_eq!(items[1].gave_up, Some(GaveUp::NoTimeLeft { secs: 60 }));
    let Reply::Notify { settings, secrets } = w.cmd(Command::GetNotify) else {
        panic!("no notify settings")
    };
    assert_eq!(secrets, [true, false]);
    assert!(
        matches!(&settings.sinks[0].sink, Sink::Webhook { url, .. } if url == "https://hooks.example/x")
    );
    assert!(matches!(&settings.sinks[1].sink, Sink::Ntfy { topic, .. } if topic == "t"));
}

/// A run stored by the worker at schema 2 (English reasons and notes; the same JSON the CLI
/// stores, see crates/types/tests/schema2.rs) is read after the 2 → 3 step with typed reasons.
#[test]
fn migration_2_to_3_keeps_stored_runs_readable_with_typed_reasons() {
    use msync_core::reason::{ItemReason, ReviewReason, RunNote, SkipReason};
    let mut w = World::new();
    let sites = r#"[{"id":"s2","name":"s2","kind":"new-api","base_url":"http://127.0.0.1:3000","credentials":{"token":"tok","user_id":1}}]"#;
    let sync = "1796375859584-0000";
    let revert = "1796375869742-0000";
    block(async {
        w.store
            .set(
                KEY_META,
                r#"{"schema":2,"version":"0.1.0","installed_at":5,"last_start":5,"starts":3}"#
                    .to_string(),
            )
            .await
            .unwrap();
        w.store.set(KEY_SITES, sites.to_string()).await.unwrap();
        w.store
            .set(
                &format!("sync/s2/run/{sync}/head"),
                include_str!("../../../types/tests/schema2/sync_head.json").to_string(),
            )
            .await
            .unwrap();
        w.store
            .set(
                &format!("sync/s2/run/{sync}/item/3"),
                include_str!("../../../types/tests/schema2/item_excluded.json").to_string(),
            )
            .await
            .unwrap();
        w.store
            .set(
                &format!("sync/s2/run/{sync}/item/4"),
                include_str!("../../../types/tests/schema2/item_review.json").to_string(),
            )
            .await
            .unwrap();
        w.store
            .set(
                &format!("sync/s2/run/{revert}/head"),
                include_str!("../../../types/tests/schema2/revert_head.json").to_string(),
            )
            .await
            .unwrap();
    });
    let meta = block(w.env.record_start()).unwrap();
    assert_eq!(meta.schema, SCHEMA_VERSION);
    let site = SiteId("s2".into());
    let Reply::Runs { runs } = w.cmd(Command::ListRuns { site: site.clone() }) else {
        panic!("no run list")
    };
    let revert_head = runs.iter().find(|h| h.id.0 == revert).unwrap();
    assert_eq!(
        revert_head.note,
        Some(RunNote::RevertOf {
            run: msync_core::engine::record::RunId(sync.into())
        })
    );
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site,
        run: Some(msync_core::engine::record::RunId(sync.into())),
        filter: ItemFilter::default(),
    }) else {
        panic!("no run")
    };
    let reasons: Vec<_> = items.iter().filter_map(|i| i.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            ItemReason::Review(ReviewReason::OverThreshold {
                removed: 1,
                total: 2,
                threshold: 10
            }),
            ItemReason::Skip(SkipReason::Excluded),
        ]
    );
}

#[test]
fn every_schema_step_has_a_migration() {
    assert_eq!(storage::MIGRATIONS.len() as u32, SCHEMA_VERSION - 1);
}

// ----- redirect and ratio -----------------------------------------------------------------

#[test]
fn redirect_commands_preview_and_apply_through_the_worker() {
    let mut w = World::new();
    populate(&w.gw, 2);
    let site = w.add_site("s");
    let Reply::Presets { presets } = w.cmd(Command::ListPresets) else {
        panic!()
    };
    assert!(!presets.is_empty());
    let r = w.cmd(Command::PreviewPrune {
        site: site.clone(),
        channels: None,
    });
    let Reply::RedirectPreview { preview } = r else {
        panic!("{r:?}")
    };
    assert_eq!(preview.channels.len(), 2);
    assert!(w.gw.writes().is_empty(), "a preview writes nothing");
    let r = w.cmd(Command::ApplyRedirect {
        site: site.clone(),
        preview: "not-the-latest".into(),
        channels: None,
        confirm_overwrite_invalid: false,
        confirm_clear: false,
        force: false,
    });
    assert_eq!(
        reason_of(&r),
        Some(&RunError::PreviewStale {
            preview: "not-the-latest".into()
        }),
        "{r:?}"
    );
    w.settle();
    assert!(!w.env.is_active(&site));
    w.browser.granted.borrow_mut().clear();
    let r = w.cmd(Command::PreviewRedirect {
        site: site.clone(),
        channels: None,
        settings: None,
        confirm_overwrite_invalid: false,
    });
    assert_eq!(error_of(&r).0, "permission");
    let r = w.cmd(Command::ListRatioSources { site });
    assert_eq!(
        error_of(&r).0,
        "permission",
        "permission is checked before anything else"
    );
}

#[test]
fn huge_channels_reach_pages_as_previews_and_exports_whole() {
    let mut w = World::new();
    let up: Vec<String> = (0..1_500).map(|i| format!("model-{i}")).collect();
    let up_refs: Vec<&str> = up.iter().map(String::as_str).collect();
    // Only additions, so no removal guard holds the write back.
    w.gw.add(
        fake_channel(1, "big", &["model-0"], Some("https://up.example")),
        &up_refs,
    );
    w.gw.add(
        fake_channel(2, "small", &["a"], Some("https://up2.example")),
        &["a", "b"],
    );
    let site = w.add_site("s");
    let run = run_id(w.cmd(start_all(&site)));
    w.settle();
    assert!(w.gw.channel(1).unwrap().models == up, "written whole");
    let items_sent: Vec<ItemResult> = w
        .browser
        .events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            Event::Item { item, .. } => Some(item.clone()),
            _ => None,
        })
        .collect();
    let big = items_sent.iter().find(|i| i.channel_id.0 == "1").unwrap();
    assert_eq!(big.new.len(), 1_000);
    assert_eq!(big.sizes().new, 1_500);
    let small = items_sent.iter().find(|i| i.channel_id.0 == "2").unwrap();
    assert_eq!(small.lists_cut, None, "ordinary items travel whole");
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site: site.clone(),
        run: Some(run.clone()),
        filter: ItemFilter::default(),
    }) else {
        panic!()
    };
    assert_eq!(items[0].added.len(), 1_000);
    assert_eq!(items[0].sizes().added, 1_499);
    let Reply::Export { content, .. } = w.cmd(Command::ExportRun {
        site,
        run,
        format: ExportFormat::Json,
    }) else {
        panic!()
    };
    assert!(content.contains("model-1499"), "the export has every name");
}

#[test]
fn progress_reaches_pages_throttled_with_the_first_and_last_always_sent() {
    let mut w = World::new();
    populate(&w.gw, 50);
    let site = w.add_site("s");
    run_id(w.cmd(start_all(&site)));
    w.settle();
    let progress: Vec<Progress> = w
        .browser
        .events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            Event::Progress { progress, .. } => Some(progress.clone()),
            _ => None,
        })
        .collect();
    // The engine reported 101 times (start, then each channel's start and finish); the pages get
    // one report per 250 ms of (virtual) time at most, plus the last.
    let span = progress.last().unwrap().elapsed_ms;
    assert!(progress.len() < 101, "{} progress events", progress.len());
    assert!(
        progress.len() as u64 <= 2 + span / 250,
        "{} events in {span} ms",
        progress.len()
    );
    assert_eq!(progress[0].done, 0);
    let last = progress.last().unwrap();
    assert_eq!((last.done, last.total), (50, 50));
    let (_, middle) = progress.split_last().unwrap();
    for pair in middle.windows(2) {
        assert!(pair[1].elapsed_ms - pair[0].elapsed_ms >= 250, "{pair:?}");
    }
}

// ----- All API Hub import (docs/import-all-api-hub.md) -----------------------------------------

#[test]
fn all_api_hub_import_previews_then_creates_and_updates_only_with_consent() {
    use msync_core::import::all_api_hub::{SiteAction, SourceType};
    let mut w = World::new();
    let s = w.add_site("s");
    let Reply::Settings { settings: s_before } = w.cmd(Command::GetSettings { site: s.clone() })
    else {
        panic!()
    };
    // the fixture's New API site has the address of the stored site `s`
    let v4 = include_str!("../../../../tests/fixtures/all-api-hub/v4-full.json")
        .replace("https://newapi.example.com", "http://127.0.0.1:3000");
    let before = w.store.snapshot();
    let r = w.cmd(Command::PreviewAllApiHub {
        content: v4.clone(),
    });
    let Reply::AllApiHubPreview { preview } = r else {
        panic!("{r:?}")
    };
    assert_eq!(w.store.snapshot(), before, "a preview saves nothing");
    let text = serde_json::to_string(&preview).unwrap();
    for secret in [
        "fixture-newapi-admin-token-0001",
        "fixture-octopus-password",
        "fixture-axonhub-password",
        TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} sent to the page");
    }
    let n = preview.plan(SourceType::NewApi).unwrap();
    assert!(matches!(&n.action, SiteAction::Update { existing, .. } if *existing == s));
    assert!(n.credentials_change);

    // refused files are typed and change nothing
    let r = w.cmd(Command::PreviewAllApiHub {
        content: v4[..200].to_string(),
    });
    assert!(
        matches!(
            r,
            Reply::ImportRefused {
                error: msync_core::import::all_api_hub::ImportError::Truncated
            }
        ),
        "{r:?}"
    );

    // confirmed without consent to the update: only the new sites
    let r = w.cmd(Command::ImportAllApiHub {
        content: v4.clone(),
        update: vec![],
    });
    let Reply::AllApiHubImported {
        created,
        updated,
        skipped,
    } = r
    else {
        panic!("{r:?}")
    };
    let names: Vec<&str> = created.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["octopus.example.com", "axonhub.example.com"]);
    assert!(updated.is_empty());
    assert_eq!(skipped, vec!["Site s".to_string()]);
    let Reply::Settings { settings } = w.cmd(Command::GetSettings { site: s.clone() }) else {
        panic!()
    };
    assert_eq!(settings, s_before, "s untouched");
    assert!(w.store.snapshot()[KEY_SITES].contains(TOKEN));
    let Reply::Settings { settings: octo } = w.cmd(Command::GetSettings {
        site: created[0].id.clone(),
    }) else {
        panic!()
    };
    assert_eq!(octo.concurrency, 3);
    assert_eq!(octo.channels["3"].rules.len(), 1);

    // with consent: s is updated (settings and token); the sites created above are now updates
    // without consent, so they are left alone
    let r = w.cmd(Command::ImportAllApiHub {
        content: v4,
        update: vec![s.clone()],
    });
    let Reply::AllApiHubImported {
        created, updated, ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert!(created.is_empty());
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].name, "Site s", "the msync name is kept");
    let Reply::Settings { settings } = w.cmd(Command::GetSettings { site: s.clone() }) else {
        panic!()
    };
    assert_eq!((settings.concurrency, settings.rate.rpm), (3, 60));
    assert!(settings.auto_sync.enabled && settings.redirect.enabled);
    assert_eq!(settings.channels["1"].rules.len(), 1);
    let stored = w.store.snapshot()[KEY_SITES].clone();
    assert!(stored.contains("fixture-newapi-admin-token-0001") && !stored.contains(TOKEN));
    assert_eq!(
        w.browser.alarms.borrow()["msync:sync:s"].period_minutes,
        Some(360.0),
        "auto-sync armed with the imported interval"
    );
}

#[test]
fn the_price_watch_has_its_own_alarm_while_enabled() {
    let mut w = World::new();
    let site = w.add_site("s");
    let mut s = SyncSettings::default();
    s.price_watch.enabled = true;
    s.price_watch.interval_minutes = 90;
    s.price_watch.upstream = Some(Box::new(msync_core::ratio::RatioUpstream {
        id: 0,
        name: "friend".into(),
        base_url: "http://127.0.0.1:9".into(),
        endpoint: "/api/pricing".into(),
    }));
    let r = w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: s.clone(),
    });
    assert!(matches!(r, Reply::Settings { .. }), "{r:?}");
    let a = w.browser.alarms.borrow()["msync:watch:s"].clone();
    assert_eq!(a.period_minutes, Some(90.0));
    assert!(
        !w.browser.alarms.borrow().contains_key("msync:sync:s"),
        "auto-sync is off"
    );
    // Without an upstream the settings are refused; switched off, the alarm goes.
    let mut bad = s.clone();
    bad.price_watch.upstream = None;
    let r = w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings: bad,
    });
    assert!(matches!(r, Reply::Invalid { .. }), "{r:?}");
    s.price_watch.enabled = false;
    w.cmd(Command::SaveSettings { site, settings: s });
    assert!(!w.browser.alarms.borrow().contains_key("msync:watch:s"));
}

/// Issue 21: the worker runs the probe step from the site's settings; a dry run only estimates,
/// applying its plan probes; the pages get the gateway's capability and the channel health.
#[test]
fn probing_through_the_worker_holds_back_a_refused_model() {
    use msync_core::probe::{ChannelTest, ProbeOutcome};
    use msync_core::testing::FakeProbe;
    let mut w = World::new();
    populate(&w.gw, 2);
    w.gw.set_channel_test(ChannelTest::Supported {
        may_disable_channel: false,
        updates_response_time: true,
        logged_as_usage: true,
    });
    w.gw.script_probe("c", FakeProbe::Fail("The model `c` does not exist".into()));
    let site = w.add_site("s");
    let mut settings = SyncSettings::default();
    settings.probe.enabled = true;
    let r = w.cmd(Command::SaveSettings {
        site: site.clone(),
        settings,
    });
    assert!(matches!(r, Reply::Ok | Reply::Settings { .. }), "{r:?}");
    let plan = run_id(w.cmd(Command::StartRun {
        site: site.clone(),
        selection: Selection::All,
        dry_run: true,
    }));
    w.settle();
    assert!(w.gw.probes().is_empty(), "a dry run sends no probe");
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site: site.clone(),
        run: Some(plan.clone()),
        filter: ItemFilter::default(),
    }) else {
        panic!()
    };
    assert_eq!(items[0].probes[0].outcome, ProbeOutcome::WouldProbe);
    run_id(w.cmd(Command::ApplyPlan {
        site: site.clone(),
        run: plan,
        channels: None,
        force: false,
    }));
    w.settle();
    assert_eq!(
        w.gw.probes().len(),
        2,
        "applying the plan probes its additions"
    );
    assert!(w.gw.writes().is_empty(), "the only new model was held back");
    let Reply::Run { items, .. } = w.cmd(Command::GetRun {
        site: site.clone(),
        run: None,
        filter: ItemFilter::default(),
    }) else {
        panic!()
    };
    assert!(items.iter().all(|i| i.probes[0].held_back), "{items:?}");
    let Reply::ProbeInfo {
        channel_test,
        health,
    } = w.cmd(Command::GetProbeInfo { site })
    else {
        panic!()
    };
    assert!(channel_test.is_supported());
    assert_eq!(health.len(), 2);
    assert!(health
        .values()
        .all(|h| h.failures_in_row == 0 && h.last_good_ms.is_some()));
}
