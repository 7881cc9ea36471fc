//! The enums msync stores (run records, plans, snapshots, redirect previews, the probe cache,
//! notify settings and log, the price watch log, settings files) are written in serde's default
//! form since worker storage schema 4 (`"excluded"`, `{"gateway_syncs": {"setting": …}}`), and
//! the internally tagged form msync wrote before (`{"kind": "excluded"}`) still reads back as
//! the same value. The `OLD` strings below were written by msync before the change (schema 3);
//! they must never be edited.

use msync_types::error::{Error, ErrorClass};
use msync_types::hold::RevertHold;
use msync_types::model::{AutoSync, ChannelId, Mapping, Secret, SiteKind};
use msync_types::notify::{Delivery, DeliveryOutcome, EventKind, Sink};
use msync_types::plan::Decision;
use msync_types::pricing::{Refusal, Refused};
use msync_types::probe::{CannotProbe, ModelProbe, ProbeAnswer, ProbeFailure, ProbeOutcome};
use msync_types::ratio::RatioField;
use msync_types::reason::{
    GaveUp, ItemNote, ItemReason, LostRoutes, RedirectKind, ReviewReason, RunError, RunNote,
    SkipReason,
};
use msync_types::record::{Job, RunId};
use msync_types::redirect::{BlockReason, ClearScope, PlanStatus, RedirectOp, RedirectSettings};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

fn run() -> RunId {
    RunId("0001700000000-00ab".into())
}

fn error() -> Error {
    Error::found(ErrorClass::Timeout, RunError::ChannelTimeout { secs: 60 })
}

fn skip_reasons() -> Vec<SkipReason> {
    vec![
        SkipReason::Excluded,
        SkipReason::Disabled,
        SkipReason::GatewaySyncs {
            setting: AutoSync::AxonHub,
        },
        SkipReason::PatternUnreadable {
            pattern: "(?!o1).*".into(),
        },
        SkipReason::EmptyUpstream { kept: 4 },
        SkipReason::FilteredEmpty {
            upstream: 9,
            kept: 4,
        },
        SkipReason::NoMappingSupport {
            site: SiteKind::Octopus,
        },
        SkipReason::Text {
            text: "an old sentence".into(),
        },
    ]
}

fn review_reasons() -> Vec<ReviewReason> {
    vec![
        ReviewReason::RoutesLost {
            routes: vec![LostRoutes {
                model: "e".into(),
                routes: vec!["fast".into()],
            }],
        },
        ReviewReason::OverThreshold {
            removed: 3,
            total: 4,
            threshold: 50,
        },
        ReviewReason::ChangedSincePlan,
        ReviewReason::ChangedSincePreview,
        ReviewReason::ChangedSinceWrite,
        ReviewReason::SnapshotMappingUnreadable,
        ReviewReason::RevertHold {
            hold: RevertHold::EmptyModelList {
                site: SiteKind::Octopus,
            },
        },
        ReviewReason::MappingUnreadable {
            error: "bad".into(),
            clearing: true,
        },
        ReviewReason::MappingUnreadableForGenerated {
            error: "bad".into(),
        },
        ReviewReason::NoPrice {
            count: 2,
            unknown: false,
        },
        ReviewReason::Text {
            text: "an old sentence".into(),
        },
    ]
}

fn item_notes() -> Vec<ItemNote> {
    vec![
        ItemNote::DryRunWouldWrite,
        ItemNote::AlreadyPlanned,
        ItemNote::AlreadyAsSnapshot,
        ItemNote::NothingToChange {
            op: RedirectKind::Prune,
        },
    ]
}

fn item_reasons() -> Vec<ItemReason> {
    vec![
        ItemReason::Skip(SkipReason::Excluded),
        ItemReason::Skip(SkipReason::EmptyUpstream { kept: 4 }),
        ItemReason::Review(ReviewReason::ChangedSincePlan),
        ItemReason::Note(ItemNote::NothingToChange {
            op: RedirectKind::Clear,
        }),
        ItemReason::Text("an old sentence".into()),
    ]
}

fn run_notes() -> Vec<RunNote> {
    vec![
        RunNote::DidNotStart,
        RunNote::Cancelled,
        RunNote::ListFailed,
        RunNote::StoreFailed,
        RunNote::RevertOf { run: run() },
        RunNote::ScheduledSkipped {
            holder: Some(run()),
            since_ms: Some(1_700_000_000_000),
        },
        RunNote::ScheduledSkipped {
            holder: None,
            since_ms: None,
        },
        RunNote::Superseded {
            minutes: 10,
            by: run(),
        },
        RunNote::RedirectAfterSync {
            op: RedirectKind::Redirect,
            of: run(),
        },
        RunNote::RedirectFromPreview {
            op: RedirectKind::Clear,
            preview: "p-1".into(),
        },
        RunNote::RedirectAfterSyncFailed {
            error: Box::new(error()),
        },
        RunNote::Text {
            text: "an old sentence".into(),
        },
    ]
}

fn run_errors() -> Vec<RunError> {
    vec![
        RunError::ChannelTimeout { secs: 120 },
        RunError::ChangedDuringWrite,
        RunError::Unstorable {
            names: vec!["a,b".into()],
        },
        RunError::Redirected {
            status: Some(302),
            location: Some("https://other.example/".into()),
        },
        RunError::Redirected {
            status: None,
            location: None,
        },
        RunError::InsecureRefused,
        RunError::ChannelNotFound {
            id: ChannelId("12".into()),
        },
        RunError::UpstreamUnreadable {
            upstream: "main".into(),
            error: "HTTP 500".into(),
        },
        RunError::NoRatioSync {
            site: SiteKind::Octopus,
        },
        RunError::RoutesNotRestored {
            routes: vec![LostRoutes {
                model: "e".into(),
                routes: vec!["fast".into()],
            }],
            error: Some("HTTP 500".into()),
        },
        RunError::RoutesNotRestored {
            routes: vec![],
            error: None,
        },
    ]
}

fn gave_ups() -> Vec<GaveUp> {
    vec![
        GaveUp::NoTimeLeft { secs: 120 },
        GaveUp::WaitTooLong { secs: 900 },
    ]
}

fn errors() -> Vec<Error> {
    let mut e = Error::new(ErrorClass::RateLimited, "HTTP 429: slow down");
    e.gave_up = Some(GaveUp::NoTimeLeft { secs: 120 });
    vec![error(), e]
}

fn revert_holds() -> Vec<RevertHold> {
    vec![RevertHold::EmptyModelList {
        site: SiteKind::NewApi,
    }]
}

fn mappings() -> Vec<Mapping> {
    vec![
        Mapping::Empty,
        Mapping::Valid {
            pairs: vec![("gpt-4o".into(), "openai/gpt-4o".into())],
        },
        Mapping::Invalid {
            raw: "{x".into(),
            error: "bad".into(),
        },
        Mapping::Unsupported,
    ]
}

fn refusals() -> Vec<Refusal> {
    vec![
        Refusal::RaiseOverLimit { pct: 25, limit: 10 },
        Refusal::SwitchesBilling,
        Refusal::NewModel,
        Refusal::NotConfident,
    ]
}

fn redirect_ops() -> Vec<RedirectOp> {
    vec![
        RedirectOp::Redirect {
            settings: RedirectSettings::default(),
        },
        RedirectOp::Prune,
        RedirectOp::Clear {
            settings: RedirectSettings::default(),
            scope: ClearScope::Generated,
            remove_added_names: true,
        },
    ]
}

fn jobs() -> Vec<Job> {
    vec![
        Job::Sync {
            dry_run: true,
            confirmed: false,
        },
        Job::Apply {
            plan_run: run(),
            force: false,
        },
        Job::Revert {
            of: run(),
            force: true,
        },
        Job::Redirect {
            op: RedirectOp::Prune,
            preview: "p-1".into(),
            confirm_overwrite_invalid: false,
            force: false,
            after_sync: Some(run()),
        },
        Job::Redirect {
            op: RedirectOp::Prune,
            preview: "p-1".into(),
            confirm_overwrite_invalid: true,
            force: false,
            after_sync: None,
        },
    ]
}

fn decisions() -> Vec<Decision> {
    vec![
        Decision::Write,
        Decision::Unchanged,
        Decision::Skip {
            reason: SkipReason::Excluded,
        },
        Decision::Skip {
            reason: SkipReason::FilteredEmpty {
                upstream: 9,
                kept: 4,
            },
        },
        Decision::NeedsReview {
            reason: ReviewReason::ChangedSincePlan,
        },
        Decision::NeedsReview {
            reason: ReviewReason::NoPrice {
                count: 1,
                unknown: true,
            },
        },
        Decision::Failed { error: error() },
    ]
}

fn sinks() -> Vec<Sink> {
    vec![
        Sink::Webhook {
            url: "https://hooks.example/x".into(),
            secret: Secret(String::new()),
        },
        Sink::Webhook {
            url: "https://hooks.example/x".into(),
            secret: Secret("k".into()),
        },
        Sink::Ntfy {
            server: "https://ntfy.sh".into(),
            topic: "t".into(),
            token: Secret(String::new()),
        },
        Sink::Telegram {
            api_base: "https://api.telegram.org".into(),
            bot_token: Secret("b".into()),
            chat_id: "42".into(),
        },
    ]
}

fn deliveries() -> Vec<DeliveryOutcome> {
    vec![
        DeliveryOutcome::Sent,
        DeliveryOutcome::Suppressed { until_ms: 5 },
        DeliveryOutcome::Failed { error: error() },
    ]
}

fn plan_statuses() -> Vec<PlanStatus> {
    vec![
        PlanStatus::Change,
        PlanStatus::Unchanged,
        PlanStatus::Blocked {
            reason: BlockReason::InvalidMapping,
            why: ItemReason::Review(ReviewReason::MappingUnreadable {
                error: "bad".into(),
                clearing: false,
            }),
        },
    ]
}

fn cannot_probes() -> Vec<CannotProbe> {
    vec![
        CannotProbe::NoEndpoint,
        CannotProbe::EndpointMissingOnVersion,
        CannotProbe::ChannelDisabled,
        CannotProbe::Timeout,
        CannotProbe::RunBudget,
        CannotProbe::ChannelBudget,
        CannotProbe::Error {
            class: ErrorClass::Auth,
            http_status: Some(401),
            message: "no".into(),
        },
        CannotProbe::Error {
            class: ErrorClass::Network,
            http_status: None,
            message: "reset".into(),
        },
    ]
}

fn probe_outcomes() -> Vec<ProbeOutcome> {
    let answer = ProbeAnswer {
        http_status: 200,
        message: Some("ok".into()),
        response_ms: Some(12),
        error_code: None,
        channel_disabled: false,
    };
    let mut outcomes = vec![
        ProbeOutcome::Passed {
            answer: answer.clone(),
        },
        ProbeOutcome::Failed {
            failure: ProbeFailure::Quota,
            answer,
        },
        ProbeOutcome::WouldProbe,
    ];
    outcomes.extend(
        cannot_probes()
            .into_iter()
            .map(|why| ProbeOutcome::CannotProbe { why }),
    );
    outcomes
}

fn model_probes() -> Vec<ModelProbe> {
    probe_outcomes()
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| ModelProbe {
            model: format!("m{i}"),
            outcome,
            held_back: i % 2 == 0,
            cached_from_ms: (i % 3 == 0).then_some(1_700_000_000_000),
        })
        .collect()
}

fn deliveries_logged() -> Vec<Delivery> {
    deliveries()
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| Delivery {
            sink: "hook".into(),
            event: EventKind::RunFailed,
            site: (i != 1).then(|| "main".to_string()),
            at_ms: 7,
            outcome,
        })
        .collect()
}

fn refused() -> Vec<Refused> {
    refusals()
        .into_iter()
        .map(|why| Refused {
            model: "gpt-4o".into(),
            field: RatioField::ModelRatio,
            value: 2.5,
            why,
        })
        .collect()
}

/// Prints every sample's JSON as this build writes it (`cargo test -p msync-types --test
/// stored_forms -- --ignored --nocapture`): how the golden strings were made.
#[test]
#[ignore]
fn print_forms() {
    fn show<T: Serialize>(name: &str, values: Vec<T>) {
        println!("== {name}");
        for v in values {
            println!("{}", serde_json::to_string(&v).expect("serializes"));
        }
    }
    show("skip_reasons", skip_reasons());
    show("review_reasons", review_reasons());
    show("item_notes", item_notes());
    show("item_reasons", item_reasons());
    show("run_notes", run_notes());
    show("run_errors", run_errors());
    show("gave_ups", gave_ups());
    show("errors", errors());
    show("revert_holds", revert_holds());
    show("mappings", mappings());
    show("refusals", refusals());
    show("redirect_ops", redirect_ops());
    show("jobs", jobs());
    show("decisions", decisions());
    show("sinks", sinks());
    show("deliveries", deliveries());
    show("plan_statuses", plan_statuses());
    show("cannot_probes", cannot_probes());
    show("probe_outcomes", probe_outcomes());
    show("model_probes", model_probes());
    show("deliveries_logged", deliveries_logged());
    show("refused", refused());
}

/// Every value reads back from its `old` form, writes its `new` form, and reads that back.
fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    values: Vec<T>,
    old: &[&str],
    new: &[&str],
) {
    assert_eq!(values.len(), old.len(), "one old form per value");
    assert_eq!(values.len(), new.len(), "one new form per value");
    for ((v, old), new) in values.iter().zip(old).zip(new) {
        let from_old: T = serde_json::from_str(old).unwrap_or_else(|e| panic!("{old}: {e}"));
        assert_eq!(&from_old, v, "{old}");
        let written = serde_json::to_string(v).expect("serializes");
        assert_eq!(&written, new, "{v:?}");
        let back: T = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{new}: {e}"));
        assert_eq!(&back, v, "{new}");
    }
}

#[test]
fn skip_reasons_read_both_forms_and_write_the_default_one() {
    check(
        skip_reasons(),
        &[
            r#"{"kind":"excluded"}"#,
            r#"{"kind":"disabled"}"#,
            r#"{"kind":"gateway_syncs","setting":"axon_hub"}"#,
            r#"{"kind":"pattern_unreadable","pattern":"(?!o1).*"}"#,
            r#"{"kind":"empty_upstream","kept":4}"#,
            r#"{"kind":"filtered_empty","upstream":9,"kept":4}"#,
            r#"{"kind":"no_mapping_support","site":"octopus"}"#,
            r#"{"kind":"text","text":"an old sentence"}"#,
        ],
        &[
            r#""excluded""#,
            r#""disabled""#,
            r#"{"gateway_syncs":{"setting":"axon_hub"}}"#,
            r#"{"pattern_unreadable":{"pattern":"(?!o1).*"}}"#,
            r#"{"empty_upstream":{"kept":4}}"#,
            r#"{"filtered_empty":{"upstream":9,"kept":4}}"#,
            r#"{"no_mapping_support":{"site":"octopus"}}"#,
            r#"{"text":{"text":"an old sentence"}}"#,
        ],
    );
}

#[test]
fn review_reasons_read_both_forms_and_write_the_default_one() {
    check(
        review_reasons(),
        &[
            r#"{"kind":"routes_lost","routes":[{"model":"e","routes":["fast"]}]}"#,
            r#"{"kind":"over_threshold","removed":3,"total":4,"threshold":50}"#,
            r#"{"kind":"changed_since_plan"}"#,
            r#"{"kind":"changed_since_preview"}"#,
            r#"{"kind":"changed_since_write"}"#,
            r#"{"kind":"snapshot_mapping_unreadable"}"#,
            r#"{"kind":"revert_hold","hold":{"kind":"empty_model_list","site":"octopus"}}"#,
            r#"{"kind":"mapping_unreadable","error":"bad","clearing":true}"#,
            r#"{"kind":"mapping_unreadable_for_generated","error":"bad"}"#,
            r#"{"kind":"no_price","count":2,"unknown":false}"#,
            r#"{"kind":"text","text":"an old sentence"}"#,
        ],
        &[
            r#"{"routes_lost":{"routes":[{"model":"e","routes":["fast"]}]}}"#,
            r#"{"over_threshold":{"removed":3,"total":4,"threshold":50}}"#,
            r#""changed_since_plan""#,
            r#""changed_since_preview""#,
            r#""changed_since_write""#,
            r#""snapshot_mapping_unreadable""#,
            r#"{"revert_hold":{"hold":{"empty_model_list":{"site":"octopus"}}}}"#,
            r#"{"mapping_unreadable":{"error":"bad","clearing":true}}"#,
            r#"{"mapping_unreadable_for_generated":{"error":"bad"}}"#,
            r#"{"no_price":{"count":2,"unknown":false}}"#,
            r#"{"text":{"text":"an old sentence"}}"#,
        ],
    );
}

#[test]
fn item_notes_read_both_forms_and_write_the_default_one() {
    check(
        item_notes(),
        &[
            r#"{"kind":"dry_run_would_write"}"#,
            r#"{"kind":"already_planned"}"#,
            r#"{"kind":"already_as_snapshot"}"#,
            r#"{"kind":"nothing_to_change","op":"prune"}"#,
        ],
        &[
            r#""dry_run_would_write""#,
            r#""already_planned""#,
            r#""already_as_snapshot""#,
            r#"{"nothing_to_change":{"op":"prune"}}"#,
        ],
    );
}

#[test]
fn item_reasons_read_both_forms_and_write_the_default_one() {
    check(
        item_reasons(),
        &[
            r#"{"skip":{"kind":"excluded"}}"#,
            r#"{"skip":{"kind":"empty_upstream","kept":4}}"#,
            r#"{"review":{"kind":"changed_since_plan"}}"#,
            r#"{"note":{"kind":"nothing_to_change","op":"clear"}}"#,
            r#"{"text":"an old sentence"}"#,
        ],
        &[
            r#"{"skip":"excluded"}"#,
            r#"{"skip":{"empty_upstream":{"kept":4}}}"#,
            r#"{"review":"changed_since_plan"}"#,
            r#"{"note":{"nothing_to_change":{"op":"clear"}}}"#,
            r#"{"text":"an old sentence"}"#,
        ],
    );
}

#[test]
fn run_notes_read_both_forms_and_write_the_default_one() {
    check(
        run_notes(),
        &[
            r#"{"kind":"did_not_start"}"#,
            r#"{"kind":"cancelled"}"#,
            r#"{"kind":"list_failed"}"#,
            r#"{"kind":"store_failed"}"#,
            r#"{"kind":"revert_of","run":"0001700000000-00ab"}"#,
            r#"{"kind":"scheduled_skipped","holder":"0001700000000-00ab","since_ms":1700000000000}"#,
            r#"{"kind":"scheduled_skipped","holder":null,"since_ms":null}"#,
            r#"{"kind":"superseded","minutes":10,"by":"0001700000000-00ab"}"#,
            r#"{"kind":"redirect_after_sync","op":"redirect","of":"0001700000000-00ab"}"#,
            r#"{"kind":"redirect_from_preview","op":"clear","preview":"p-1"}"#,
            r#"{"kind":"redirect_after_sync_failed","error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"kind":"channel_timeout","secs":60}}}"#,
            r#"{"kind":"text","text":"an old sentence"}"#,
        ],
        &[
            r#""did_not_start""#,
            r#""cancelled""#,
            r#""list_failed""#,
            r#""store_failed""#,
            r#"{"revert_of":{"run":"0001700000000-00ab"}}"#,
            r#"{"scheduled_skipped":{"holder":"0001700000000-00ab","since_ms":1700000000000}}"#,
            r#"{"scheduled_skipped":{"holder":null,"since_ms":null}}"#,
            r#"{"superseded":{"minutes":10,"by":"0001700000000-00ab"}}"#,
            r#"{"redirect_after_sync":{"op":"redirect","of":"0001700000000-00ab"}}"#,
            r#"{"redirect_from_preview":{"op":"clear","preview":"p-1"}}"#,
            r#"{"redirect_after_sync_failed":{"error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"channel_timeout":{"secs":60}}}}}"#,
            r#"{"text":{"text":"an old sentence"}}"#,
        ],
    );
}

#[test]
fn run_errors_read_both_forms_and_write_the_default_one() {
    check(
        run_errors(),
        &[
            r#"{"kind":"channel_timeout","secs":120}"#,
            r#"{"kind":"changed_during_write"}"#,
            r#"{"kind":"unstorable","names":["a,b"]}"#,
            r#"{"kind":"redirected","status":302,"location":"https://other.example/"}"#,
            r#"{"kind":"redirected","status":null,"location":null}"#,
            r#"{"kind":"insecure_refused"}"#,
            r#"{"kind":"channel_not_found","id":"12"}"#,
            r#"{"kind":"upstream_unreadable","upstream":"main","error":"HTTP 500"}"#,
            r#"{"kind":"no_ratio_sync","site":"octopus"}"#,
            r#"{"kind":"routes_not_restored","routes":[{"model":"e","routes":["fast"]}],"error":"HTTP 500"}"#,
            r#"{"kind":"routes_not_restored","routes":[]}"#,
        ],
        &[
            r#"{"channel_timeout":{"secs":120}}"#,
            r#""changed_during_write""#,
            r#"{"unstorable":{"names":["a,b"]}}"#,
            r#"{"redirected":{"status":302,"location":"https://other.example/"}}"#,
            r#"{"redirected":{"status":null,"location":null}}"#,
            r#""insecure_refused""#,
            r#"{"channel_not_found":{"id":"12"}}"#,
            r#"{"upstream_unreadable":{"upstream":"main","error":"HTTP 500"}}"#,
            r#"{"no_ratio_sync":{"site":"octopus"}}"#,
            r#"{"routes_not_restored":{"routes":[{"model":"e","routes":["fast"]}],"error":"HTTP 500"}}"#,
            r#"{"routes_not_restored":{"routes":[]}}"#,
        ],
    );
}

#[test]
fn gave_ups_read_both_forms_and_write_the_default_one() {
    check(
        gave_ups(),
        &[
            r#"{"kind":"no_time_left","secs":120}"#,
            r#"{"kind":"wait_too_long","secs":900}"#,
        ],
        &[
            r#"{"no_time_left":{"secs":120}}"#,
            r#"{"wait_too_long":{"secs":900}}"#,
        ],
    );
}

#[test]
fn errors_read_both_forms_and_write_the_default_one() {
    check(
        errors(),
        &[
            r#"{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"kind":"channel_timeout","secs":60}}"#,
            r#"{"class":"rate_limited","http_status":null,"message":"HTTP 429: slow down","retryable":true,"retry_after_ms":null,"gave_up":{"kind":"no_time_left","secs":120}}"#,
        ],
        &[
            r#"{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"channel_timeout":{"secs":60}}}"#,
            r#"{"class":"rate_limited","http_status":null,"message":"HTTP 429: slow down","retryable":true,"retry_after_ms":null,"gave_up":{"no_time_left":{"secs":120}}}"#,
        ],
    );
}

#[test]
fn revert_holds_read_both_forms_and_write_the_default_one() {
    check(
        revert_holds(),
        &[r#"{"kind":"empty_model_list","site":"new-api"}"#],
        &[r#"{"empty_model_list":{"site":"new-api"}}"#],
    );
}

#[test]
fn mappings_read_both_forms_and_write_the_default_one() {
    check(
        mappings(),
        &[
            r#"{"state":"empty"}"#,
            r#"{"state":"valid","pairs":[["gpt-4o","openai/gpt-4o"]]}"#,
            r#"{"state":"invalid","raw":"{x","error":"bad"}"#,
            r#"{"state":"unsupported"}"#,
        ],
        &[
            r#""empty""#,
            r#"{"valid":{"pairs":[["gpt-4o","openai/gpt-4o"]]}}"#,
            r#"{"invalid":{"raw":"{x","error":"bad"}}"#,
            r#""unsupported""#,
        ],
    );
}

#[test]
fn refusals_read_both_forms_and_write_the_default_one() {
    check(
        refusals(),
        &[
            r#"{"refusal":"raise_over_limit","pct":25,"limit":10}"#,
            r#"{"refusal":"switches_billing"}"#,
            r#"{"refusal":"new_model"}"#,
            r#"{"refusal":"not_confident"}"#,
        ],
        &[
            r#"{"raise_over_limit":{"pct":25,"limit":10}}"#,
            r#""switches_billing""#,
            r#""new_model""#,
            r#""not_confident""#,
        ],
    );
}

#[test]
fn redirect_ops_read_both_forms_and_write_the_default_one() {
    check(
        redirect_ops(),
        &[
            r#"{"op":"redirect","settings":{"enabled":false,"presets":["openai","anthropic","google","deepseek","qwen","zhipu","mistral","xai","moonshot","minimax","doubao","meta"],"standard_models":[],"aliases":[],"matching":{"allow_dated_targets":true},"prune_missing_targets":false}}"#,
            r#"{"op":"prune"}"#,
            r#"{"op":"clear","settings":{"enabled":false,"presets":["openai","anthropic","google","deepseek","qwen","zhipu","mistral","xai","moonshot","minimax","doubao","meta"],"standard_models":[],"aliases":[],"matching":{"allow_dated_targets":true},"prune_missing_targets":false},"scope":"generated","remove_added_names":true}"#,
        ],
        &[
            r#"{"redirect":{"settings":{"enabled":false,"presets":["openai","anthropic","google","deepseek","qwen","zhipu","mistral","xai","moonshot","minimax","doubao","meta"],"standard_models":[],"aliases":[],"matching":{"allow_dated_targets":true},"prune_missing_targets":false}}}"#,
            r#""prune""#,
            r#"{"clear":{"settings":{"enabled":false,"presets":["openai","anthropic","google","deepseek","qwen","zhipu","mistral","xai","moonshot","minimax","doubao","meta"],"standard_models":[],"aliases":[],"matching":{"allow_dated_targets":true},"prune_missing_targets":false},"scope":"generated","remove_added_names":true}}"#,
        ],
    );
}

#[test]
fn jobs_read_both_forms_and_write_the_default_one() {
    check(
        jobs(),
        &[
            r#"{"job":"sync","dry_run":true,"confirmed":false}"#,
            r#"{"job":"apply","plan_run":"0001700000000-00ab","force":false}"#,
            r#"{"job":"revert","of":"0001700000000-00ab","force":true}"#,
            r#"{"job":"redirect","op":{"op":"prune"},"preview":"p-1","confirm_overwrite_invalid":false,"force":false,"after_sync":"0001700000000-00ab"}"#,
            r#"{"job":"redirect","op":{"op":"prune"},"preview":"p-1","confirm_overwrite_invalid":true,"force":false}"#,
        ],
        &[
            r#"{"sync":{"dry_run":true,"confirmed":false}}"#,
            r#"{"apply":{"plan_run":"0001700000000-00ab","force":false}}"#,
            r#"{"revert":{"of":"0001700000000-00ab","force":true}}"#,
            r#"{"redirect":{"op":"prune","preview":"p-1","confirm_overwrite_invalid":false,"force":false,"after_sync":"0001700000000-00ab"}}"#,
            r#"{"redirect":{"op":"prune","preview":"p-1","confirm_overwrite_invalid":true,"force":false}}"#,
        ],
    );
}

#[test]
fn decisions_read_both_forms_and_write_the_default_one() {
    check(
        decisions(),
        &[
            r#"{"decision":"write"}"#,
            r#"{"decision":"unchanged"}"#,
            r#"{"decision":"skip","reason":{"kind":"excluded"}}"#,
            r#"{"decision":"skip","reason":{"kind":"filtered_empty","upstream":9,"kept":4}}"#,
            r#"{"decision":"needs_review","reason":{"kind":"changed_since_plan"}}"#,
            r#"{"decision":"needs_review","reason":{"kind":"no_price","count":1,"unknown":true}}"#,
            r#"{"decision":"failed","error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"kind":"channel_timeout","secs":60}}}"#,
        ],
        &[
            r#""write""#,
            r#""unchanged""#,
            r#"{"skip":{"reason":"excluded"}}"#,
            r#"{"skip":{"reason":{"filtered_empty":{"upstream":9,"kept":4}}}}"#,
            r#"{"needs_review":{"reason":"changed_since_plan"}}"#,
            r#"{"needs_review":{"reason":{"no_price":{"count":1,"unknown":true}}}}"#,
            r#"{"failed":{"error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"channel_timeout":{"secs":60}}}}}"#,
        ],
    );
}

#[test]
fn sinks_read_both_forms_and_write_the_default_one() {
    check(
        sinks(),
        &[
            r#"{"type":"webhook","url":"https://hooks.example/x"}"#,
            r#"{"type":"webhook","url":"https://hooks.example/x","secret":"k"}"#,
            r#"{"type":"ntfy","server":"https://ntfy.sh","topic":"t"}"#,
            r#"{"type":"telegram","api_base":"https://api.telegram.org","bot_token":"b","chat_id":"42"}"#,
        ],
        &[
            r#"{"webhook":{"url":"https://hooks.example/x"}}"#,
            r#"{"webhook":{"url":"https://hooks.example/x","secret":"k"}}"#,
            r#"{"ntfy":{"server":"https://ntfy.sh","topic":"t"}}"#,
            r#"{"telegram":{"api_base":"https://api.telegram.org","bot_token":"b","chat_id":"42"}}"#,
        ],
    );
}

#[test]
fn deliveries_read_both_forms_and_write_the_default_one() {
    check(
        deliveries(),
        &[
            r#"{"outcome":"sent"}"#,
            r#"{"outcome":"suppressed","until_ms":5}"#,
            r#"{"outcome":"failed","error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"kind":"channel_timeout","secs":60}}}"#,
        ],
        &[
            r#""sent""#,
            r#"{"suppressed":{"until_ms":5}}"#,
            r#"{"failed":{"error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"channel_timeout":{"secs":60}}}}}"#,
        ],
    );
}

#[test]
fn plan_statuses_read_both_forms_and_write_the_default_one() {
    check(
        plan_statuses(),
        &[
            r#"{"status":"change"}"#,
            r#"{"status":"unchanged"}"#,
            r#"{"status":"blocked","reason":"invalid_mapping","why":{"review":{"kind":"mapping_unreadable","error":"bad","clearing":false}}}"#,
        ],
        &[
            r#""change""#,
            r#""unchanged""#,
            r#"{"blocked":{"reason":"invalid_mapping","why":{"review":{"mapping_unreadable":{"error":"bad","clearing":false}}}}}"#,
        ],
    );
}

#[test]
fn cannot_probes_read_both_forms_and_write_the_default_one() {
    check(
        cannot_probes(),
        &[
            r#"{"why":"no_endpoint"}"#,
            r#"{"why":"endpoint_missing_on_version"}"#,
            r#"{"why":"channel_disabled"}"#,
            r#"{"why":"timeout"}"#,
            r#"{"why":"run_budget"}"#,
            r#"{"why":"channel_budget"}"#,
            r#"{"why":"error","class":"auth","http_status":401,"message":"no"}"#,
            r#"{"why":"error","class":"network","message":"reset"}"#,
        ],
        &[
            r#""no_endpoint""#,
            r#""endpoint_missing_on_version""#,
            r#""channel_disabled""#,
            r#""timeout""#,
            r#""run_budget""#,
            r#""channel_budget""#,
            r#"{"error":{"class":"auth","http_status":401,"message":"no"}}"#,
            r#"{"error":{"class":"network","message":"reset"}}"#,
        ],
    );
}

#[test]
fn probe_outcomes_read_both_forms_and_write_the_default_one() {
    check(
        probe_outcomes(),
        &[
            r#"{"outcome":"passed","answer":{"http_status":200,"message":"ok","response_ms":12}}"#,
            r#"{"outcome":"failed","failure":"quota","answer":{"http_status":200,"message":"ok","response_ms":12}}"#,
            r#"{"outcome":"would_probe"}"#,
            r#"{"outcome":"cannot_probe","why":"no_endpoint"}"#,
            r#"{"outcome":"cannot_probe","why":"endpoint_missing_on_version"}"#,
            r#"{"outcome":"cannot_probe","why":"channel_disabled"}"#,
            r#"{"outcome":"cannot_probe","why":"timeout"}"#,
            r#"{"outcome":"cannot_probe","why":"run_budget"}"#,
            r#"{"outcome":"cannot_probe","why":"channel_budget"}"#,
            r#"{"outcome":"cannot_probe","why":"error","class":"auth","http_status":401,"message":"no"}"#,
            r#"{"outcome":"cannot_probe","why":"error","class":"network","message":"reset"}"#,
        ],
        &[
            r#"{"passed":{"answer":{"http_status":200,"message":"ok","response_ms":12}}}"#,
            r#"{"failed":{"failure":"quota","answer":{"http_status":200,"message":"ok","response_ms":12}}}"#,
            r#""would_probe""#,
            r#"{"cannot_probe":{"why":"no_endpoint"}}"#,
            r#"{"cannot_probe":{"why":"endpoint_missing_on_version"}}"#,
            r#"{"cannot_probe":{"why":"channel_disabled"}}"#,
            r#"{"cannot_probe":{"why":"timeout"}}"#,
            r#"{"cannot_probe":{"why":"run_budget"}}"#,
            r#"{"cannot_probe":{"why":"channel_budget"}}"#,
            r#"{"cannot_probe":{"why":{"error":{"class":"auth","http_status":401,"message":"no"}}}}"#,
            r#"{"cannot_probe":{"why":{"error":{"class":"network","message":"reset"}}}}"#,
        ],
    );
}

#[test]
fn model_probes_read_both_forms_and_write_the_default_one() {
    check(
        model_probes(),
        &[
            r#"{"model":"m0","outcome":"passed","answer":{"http_status":200,"message":"ok","response_ms":12},"held_back":true,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m1","outcome":"failed","failure":"quota","answer":{"http_status":200,"message":"ok","response_ms":12},"held_back":false}"#,
            r#"{"model":"m2","outcome":"would_probe","held_back":true}"#,
            r#"{"model":"m3","outcome":"cannot_probe","why":"no_endpoint","held_back":false,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m4","outcome":"cannot_probe","why":"endpoint_missing_on_version","held_back":true}"#,
            r#"{"model":"m5","outcome":"cannot_probe","why":"channel_disabled","held_back":false}"#,
            r#"{"model":"m6","outcome":"cannot_probe","why":"timeout","held_back":true,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m7","outcome":"cannot_probe","why":"run_budget","held_back":false}"#,
            r#"{"model":"m8","outcome":"cannot_probe","why":"channel_budget","held_back":true}"#,
            r#"{"model":"m9","outcome":"cannot_probe","why":"error","class":"auth","http_status":401,"message":"no","held_back":false,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m10","outcome":"cannot_probe","why":"error","class":"network","message":"reset","held_back":true}"#,
        ],
        &[
            r#"{"model":"m0","outcome":{"passed":{"answer":{"http_status":200,"message":"ok","response_ms":12}}},"held_back":true,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m1","outcome":{"failed":{"failure":"quota","answer":{"http_status":200,"message":"ok","response_ms":12}}},"held_back":false}"#,
            r#"{"model":"m2","outcome":"would_probe","held_back":true}"#,
            r#"{"model":"m3","outcome":{"cannot_probe":{"why":"no_endpoint"}},"held_back":false,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m4","outcome":{"cannot_probe":{"why":"endpoint_missing_on_version"}},"held_back":true}"#,
            r#"{"model":"m5","outcome":{"cannot_probe":{"why":"channel_disabled"}},"held_back":false}"#,
            r#"{"model":"m6","outcome":{"cannot_probe":{"why":"timeout"}},"held_back":true,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m7","outcome":{"cannot_probe":{"why":"run_budget"}},"held_back":false}"#,
            r#"{"model":"m8","outcome":{"cannot_probe":{"why":"channel_budget"}},"held_back":true}"#,
            r#"{"model":"m9","outcome":{"cannot_probe":{"why":{"error":{"class":"auth","http_status":401,"message":"no"}}}},"held_back":false,"cached_from_ms":1700000000000}"#,
            r#"{"model":"m10","outcome":{"cannot_probe":{"why":{"error":{"class":"network","message":"reset"}}}},"held_back":true}"#,
        ],
    );
}

#[test]
fn deliveries_logged_read_both_forms_and_write_the_default_one() {
    check(
        deliveries_logged(),
        &[
            r#"{"sink":"hook","event":"run_failed","site":"main","at_ms":7,"outcome":"sent"}"#,
            r#"{"sink":"hook","event":"run_failed","at_ms":7,"outcome":"suppressed","until_ms":5}"#,
            r#"{"sink":"hook","event":"run_failed","site":"main","at_ms":7,"outcome":"failed","error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"kind":"channel_timeout","secs":60}}}"#,
        ],
        &[
            r#"{"sink":"hook","event":"run_failed","site":"main","at_ms":7,"outcome":"sent"}"#,
            r#"{"sink":"hook","event":"run_failed","at_ms":7,"outcome":{"suppressed":{"until_ms":5}}}"#,
            r#"{"sink":"hook","event":"run_failed","site":"main","at_ms":7,"outcome":{"failed":{"error":{"class":"timeout","http_status":null,"message":"the channel took longer than the 60 s limit","retryable":true,"retry_after_ms":null,"reason":{"channel_timeout":{"secs":60}}}}}}"#,
        ],
    );
}

#[test]
fn refused_read_both_forms_and_write_the_default_one() {
    check(
        refused(),
        &[
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"refusal":"raise_over_limit","pct":25,"limit":10}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"refusal":"switches_billing"}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"refusal":"new_model"}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"refusal":"not_confident"}"#,
        ],
        &[
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"why":{"raise_over_limit":{"pct":25,"limit":10}}}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"why":"switches_billing"}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"why":"new_model"}"#,
            r#"{"model":"gpt-4o","field":"model_ratio","value":2.5,"why":"not_confident"}"#,
        ],
    );
}

/// The old form is told apart by its tag key holding a string, so no variant may be named like
/// its enum's old tag (`{"kind": …}` would then be both forms).
#[test]
fn no_variant_is_named_like_its_old_tag() {
    fn names<T: Serialize>(values: Vec<T>) -> Vec<String> {
        values
            .iter()
            .map(|v| match serde_json::to_value(v).expect("serializes") {
                serde_json::Value::String(name) => name,
                serde_json::Value::Object(one) => {
                    assert_eq!(one.len(), 1, "{one:?}");
                    one.keys().next().cloned().unwrap_or_default()
                }
                other => panic!("not the default form: {other}"),
            })
            .collect()
    }
    for (tag, names) in [
        ("kind", names(skip_reasons())),
        ("kind", names(review_reasons())),
        ("kind", names(item_notes())),
        ("kind", names(run_notes())),
        ("kind", names(run_errors())),
        ("kind", names(gave_ups())),
        ("kind", names(revert_holds())),
        ("state", names(mappings())),
        ("refusal", names(refusals())),
        ("op", names(redirect_ops())),
        ("job", names(jobs())),
        ("decision", names(decisions())),
        ("type", names(sinks())),
        ("outcome", names(deliveries())),
        ("status", names(plan_statuses())),
        ("why", names(cannot_probes())),
        ("outcome", names(probe_outcomes())),
    ] {
        assert!(!names.is_empty());
        assert!(!names.iter().any(|n| n == tag), "{tag}: {names:?}");
    }
}
