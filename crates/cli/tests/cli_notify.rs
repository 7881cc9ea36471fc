//! Notifications from the real binary (issue 19) to the mock's fake receiver on 127.0.0.1
//! (`crates/mockgw/src/receiver.rs`): a webhook signed with HMAC-SHA256, ntfy and Telegram;
//! per-sink events and sites; repeats suppressed; `msync notify test` / `log`; failures to
//! notify recorded and never failing the run; the secrets nowhere in output or state.

mod support;

use msync_core::notify::{sign, SIGNATURE_HEADER};
use msync_mockgw::{FaultKind, FaultRule, Flavor, MockConfig, Op};
use support::*;

const BOT: &str = "777000:SECRET-bot-QWERTY-0987";
const HOOK_KEY: &str = "SECRET-webhook-hmac-5566";

fn env(notify: &str) -> Env {
    let env = Env::new(MockConfig::new(Flavor::NewApi).channels(2));
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    let base = env.mock.base_url();
    write_private(&env.dir.path().join("bot"), BOT);
    write_private(&env.dir.path().join("hook"), HOOK_KEY);
    text.push_str(&notify.replace("{base}", &base));
    env.write_config(&text);
    env.mock.set_notify_bot_token(BOT);
    env
}

const ALL: &str = r#"
[notify]
suppress_hours = 24

[[notify.sinks]]
name = "hook"
type = "webhook"
url = "{base}/__notify/webhook/msync"
secret_file = "hook"

[[notify.sinks]]
name = "tg"
type = "telegram"
api_base = "{base}/__notify/telegram"
chat_id = "-1001"
secret_file = "bot"
events = ["run_failed", "site_unreachable"]

[[notify.sinks]]
name = "ntfy"
type = "ntfy"
server = "{base}/__notify/ntfy"
topic = "msync-ops"
sites = ["other-site"]
"#;

fn fail_channel_one(env: &Env) {
    env.mock.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 500,
            retry_after: None,
            body: None,
        })
        .op(Op::FetchModels)
        .channel(1),
    );
}

#[test]
fn a_run_with_failures_notifies_the_chosen_sinks_once_per_window() {
    let env = env(ALL);
    fail_channel_one(&env);
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let got = env.mock.notifications();
    let kinds: Vec<&str> = got.iter().map(|r| r.kind.as_str()).collect();
    // ntfy only wants "other-site".
    assert_eq!(kinds, ["webhook", "telegram"], "{got:?}");
    let hook = &got[0];
    assert_eq!(
        hook.header(SIGNATURE_HEADER),
        Some(sign(HOOK_KEY, &hook.body).as_str())
    );
    let body = hook.json();
    assert_eq!(body["event"], "run_failed");
    assert_eq!(body["site"], "it");
    assert_eq!(body["data"]["failed"], 1);
    let tg = got[1].json();
    assert_eq!(tg["chat_id"], "-1001");
    assert!(
        tg["text"]
            .as_str()
            .unwrap()
            .contains("1 of 2 channel(s) failed"),
        "{tg}"
    );
    assert_eq!(
        got[1].path,
        format!("/__notify/telegram/bot{BOT}/sendMessage")
    );

    // Failing again within the window: nothing new.
    let out = env.run(&["sync"]);
    assert_eq!(out.code, 1);
    assert_eq!(env.mock.notifications().len(), 2, "suppressed");
    let log = env.run(&["--json", "notify", "log"]).json();
    let outcomes: Vec<&str> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| kind(&d["outcome"]))
        .collect();
    assert_eq!(outcomes, ["sent", "sent", "suppressed", "suppressed"]);
    for text in [
        out.stdout,
        out.stderr,
        all_text(&env.state),
        log.to_string(),
    ] {
        assert!(!text.contains(BOT) && !text.contains(HOOK_KEY));
    }
}

#[test]
fn an_unreachable_site_is_its_own_event() {
    let env = env(ALL);
    env.mock.set_fault(
        FaultRule::new(FaultKind::Status {
            status: 401,
            retry_after: None,
            body: None,
        })
        .op(Op::ListChannels),
    );
    let out = env.run(&["sync"]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let got = env.mock.notifications();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].json()["event"], "site_unreachable");
    assert_eq!(got[0].json()["data"]["class"], "auth");
}

#[test]
fn notify_test_reaches_each_sink_and_failures_never_fail_the_run() {
    let env = env(&ALL.replace("sites = [\"other-site\"]", ""));
    let out = env.run(&["notify", "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let got = env.mock.notifications();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].json()["topic"], "msync-ops");
    assert!(got.iter().all(|r| r.body.contains("test notification")));
    let out = env.run(&["notify", "test", "--sink", "nope"]);
    assert_eq!(out.code, 2);

    // The receiver fails: the test says so (exit 1), a run still ends by its own result.
    env.mock.set_notify_fail(Some(502));
    let out = env.run(&["notify", "test", "--sink", "tg"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("failed"), "{}", out.stdout);
    assert!(!out.stdout.contains(BOT), "{}", out.stdout);
    fail_channel_one(&env);
    env.mock.clear_faults();
    let out = env.run(&["--json", "sync"]);
    assert_eq!(
        out.code, 0,
        "nothing failed: {}\n{}",
        out.stdout, out.stderr
    );
    fail_channel_one(&env);
    let out = env.run(&["--json", "sync"]);
    assert_eq!(out.code, 1, "channel failures only: {}", out.stderr);
    assert!(
        out.stderr.contains("notification to tg failed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(BOT));
    // A failed delivery does not start the suppression window: the next run sends.
    env.mock.set_notify_fail(None);
    let before = env.mock.notifications().len();
    env.run(&["sync"]);
    assert!(env.mock.notifications().len() > before);
}

#[test]
fn bad_notify_settings_are_located() {
    let env = env(
        "\n[notify]\n[[notify.sinks]]\nname = \"x\"\ntype = \"ntfy\"\ntopic = \"bad topic!\"\n",
    );
    let out = env.run(&["notify", "test"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("notify.sinks[0].sink"),
        "{}",
        out.stderr
    );
    let env = env_plain_telegram();
    let out = env.run(&["notify", "test"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("notify.sinks[0].secret_env"),
        "{}",
        out.stderr
    );
}

fn env_plain_telegram() -> Env {
    env("\n[notify]\n[[notify.sinks]]\nname = \"t\"\ntype = \"telegram\"\nchat_id = \"1\"\n")
}
