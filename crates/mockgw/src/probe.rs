//! The gateways' channel tests (issue 21; facts and sources in `docs/probe.md`), with a script
//! per model (pass / fail / time out) and a log of every test, as the servers answer them:
//!
//! * New API (`QuantumNous/new-api` `controller/channel-test.go` `TestChannel`):
//!   `GET /api/channel/test/:id?model=` → HTTP 200 `{success:true,message:"",time}`; a failure
//!   `{success:false,message,time:0,error_code}`; an unknown channel `common.ApiError` →
//!   `{success:false,message:"record not found"}` without `time`. Success stores the response
//!   time on the channel.
//! * Veloera (`Veloera/Veloera` `controller/channel-test.go`): the same, `time` measured on
//!   failure too, response time stored after every test; no `error_code`.
//! * DoneHub (`deanxv/done-hub` `controller/channel-test.go`, `controller/common.go`
//!   `ShouldDisableChannel`): `message` "测速成功" / "测速失败，原因：…"; a qualifying failure
//!   (upstream 401, `invalid_api_key`, `insufficient_quota`, `permission_error`, …) sets the
//!   channel to status 3 (auto-disabled) and says "测速失败，已被禁用，原因：…".
//! * AxonHub (`looplj/axonhub` `internal/server/gql/axonhub.graphql`,
//!   `internal/server/chat/tester.go`): mutation `testChannel(input:{channelID, modelID})` →
//!   `{latency, success, error}`.
//! * Octopus: no route (its router answers 404).
//!
//! A model scripted to time out never gets an answer (the gateway waits on its upstream; the
//! client's own time limit ends it). The mock does not wait for a scripted pass: it reports the
//! scripted time.

use crate::state::{Reply, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What the channel test answers for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ProbeScript {
    /// The upstream answered; the gateway reports `ms` as the test's time.
    Pass {
        #[serde(default = "default_ms")]
        ms: u64,
    },
    /// The upstream refused: `message` is its error text, `status` its HTTP status.
    Fail {
        message: String,
        #[serde(default = "default_fail_status")]
        status: u16,
    },
    /// No answer at all.
    Timeout,
}

fn default_ms() -> u64 {
    800
}

fn default_fail_status() -> u16 {
    400
}

impl Default for ProbeScript {
    fn default() -> Self {
        ProbeScript::Pass { ms: default_ms() }
    }
}

/// One channel test the mock received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCall {
    pub channel: u64,
    pub model: String,
    /// `pass`, `fail`, `timeout` or `no_channel`.
    pub result: String,
}

/// Scripts and log (part of the mock's [`State`]).
#[derive(Debug, Clone, Default)]
pub struct ProbeState {
    /// By model name, every channel.
    pub scripts: BTreeMap<String, ProbeScript>,
    /// By (channel, model): wins over `scripts`.
    pub channel_scripts: BTreeMap<(u64, String), ProbeScript>,
    pub log: Vec<ProbeCall>,
}

impl ProbeState {
    pub fn script_for(&self, channel: u64, model: &str) -> ProbeScript {
        self.channel_scripts
            .get(&(channel, model.to_string()))
            .or_else(|| self.scripts.get(model))
            .cloned()
            .unwrap_or_default()
    }
}

/// Which gateway answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFlavor {
    NewApi,
    Veloera,
    DoneHub,
}

fn log(st: &mut State, channel: u64, model: &str, result: &str) {
    st.probe.log.push(ProbeCall {
        channel,
        model: model.to_string(),
        result: result.into(),
    });
}

/// Whether this test is scripted to time out (then logged, and never answered).
pub fn times_out(st: &mut State, channel: u64, model: &str) -> bool {
    if st.probe.script_for(channel, model) == ProbeScript::Timeout
        && st.channels.contains_key(&channel)
    {
        log(st, channel, model, "timeout");
        return true;
    }
    false
}

/// DoneHub's `ShouldDisableChannel` for the cases the mock scripts (automatic disabling on).
fn done_hub_disables(status: u16, message: &str) -> bool {
    status == 401
        || [
            "invalid_api_key",
            "account_deactivated",
            "billing_not_active",
            "insufficient_quota",
            "authentication_error",
            "permission_error",
        ]
        .iter()
        .any(|k| message.contains(k))
}

/// `GET /api/channel/test/:id?model=` of the New API family.
pub fn rest_test(st: &mut State, flavor: TestFlavor, id: &str, model: &str) -> Reply {
    let Ok(channel) = id.parse::<u64>() else {
        let message = format!("strconv.Atoi: parsing \"{id}\": invalid syntax");
        return Reply::ok(&json!({"success": false, "message": message}));
    };
    if !st.channels.contains_key(&channel) {
        log(st, channel, model, "no_channel");
        return Reply::ok(&json!({"success": false, "message": "record not found"}));
    }
    let script = st.probe.script_for(channel, model);
    let secs = |ms: u64| (ms as f64) / 1000.0;
    match script {
        ProbeScript::Pass { ms } => {
            log(st, channel, model, "pass");
            if let Some(c) = st.channels.get_mut(&channel) {
                c.insert("response_time".into(), json!(ms));
            }
            let message = if flavor == TestFlavor::DoneHub {
                "测速成功"
            } else {
                ""
            };
            Reply::ok(&json!({"success": true, "message": message, "time": secs(ms)}))
        }
        ProbeScript::Fail { message, status } => {
            log(st, channel, model, "fail");
            match flavor {
                TestFlavor::NewApi => Reply::ok(&json!({
                    "success": false,
                    "message": message,
                    "time": 0.0,
                    "error_code": "bad_response_status_code",
                })),
                TestFlavor::Veloera => {
                    if let Some(c) = st.channels.get_mut(&channel) {
                        c.insert("response_time".into(), json!(300));
                    }
                    Reply::ok(&json!({"success": false, "message": message, "time": 0.3}))
                }
                TestFlavor::DoneHub => {
                    let text = if done_hub_disables(status, &message) {
                        if let Some(c) = st.channels.get_mut(&channel) {
                            c.insert("status".into(), json!(3));
                        }
                        format!("测速失败，已被禁用，原因：{message}")
                    } else {
                        format!("测速失败，原因：{message}")
                    };
                    Reply::ok(&json!({"success": false, "message": text, "time": 0.3}))
                }
            }
        }
        // Reached only when `times_out` was not consulted: answer nothing useful.
        ProbeScript::Timeout => Reply::empty(504),
    }
}

/// AxonHub's `testChannel` payload (`data.testChannel`).
pub fn graphql_test(st: &mut State, channel: Option<u64>, model: &str) -> Result<Value, String> {
    let Some(channel) = channel.filter(|c| st.channels.contains_key(c)) else {
        return Err("ent: channel not found".into());
    };
    match st.probe.script_for(channel, model) {
        ProbeScript::Pass { ms } => {
            log(st, channel, model, "pass");
            Ok(
                json!({"latency": (ms as f64) / 1000.0, "success": true, "message": "Test successful", "error": null}),
            )
        }
        ProbeScript::Fail { message, .. } => {
            log(st, channel, model, "fail");
            Ok(json!({"latency": 0.3, "success": false, "message": "", "error": message}))
        }
        ProbeScript::Timeout => Err("context deadline exceeded".into()),
    }
}
