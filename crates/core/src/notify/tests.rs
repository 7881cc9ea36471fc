use super::*;
use crate::gateway::testing::{
    block_on, body_json, header_of, json, text, FakeTransport, VirtualClock,
};
use crate::http::TransportError;
use crate::model::Secret;
use crate::store::MemoryStore;

const BOT: &str = "123456:SECRET-bot-token-abcdef";
const HOOK_KEY: &str = "SECRET-hmac-key-42";
const DAY: u64 = 24 * 3600 * 1000;

fn sinks() -> NotifySettings {
    NotifySettings {
        sinks: vec![
            SinkConfig {
                name: "hook".into(),
                enabled: true,
                events: vec![],
                sites: vec![],
                sink: Sink::Webhook {
                    url: "http://127.0.0.1:9/hook".into(),
                    secret: Secret(HOOK_KEY.into()),
                },
            },
            SinkConfig {
                name: "tg".into(),
                enabled: true,
                events: vec![EventKind::SiteUnreachable, EventKind::PriceChange],
                sites: vec!["prod".into()],
                sink: Sink::Telegram {
                    api_base: "http://127.0.0.1:9/tg".into(),
                    bot_token: Secret(BOT.into()),
                    chat_id: "-100".into(),
                },
            },
            SinkConfig {
                name: "ntfy".into(),
                enabled: true,
                events: vec![EventKind::RunFailed],
                sites: vec![],
                sink: Sink::Ntfy {
                    server: "http://127.0.0.1:9/ntfy".into(),
                    topic: "msync-alerts".into(),
                    token: Secret::default(),
                },
            },
        ],
        ..NotifySettings::default()
    }
}

fn ok_transport() -> Rc<FakeTransport> {
    FakeTransport::new(|r| {
        if r.url.contains("/bot") {
            Ok(json(
                200,
                serde_json::json!({"ok": true, "result": {"message_id": 1}}),
            ))
        } else {
            Ok(text(200, "ok"))
        }
    })
}

fn unreachable(site: &str) -> NotifyEvent {
    NotifyEvent::SiteUnreachable {
        site: site.into(),
        class: ErrorClass::Network,
        message: "connection refused".into(),
        reason: None,
    }
}

#[test]
fn sinks_get_the_events_and_sites_they_chose() {
    let t = ok_transport();
    let clock = VirtualClock::new(1_000);
    let n = Notifier::new(t.clone(), clock, Rc::new(MemoryStore::new()), sinks());
    let d = block_on(n.notify(&unreachable("prod")));
    assert_eq!(
        d.iter().map(|d| d.sink.as_str()).collect::<Vec<_>>(),
        ["hook", "tg"]
    );
    assert!(d.iter().all(Delivery::sent));
    let d = block_on(n.notify(&unreachable("staging")));
    assert_eq!(d.len(), 1, "tg only wants prod");
    let d = block_on(n.notify(&NotifyEvent::RunFailed {
        site: "staging".into(),
        run: "r1".into(),
        failed: 2,
        total: 5,
    }));
    assert_eq!(
        d.iter().map(|d| d.sink.as_str()).collect::<Vec<_>>(),
        ["hook", "ntfy"]
    );
    let reqs = t.requests();
    let ntfy = reqs.iter().find(|r| r.url.ends_with("/ntfy/")).unwrap();
    let b = body_json(ntfy);
    assert_eq!(b["topic"], "msync-alerts");
    assert_eq!(b["tags"][0], "run_failed");
    assert!(b["message"]
        .as_str()
        .unwrap()
        .contains("2 of 5 channel(s) failed"));
}

#[test]
fn webhook_is_signed_with_hmac_sha256_over_the_body() {
    let t = ok_transport();
    let n = Notifier::new(
        t.clone(),
        VirtualClock::new(5),
        Rc::new(MemoryStore::new()),
        sinks(),
    );
    block_on(n.notify(&unreachable("prod")));
    let hook = t
        .requests()
        .into_iter()
        .find(|r| r.url.ends_with("/hook"))
        .unwrap();
    let body = hook.body.clone().unwrap();
    assert_eq!(
        header_of(&hook, SIGNATURE_HEADER),
        Some(sign(HOOK_KEY, &body).as_str())
    );
    // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
    assert_eq!(
        sign("Jefe", "what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let v = body_json(&hook);
    assert_eq!(v["event"], "site_unreachable");
    assert_eq!(v["data"]["class"], "network");
    assert!(!body.contains(HOOK_KEY));
}

#[test]
fn repeats_are_suppressed_for_the_configured_time_in_virtual_time() {
    let t = ok_transport();
    let clock = VirtualClock::new(10_000);
    let store: Rc<dyn KvStore> = Rc::new(MemoryStore::new());
    let n = Notifier::new(t.clone(), clock.clone(), store.clone(), sinks());
    let e = unreachable("prod");
    assert!(block_on(n.notify(&e)).iter().all(Delivery::sent));
    clock.advance(DAY - 1);
    let again = block_on(n.notify(&e));
    assert!(
        again.iter().all(|d| matches!(
            d.outcome,
            DeliveryOutcome::Suppressed { until_ms } if until_ms == 10_000 + DAY
        )),
        "{again:?}"
    );
    // Another condition (another class) is not the same one.
    let other = NotifyEvent::SiteUnreachable {
        site: "prod".into(),
        class: ErrorClass::Auth,
        message: "401".into(),
        reason: None,
    };
    assert!(block_on(n.notify(&other)).iter().all(Delivery::sent));
    clock.advance(1);
    assert!(
        block_on(n.notify(&e)).iter().all(Delivery::sent),
        "the window is over"
    );
    // A shorter window, configured.
    let short = NotifySettings {
        suppress_secs: 60,
        ..sinks()
    };
    let n = Notifier::new(t, clock.clone(), Rc::new(MemoryStore::new()), short);
    block_on(n.notify(&e));
    clock.advance(61_000);
    assert!(block_on(n.notify(&e)).iter().all(Delivery::sent));
}

#[test]
fn failures_are_recorded_redacted_and_retried_next_time() {
    let fail = Rc::new(std::cell::Cell::new(true));
    let f = fail.clone();
    let t = FakeTransport::new(move |r| {
        if f.get() {
            if r.url.contains("/bot") {
                return Ok(json(
                    401,
                    serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
                ));
            }
            return Err(TransportError::Connect(format!("refused {}", r.url)));
        }
        Ok(json(200, serde_json::json!({"ok": true, "result": {}})))
    });
    let clock = VirtualClock::new(0);
    let n = Notifier::new(t, clock.clone(), Rc::new(MemoryStore::new()), sinks());
    let d = block_on(n.notify(&unreachable("prod")));
    assert_eq!(d.len(), 2);
    for x in &d {
        let DeliveryOutcome::Failed { error } = &x.outcome else {
            panic!("{x:?}")
        };
        assert!(!error.message.contains(BOT), "{}", error.message);
    }
    let tg = d.iter().find(|x| x.sink == "tg").unwrap();
    assert!(
        matches!(&tg.outcome, DeliveryOutcome::Failed { error } if error.class == ErrorClass::Auth)
    );
    let log = block_on(n.history());
    assert_eq!(log.len(), 2);
    assert!(!serde_json::to_string(&log).unwrap().contains(BOT));
    // A failed delivery does not start the suppression window.
    fail.set(false);
    clock.advance(1);
    assert!(block_on(n.notify(&unreachable("prod")))
        .iter()
        .all(Delivery::sent));
}

#[test]
fn send_test_ignores_choices_and_suppression() {
    let t = ok_transport();
    let n = Notifier::new(
        t.clone(),
        VirtualClock::new(0),
        Rc::new(MemoryStore::new()),
        sinks(),
    );
    for _ in 0..2 {
        let d = block_on(n.send_test("ntfy")).unwrap();
        assert!(d.sent());
        assert_eq!(d.event, EventKind::Test);
    }
    assert_eq!(t.requests().len(), 2);
    assert!(block_on(n.send_test("nope")).is_err());
    let tg = block_on(n.send_test("tg")).unwrap();
    assert!(tg.sent());
    let req = t.requests().pop().unwrap();
    assert_eq!(
        req.url,
        format!("http://127.0.0.1:9/tg/bot{BOT}/sendMessage")
    );
    assert_eq!(body_json(&req)["chat_id"], "-100");
}

#[test]
fn settings_are_checked_and_redacted() {
    let mut s = sinks();
    assert!(s.issues().is_empty(), "{:?}", s.issues());
    let dbg = format!("{s:?}");
    assert!(!dbg.contains(BOT) && !dbg.contains(HOOK_KEY));
    let red = serde_json::to_string(&s.redacted()).unwrap();
    assert!(!red.contains(BOT) && !red.contains(HOOK_KEY));
    // Saving a redacted copy back keeps the stored secret.
    let mut back = s.redacted().sinks[1].sink.clone();
    back.keep_secret_from(&s.sinks[1].sink);
    assert_eq!(back, s.sinks[1].sink);
    s.sinks[2].sink = Sink::Ntfy {
        server: "ftp://x".into(),
        topic: "bad topic".into(),
        token: Secret::default(),
    };
    s.sinks[1].name = "hook".into();
    let issues = s.issues();
    assert_eq!(issues.len(), 2, "{issues:?}");
}

#[test]
fn run_events_from_records() {
    use crate::engine::record::*;
    use crate::model::ChannelId;
    let mut head: RunHead = serde_json::from_value(serde_json::json!({
        "id": "r1", "site": "s", "trigger": "scheduled", "first_trigger": "scheduled",
        "mode": "all", "state": "finished", "job": {"job": "sync", "dry_run": false, "confirmed": false},
        "started_ms": 0, "duration_ms": 0, "totals": {"total": 3, "success": 0, "unchanged": 0,
        "failed": 1, "skipped": 0, "needs_review": 1, "running": 0, "queued": 0}, "queue": []
    }))
    .unwrap();
    let item = |status| ItemResult::new(ChannelId("1".into()), "c".into(), status, 0);
    let rec = RunRecord {
        head: head.clone(),
        items: vec![
            item(ItemStatus::Failed),
            item(ItemStatus::NeedsReview),
            item(ItemStatus::Success),
        ],
    };
    let ev = events_of_run("prod", &rec);
    assert_eq!(
        ev.iter().map(|e| e.kind()).collect::<Vec<_>>(),
        [EventKind::RunFailed, EventKind::NeedsReview]
    );
    head.state = RunState::Failed;
    head.error = Some(Error::new(ErrorClass::Timeout, "no answer"));
    let ev = events_of_run(
        "prod",
        &RunRecord {
            head: head.clone(),
            items: vec![],
        },
    );
    assert_eq!(
        ev,
        vec![NotifyEvent::SiteUnreachable {
            site: "prod".into(),
            class: ErrorClass::Timeout,
            message: "no answer".into(),
            reason: None,
        }]
    );
    // What msync found itself travels as data too, for a sink or page to word it.
    let found = crate::reason::RunError::InsecureRefused;
    head.error = Some(Error::found(ErrorClass::Auth, found.clone()));
    let ev = events_of_run(
        "prod",
        &RunRecord {
            head,
            items: vec![],
        },
    );
    assert!(
        matches!(&ev[..], [NotifyEvent::SiteUnreachable { reason: Some(r), message, .. }]
            if *r == found && *message == found.to_string()),
        "{ev:?}"
    );
}
