//! The engine's typed reasons, notes and errors in the page's language (the CLI prints their
//! English `Display`; the tests below hold the two to the same meaning). A server's own error
//! text is shown as the server wrote it.

use crate::format::fill;
use crate::i18n::{lookup, Lang};
use msync_types::base_url::BaseUrlError;
use msync_types::error::Error;
use msync_types::gateway::CredentialField;
use msync_types::hold::RevertHold;
use msync_types::reason::{
    mib, GaveUp, ItemNote, ItemReason, LostRoutes, RedirectKind, ReviewReason, RunError, RunNote,
    SkipReason, UNSTORABLE_SHOWN,
};
use msync_types::record::ItemResult;
use msync_types::settings::{FieldProblem, SettingsIssue, SinkAddress};

fn op_text(lang: Lang, op: RedirectKind) -> &'static str {
    lookup(
        lang,
        match op {
            RedirectKind::Redirect => "reason.op_redirect",
            RedirectKind::Prune => "reason.op_prune",
            RedirectKind::Clear => "reason.op_clear",
        },
    )
}

pub fn skip_text(lang: Lang, r: &SkipReason) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match r {
        SkipReason::Excluded => t("reason.excluded").into(),
        SkipReason::Disabled => t("reason.disabled").into(),
        SkipReason::GatewaySyncs { setting } => {
            fill(t("reason.gateway_syncs"), &[&setting.setting()])
        }
        SkipReason::PatternUnreadable { pattern } => {
            fill(t("reason.pattern_unreadable"), &[pattern])
        }
        SkipReason::EmptyUpstream { kept } => fill(t("reason.empty_upstream"), &[kept]),
        SkipReason::FilteredEmpty { upstream, kept } => {
            fill(t("reason.filtered_empty"), &[upstream, kept])
        }
        SkipReason::NoMappingSupport { site } => fill(t("reason.no_mapping"), &[&site.label()]),
        SkipReason::Text { text } => text.clone(),
    }
}

pub fn review_text(lang: Lang, r: &ReviewReason) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match r {
        ReviewReason::RoutesLost { routes } => {
            let list: Vec<String> = routes.iter().map(LostRoutes::text).collect();
            fill(t("reason.routes_lost"), &[&list.join("; ")])
        }
        ReviewReason::OverThreshold {
            removed,
            total,
            threshold,
        } => fill(
            t("reason.over_threshold"),
            &[
                removed,
                total,
                &ReviewReason::percent(*removed, *total),
                threshold,
            ],
        ),
        ReviewReason::ChangedSincePlan => t("reason.changed_since_plan").into(),
        ReviewReason::ChangedSincePreview => t("reason.changed_since_preview").into(),
        ReviewReason::ChangedSinceWrite => t("reason.changed_since_write").into(),
        ReviewReason::SnapshotMappingUnreadable => t("reason.snapshot_mapping").into(),
        ReviewReason::RevertHold {
            hold: RevertHold::EmptyModelList { site },
        } => fill(t("reason.revert_empty_models"), &[&site.label()]),
        ReviewReason::MappingUnreadable { error, clearing } => fill(
            t(if *clearing {
                "reason.mapping_unreadable_clear"
            } else {
                "reason.mapping_unreadable_write"
            }),
            &[error],
        ),
        ReviewReason::MappingUnreadableForGenerated { error } => {
            fill(t("reason.mapping_unreadable_generated"), &[error])
        }
        ReviewReason::NoPrice { count, unknown } => {
            let why = if *unknown { t("price.unknown") } else { "" };
            fill(t("reason.no_price"), &[count, &why])
        }
        ReviewReason::Text { text } => text.clone(),
    }
}

pub fn item_reason_text(lang: Lang, r: &ItemReason) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match r {
        ItemReason::Skip(s) => skip_text(lang, s),
        ItemReason::Review(r) => review_text(lang, r),
        ItemReason::Note(ItemNote::DryRunWouldWrite) => t("reason.dry_run").into(),
        ItemReason::Note(ItemNote::AlreadyPlanned) => t("reason.already_planned").into(),
        ItemReason::Note(ItemNote::AlreadyAsSnapshot) => t("reason.already_snapshot").into(),
        ItemReason::Note(ItemNote::NothingToChange { op }) => {
            fill(t("reason.nothing_to_change"), &[&op_text(lang, *op)])
        }
        ItemReason::Text(text) => text.clone(),
    }
}

pub fn run_error_text(lang: Lang, e: &RunError) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match e {
        RunError::ChannelTimeout { secs } => fill(t("runerr.timeout"), &[secs]),
        RunError::ChangedDuringWrite => t("runerr.changed").into(),
        RunError::Unstorable { names } => {
            let mut list: Vec<String> = names
                .iter()
                .take(UNSTORABLE_SHOWN)
                .map(|n| format!("{n:?}"))
                .collect();
            if names.len() > UNSTORABLE_SHOWN {
                list.push(fill(t("runerr.more"), &[&(names.len() - UNSTORABLE_SHOWN)]));
            }
            fill(t("runerr.unstorable"), &[&list.join(", ")])
        }
        RunError::Redirected { status, location } => {
            let location = location.as_deref().filter(|l| !l.is_empty());
            match (status, location) {
                (Some(s), Some(l)) => fill(t("runerr.redirect_status_to"), &[s, &l]),
                (Some(s), None) => fill(t("runerr.redirect_status"), &[s]),
                (None, Some(l)) => fill(t("runerr.redirect_to"), &[&l]),
                (None, None) => t("runerr.redirect").into(),
            }
        }
        RunError::InsecureRefused => t("runerr.insecure").into(),
        RunError::ChannelNotFound { id } => fill(t("runerr.not_found"), &[id]),
        RunError::RoutesNotRestored { routes, error } => {
            let list: Vec<String> = routes.iter().map(LostRoutes::text).collect();
            let list = list.join("; ");
            match error {
                Some(e) => fill(t("runerr.routes_not_restored_err"), &[&list, e]),
                None => fill(t("runerr.routes_not_restored"), &[&list]),
            }
        }
        RunError::UpstreamUnreadable { upstream, error } => {
            fill(t("runerr.upstream_unreadable"), &[upstream, error])
        }
        RunError::NoRatioSync { site } => fill(t("runerr.no_ratio_sync"), &[&site.label()]),
        RunError::RunInProgress {
            run: Some(run),
            done,
            total,
        } => fill(t("runerr.run_in_progress_of"), &[run, done, total]),
        RunError::RunInProgress { run: None, .. } => t("runerr.run_in_progress").into(),
        RunError::NothingToRun => t("runerr.nothing_to_run").into(),
        RunError::NoRunInProgress => t("runerr.no_run_in_progress").into(),
        RunError::NoStoredPlan { run } => fill(t("runerr.no_stored_plan"), &[run]),
        RunError::NothingToApply => t("runerr.nothing_to_apply").into(),
        RunError::PlanHasNoChanges => t("runerr.plan_has_no_changes").into(),
        RunError::SiteLocked {
            run: Some(run),
            since_ms: Some(ms),
        } => fill(t("runerr.site_locked_since"), &[run, ms]),
        RunError::SiteLocked {
            run: Some(run),
            since_ms: None,
        } => fill(t("runerr.site_locked_by"), &[run]),
        RunError::SiteLocked { run: None, .. } => t("runerr.site_locked").into(),
        RunError::NoChannelsSelected => t("runerr.no_channels_selected").into(),
        RunError::NoRunToRetry => t("runerr.no_run_to_retry").into(),
        RunError::NoFailedToRetry { run } => fill(t("runerr.no_failed_to_retry"), &[run]),
        RunError::NoMappingSupport { site } => fill(t("reason.no_mapping"), &[&site.label()]),
        RunError::PreviewStale { preview } => fill(t("runerr.preview_stale"), &[preview]),
        RunError::ClearNeedsConfirmation => t("runerr.clear_needs_confirmation").into(),
        RunError::RunNotInHistory { run } => fill(t("runerr.run_not_in_history"), &[run]),
        RunError::NothingToRevert { run } => fill(t("runerr.nothing_to_revert"), &[run]),
        RunError::NoSnapshot { run, channel } => fill(t("runerr.no_snapshot"), &[run, channel]),
        RunError::RemoveWhileRunning => t("runerr.remove_while_running").into(),
        RunError::ImportWhileRunning { site } => fill(t("runerr.import_while_running"), &[site]),
        RunError::NoNetwork => t("runerr.no_network").into(),
        RunError::FileNotJson { detail } => fill(t("runerr.file_not_json"), &[detail]),
        RunError::FileNotSettings => t("runerr.file_not_settings").into(),
        RunError::FileTooNew { version, max } => fill(t("runerr.file_too_new"), &[version, max]),
        RunError::FileNoVersion => t("runerr.file_no_version").into(),
        RunError::FileDamaged { detail } => fill(t("runerr.file_damaged"), &[detail]),
        RunError::FileTooLarge { bytes, max } => fill(
            t("runerr.file_too_large"),
            &[&mib(*bytes, 1), &mib(*max, 0)],
        ),
        RunError::StorageTooNew { schema, max } => {
            fill(t("runerr.storage_too_new"), &[schema, max])
        }
    }
}

fn gave_up_text(lang: Lang, g: &GaveUp) -> String {
    match g {
        GaveUp::NoTimeLeft { secs } => fill(lookup(lang, "runerr.no_time_left"), &[secs]),
        GaveUp::WaitTooLong { secs } => fill(lookup(lang, "runerr.wait_too_long"), &[secs]),
    }
}

/// An error's text: msync's own findings in the page's language, a server's text as it came.
pub(crate) fn error_parts(
    lang: Lang,
    reason: Option<&RunError>,
    message: &str,
    gave_up: Option<&GaveUp>,
) -> String {
    let base = match reason {
        Some(r) => run_error_text(lang, r),
        None => message.to_string(),
    };
    match gave_up {
        Some(g) => fill(
            lookup(lang, "runerr.gave_up"),
            &[&base, &gave_up_text(lang, g)],
        ),
        None => base,
    }
}

/// What a settings or site issue says, in `lang`.
pub fn issue_text(lang: Lang, i: &SettingsIssue) -> String {
    field_problem_text(lang, &i.reason)
}

pub fn field_problem_text(lang: Lang, p: &FieldProblem) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match p {
        FieldProblem::NameMissing => t("issue.name_missing").into(),
        FieldProblem::NameTooLong { max } => fill(t("issue.name_too_long"), &[max]),
        FieldProblem::NameTaken { name } => fill(t("issue.name_taken"), &[&format!("{name:?}")]),
        FieldProblem::Address(e) => match e {
            BaseUrlError::Empty => t("issue.address_missing").into(),
            BaseUrlError::Invalid(detail) => fill(t("issue.address_invalid"), &[detail]),
            BaseUrlError::Scheme(scheme) => fill(t("issue.address_scheme"), &[scheme]),
            BaseUrlError::NoHost => t("issue.address_no_host").into(),
            BaseUrlError::Credentials => t("issue.address_credentials").into(),
            BaseUrlError::QueryOrFragment => t("issue.address_query").into(),
        },
        FieldProblem::InsecureNeedsConsent => t("issue.insecure_consent").into(),
        FieldProblem::BadSiteId => t("issue.bad_site_id").into(),
        FieldProblem::SiteIdTwice { id } => fill(t("issue.site_id_twice"), &[id]),
        FieldProblem::CredentialsAgain => t("issue.credentials_again").into(),
        FieldProblem::CredentialsMissing { site, need } => {
            let words: Vec<&str> = need
                .fields()
                .iter()
                .map(|f| match f {
                    CredentialField::Token => t("issue.need_token"),
                    CredentialField::UserId => t("issue.need_user_id"),
                    CredentialField::Username => t("issue.need_username"),
                    CredentialField::Email => t("issue.need_email"),
                    CredentialField::Password => t("issue.need_password"),
                })
                .collect();
            fill(
                t("issue.credentials_missing"),
                &[&site.label(), &words.join(t("issue.need_and"))],
            )
        }
        FieldProblem::UserIdNotPositive => t("issue.user_id_positive").into(),
        FieldProblem::SettingsTooNew { version, max } => {
            fill(t("issue.settings_too_new"), &[version, max])
        }
        FieldProblem::OutOfRange { min, max, got } => {
            fill(t("issue.out_of_range"), &[min, max, got])
        }
        FieldProblem::NameHasComma { name } => {
            fill(t("issue.name_has_comma"), &[&format!("{:?}", name.trim())])
        }
        FieldProblem::ModelNameEmpty => t("issue.model_name_empty").into(),
        FieldProblem::PatternEmpty => t("issue.pattern_empty").into(),
        FieldProblem::BadRegex { pattern, detail } => {
            fill(t("issue.bad_regex"), &[&format!("{pattern:?}"), detail])
        }
        FieldProblem::FillNeedsUpstream => t("issue.fill_needs_upstream").into(),
        FieldProblem::FillUpstreamNameMissing => t("issue.fill_upstream_name").into(),
        FieldProblem::FillUpstreamNotHttp => t("issue.fill_upstream_http").into(),
        FieldProblem::WatchNeedsUpstream => t("issue.watch_needs_upstream").into(),
        FieldProblem::WatchTooOften { min_minutes } => {
            fill(t("issue.watch_too_often"), &[min_minutes])
        }
        FieldProblem::UnknownPreset { id } => {
            fill(t("issue.unknown_preset"), &[&format!("{id:?}")])
        }
        FieldProblem::AliasNameMissing { pattern } => {
            fill(t("issue.alias_name_missing"), &[&format!("{pattern:?}")])
        }
        FieldProblem::AliasPatternMissing { name } => {
            fill(t("issue.alias_pattern_missing"), &[&format!("{name:?}")])
        }
        FieldProblem::NoModelAfterVendor { name } => {
            fill(t("issue.no_model_after_vendor"), &[&format!("{name:?}")])
        }
        FieldProblem::SinkNameMissing => t("issue.sink_name_missing").into(),
        FieldProblem::SinkNameTwice { name } => {
            fill(t("issue.sink_name_twice"), &[&format!("{name:?}")])
        }
        FieldProblem::TestIsNotAnEvent => t("issue.test_not_event").into(),
        FieldProblem::SinkNotHttp { what } => t(match what {
            SinkAddress::WebhookUrl => "issue.webhook_not_http",
            SinkAddress::NtfyServer => "issue.ntfy_not_http",
            SinkAddress::TelegramApiBase => "issue.telegram_not_http",
        })
        .into(),
        FieldProblem::NtfyTopicInvalid => t("issue.ntfy_topic").into(),
        FieldProblem::TelegramTokenMissing => t("issue.telegram_token").into(),
        FieldProblem::TelegramChatMissing => t("issue.telegram_chat").into(),
    }
}

pub fn error_text(lang: Lang, e: &Error) -> String {
    error_parts(lang, e.reason.as_ref(), &e.message, e.gave_up.as_ref())
}

pub fn run_note_text(lang: Lang, n: &RunNote) -> String {
    let t = |id: &'static str| lookup(lang, id);
    match n {
        RunNote::DidNotStart => t("note.did_not_start").into(),
        RunNote::Cancelled => t("note.cancelled").into(),
        RunNote::ListFailed => t("note.list_failed").into(),
        RunNote::StoreFailed => t("note.store_failed").into(),
        RunNote::RevertOf { run } => fill(t("note.revert_of"), &[run]),
        RunNote::ScheduledSkipped {
            holder: Some(run), ..
        } => fill(t("note.scheduled_skipped_run"), &[run]),
        RunNote::ScheduledSkipped { holder: None, .. } => t("note.scheduled_skipped").into(),
        RunNote::Superseded { minutes, by } => fill(t("note.superseded"), &[minutes, by]),
        RunNote::RedirectAfterSync { op, of } => {
            fill(t("note.redirect_after_sync"), &[&op_text(lang, *op), of])
        }
        RunNote::RedirectFromPreview { op, preview } => fill(
            t("note.redirect_from_preview"),
            &[&op_text(lang, *op), preview],
        ),
        RunNote::RedirectAfterSyncFailed { error } => {
            fill(t("note.redirect_failed"), &[&error_text(lang, error)])
        }
        RunNote::Text { text } => text.clone(),
    }
}

/// What an item's message column says: its error, else its reason.
pub fn item_text(lang: Lang, item: &ItemResult) -> String {
    match (&item.message, &item.reason) {
        (Some(m), _) => error_parts(lang, item.error_reason.as_ref(), m, item.gave_up.as_ref()),
        (None, Some(r)) => item_reason_text(lang, r),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command's error reply is worded in the page's language where msync found the problem
    /// itself, and keeps a server's text as it came.
    #[test]
    fn an_error_reply_is_worded_in_the_pages_language() {
        use crate::common::reply_problem_in;
        use msync_types::protocol::Reply;
        let ours = Reply::error(&Error {
            gave_up: Some(GaveUp::NoTimeLeft { secs: 30 }),
            ..Error::found(ErrorClass::Validation, RunError::InsecureRefused)
        });
        let zh = reply_problem_in(Lang::Zh, &ours);
        assert!(zh.contains(lookup(Lang::Zh, "runerr.insecure")), "{zh}");
        assert!(
            zh.contains(&gave_up_text(Lang::Zh, &GaveUp::NoTimeLeft { secs: 30 })),
            "{zh}"
        );
        assert!(!zh.contains("plain http"), "no English in it: {zh}");
        let server = Reply::error(&Error::new(ErrorClass::Auth, "令牌无效 / invalid token"));
        assert_eq!(
            reply_problem_in(Lang::Zh, &server),
            "令牌无效 / invalid token"
        );
        let storage = Reply::error(&Error::new(ErrorClass::Storage, "quota exceeded"));
        assert_eq!(
            reply_problem_in(Lang::Zh, &storage),
            format!("quota exceeded. {}", lookup(Lang::Zh, "error.storage"))
        );
    }
    use msync_types::error::ErrorClass;
    use msync_types::model::{AutoSync, ChannelId, SiteKind};
    use msync_types::record::RunId;

    fn skips() -> Vec<SkipReason> {
        vec![
            SkipReason::Excluded,
            SkipReason::Disabled,
            SkipReason::GatewaySyncs {
                setting: AutoSync::Octopus,
            },
            SkipReason::PatternUnreadable {
                pattern: "(?!o1).*".into(),
            },
            SkipReason::EmptyUpstream { kept: 12 },
            SkipReason::FilteredEmpty {
                upstream: 30,
                kept: 12,
            },
            SkipReason::NoMappingSupport {
                site: SiteKind::Octopus,
            },
        ]
    }

    fn reviews() -> Vec<ReviewReason> {
        vec![
            ReviewReason::RoutesLost {
                routes: vec![LostRoutes {
                    model: "gpt-4o".into(),
                    routes: vec!["fast".into(), "main".into()],
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
                error: "model_mapping is not a JSON object".into(),
                clearing: false,
            },
            ReviewReason::MappingUnreadable {
                error: "model_mapping is not a JSON object".into(),
                clearing: true,
            },
            ReviewReason::MappingUnreadableForGenerated {
                error: "model_mapping is not a JSON object".into(),
            },
            ReviewReason::NoPrice {
                count: 2,
                unknown: false,
            },
            ReviewReason::NoPrice {
                count: 2,
                unknown: true,
            },
        ]
    }

    fn reasons() -> Vec<ItemReason> {
        let mut all: Vec<ItemReason> = skips().into_iter().map(ItemReason::Skip).collect();
        all.extend(reviews().into_iter().map(ItemReason::Review));
        all.extend(
            [
                ItemNote::DryRunWouldWrite,
                ItemNote::AlreadyPlanned,
                ItemNote::AlreadyAsSnapshot,
                ItemNote::NothingToChange {
                    op: RedirectKind::Redirect,
                },
                ItemNote::NothingToChange {
                    op: RedirectKind::Prune,
                },
                ItemNote::NothingToChange {
                    op: RedirectKind::Clear,
                },
            ]
            .map(ItemReason::Note),
        );
        all
    }

    fn errors() -> Vec<RunError> {
        vec![
            RunError::ChannelTimeout { secs: 120 },
            RunError::ChangedDuringWrite,
            RunError::Unstorable {
                names: (1..=7).map(|i| format!("m{i},x")).collect(),
            },
            RunError::Redirected {
                status: Some(307),
                location: Some("https://other.example/api".into()),
            },
            RunError::Redirected {
                status: Some(301),
                location: None,
            },
            RunError::Redirected {
                status: None,
                location: Some("https://other.example/api".into()),
            },
            RunError::Redirected {
                status: None,
                location: None,
            },
            RunError::InsecureRefused,
            RunError::ChannelNotFound {
                id: ChannelId("7".into()),
            },
            RunError::RoutesNotRestored {
                routes: vec![LostRoutes {
                    model: "gpt-4o".into(),
                    routes: vec!["fast".into(), "main".into()],
                }],
                error: None,
            },
            RunError::RoutesNotRestored {
                routes: vec![LostRoutes {
                    model: "gpt-4o".into(),
                    routes: vec!["fast".into()],
                }],
                error: Some("HTTP 500".into()),
            },
            RunError::UpstreamUnreadable {
                upstream: "main(-100)".into(),
                error: "HTTP 502".into(),
            },
            RunError::NoRatioSync {
                site: SiteKind::Octopus,
            },
            RunError::RunInProgress {
                run: Some(RunId("0001700000000-00ab".into())),
                done: 3,
                total: 40,
            },
            RunError::RunInProgress {
                run: None,
                done: 0,
                total: 0,
            },
            RunError::NothingToRun,
            RunError::NoRunInProgress,
            RunError::NoStoredPlan {
                run: RunId("0001700000000-00ab".into()),
            },
            RunError::NothingToApply,
            RunError::PlanHasNoChanges,
            RunError::SiteLocked {
                run: Some(RunId("0001700000000-00ab".into())),
                since_ms: Some(1_700_000_000_000),
            },
            RunError::SiteLocked {
                run: Some(RunId("0001700000000-00ab".into())),
                since_ms: None,
            },
            RunError::SiteLocked {
                run: None,
                since_ms: None,
            },
            RunError::NoChannelsSelected,
            RunError::NoRunToRetry,
            RunError::NoFailedToRetry {
                run: RunId("0001700000000-00ab".into()),
            },
            RunError::NoMappingSupport {
                site: SiteKind::Octopus,
            },
            RunError::PreviewStale {
                preview: "p-1".into(),
            },
            RunError::ClearNeedsConfirmation,
            RunError::RunNotInHistory {
                run: RunId("0001700000000-00ab".into()),
            },
            RunError::NothingToRevert {
                run: RunId("0001700000000-00ab".into()),
            },
            RunError::NoSnapshot {
                run: RunId("0001700000000-00ab".into()),
                channel: ChannelId("12".into()),
            },
            RunError::RemoveWhileRunning,
            RunError::ImportWhileRunning {
                site: "main".into(),
            },
            RunError::NoNetwork,
            RunError::FileNotJson {
                detail: "model_mapping is not a JSON object".into(),
            },
            RunError::FileNotSettings,
            RunError::FileTooNew { version: 7, max: 1 },
            RunError::FileNoVersion,
            RunError::FileDamaged {
                detail: "model_mapping is not a JSON object".into(),
            },
            RunError::FileTooLarge {
                bytes: 17 * 1024 * 1024 + 300_000,
                max: 16 * 1024 * 1024,
            },
            RunError::StorageTooNew { schema: 9, max: 4 },
        ]
    }

    fn notes() -> Vec<RunNote> {
        let run = RunId("0001700000000-00ab".into());
        vec![
            RunNote::DidNotStart,
            RunNote::Cancelled,
            RunNote::ListFailed,
            RunNote::StoreFailed,
            RunNote::RevertOf { run: run.clone() },
            RunNote::ScheduledSkipped {
                holder: None,
                since_ms: None,
            },
            RunNote::Superseded {
                minutes: 10,
                by: run.clone(),
            },
            RunNote::RedirectAfterSync {
                op: RedirectKind::Redirect,
                of: run.clone(),
            },
            RunNote::RedirectFromPreview {
                op: RedirectKind::Clear,
                preview: "p-1".into(),
            },
            RunNote::RedirectAfterSyncFailed {
                error: Box::new(Error::found(
                    ErrorClass::Timeout,
                    RunError::ChannelTimeout { secs: 60 },
                )),
            },
        ]
    }

    fn problems() -> Vec<FieldProblem> {
        use msync_types::gateway::CredentialKind;
        vec![
            FieldProblem::NameMissing,
            FieldProblem::NameTooLong { max: 100 },
            FieldProblem::NameTaken {
                name: "main".into(),
            },
            FieldProblem::Address(BaseUrlError::Empty),
            FieldProblem::Address(BaseUrlError::Invalid("relative URL without a base".into())),
            FieldProblem::Address(BaseUrlError::Scheme("ftp".into())),
            FieldProblem::Address(BaseUrlError::NoHost),
            FieldProblem::Address(BaseUrlError::Credentials),
            FieldProblem::Address(BaseUrlError::QueryOrFragment),
            FieldProblem::InsecureNeedsConsent,
            FieldProblem::BadSiteId,
            FieldProblem::SiteIdTwice { id: "main".into() },
            FieldProblem::CredentialsAgain,
            FieldProblem::CredentialsMissing {
                site: SiteKind::NewApi,
                need: CredentialKind::TokenAndUserId,
            },
            FieldProblem::CredentialsMissing {
                site: SiteKind::Octopus,
                need: CredentialKind::UsernamePassword,
            },
            FieldProblem::CredentialsMissing {
                site: SiteKind::AxonHub,
                need: CredentialKind::EmailPassword,
            },
            FieldProblem::UserIdNotPositive,
            FieldProblem::SettingsTooNew { version: 2, max: 1 },
            FieldProblem::OutOfRange {
                min: 1,
                max: 600,
                got: 0,
            },
            FieldProblem::NameHasComma {
                name: "gpt-4o,o1".into(),
            },
            FieldProblem::ModelNameEmpty,
            FieldProblem::PatternEmpty,
            FieldProblem::BadRegex {
                pattern: "(".into(),
                detail: "unclosed group".into(),
            },
            FieldProblem::FillNeedsUpstream,
            FieldProblem::FillUpstreamNameMissing,
            FieldProblem::FillUpstreamNotHttp,
            FieldProblem::WatchNeedsUpstream,
            FieldProblem::WatchTooOften { min_minutes: 15 },
            FieldProblem::UnknownPreset { id: "nope".into() },
            FieldProblem::AliasNameMissing {
                pattern: "gpt-*".into(),
            },
            FieldProblem::AliasPatternMissing { name: "gpt".into() },
            FieldProblem::NoModelAfterVendor {
                name: "openai/".into(),
            },
            FieldProblem::SinkNameMissing,
            FieldProblem::SinkNameTwice { name: "ops".into() },
            FieldProblem::TestIsNotAnEvent,
            FieldProblem::SinkNotHttp {
                what: SinkAddress::WebhookUrl,
            },
            FieldProblem::SinkNotHttp {
                what: SinkAddress::NtfyServer,
            },
            FieldProblem::SinkNotHttp {
                what: SinkAddress::TelegramApiBase,
            },
            FieldProblem::NtfyTopicInvalid,
            FieldProblem::TelegramTokenMissing,
            FieldProblem::TelegramChatMissing,
        ]
    }

    /// A settings or site form issue reads in the page's language.
    #[test]
    fn field_problems_are_worded_in_the_pages_language() {
        for p in problems() {
            let issue = SettingsIssue::found("name", p.clone());
            assert_eq!(issue_text(Lang::En, &issue), p.to_string(), "{p:?}");
            assert_eq!(issue.message, p.to_string(), "{p:?}");
            assert_ne!(issue_text(Lang::Zh, &issue), p.to_string(), "{p:?}");
        }
    }

    /// The page's English is the engine's English (the CLI's), word for word.
    #[test]
    fn english_matches_the_engine_display() {
        for r in reasons() {
            assert_eq!(item_reason_text(Lang::En, &r), r.to_string(), "{r:?}");
        }
        for e in errors() {
            assert_eq!(run_error_text(Lang::En, &e), e.to_string(), "{e:?}");
        }
        for n in notes() {
            assert_eq!(run_note_text(Lang::En, &n), n.to_string(), "{n:?}");
        }
        let mut e = Error::new(ErrorClass::RateLimited, "HTTP 429: slow down");
        e.gave_up = Some(GaveUp::NoTimeLeft { secs: 120 });
        assert_eq!(error_text(Lang::En, &e), e.text());
        e.gave_up = Some(GaveUp::WaitTooLong { secs: 900 });
        assert_eq!(error_text(Lang::En, &e), e.text());
    }

    /// Words (three or more ASCII letters) of `text` that are not in `values`.
    fn english_words(text: &str, values: &[&str]) -> Vec<String> {
        let mut rest = text.to_string();
        for v in values {
            rest = rest.replace(v, " ");
        }
        rest.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 3)
            .map(str::to_string)
            .collect()
    }

    /// Chinese pages show no English sentence: only the values (model names, errors the server
    /// or the parser wrote, ids) stay as they are.
    #[test]
    fn chinese_has_no_english_words_but_the_values() {
        let values = [
            "\"format\": \"msync-settings\"",
            "\"version\"",
            "MiB",
            "confirm_clear",
            "gpt-4o",
            "fast",
            "main",
            "(?!o1).*",
            "model_mapping is not a JSON object",
            "Octopus",
            "auto_sync",
            "model_mapping",
            "https://other.example/api",
            "HTTP",
            "msync",
            "https",
            "http",
            "p-1",
            "main(-100)",
            "JSON",
        ];
        for r in reasons() {
            let zh = item_reason_text(Lang::Zh, &r);
            assert_eq!(english_words(&zh, &values), Vec::<String>::new(), "{zh}");
        }
        for e in errors() {
            let zh = run_error_text(Lang::Zh, &e);
            assert_eq!(english_words(&zh, &values), Vec::<String>::new(), "{zh}");
        }
        for n in notes() {
            let zh = run_note_text(Lang::Zh, &n);
            assert_eq!(english_words(&zh, &values), Vec::<String>::new(), "{zh}");
        }
        let values = [
            "https://gateway.example.com",
            "relative URL without a base",
            "https://",
            "http://",
            "ftp://",
            "https",
            "http",
            "New API",
            "Octopus",
            "AxonHub",
            "main",
            "URL",
            "unclosed group",
            "gpt-4o,o1",
            "nope",
            "gpt",
            "openai/",
            "ops",
            "price_check.fill_from",
            "price_watch.upstream",
            "msync",
            "ntfy",
            "Telegram",
            "Webhook",
            "API",
            "test",
        ];
        for p in problems() {
            let zh = field_problem_text(Lang::Zh, &p);
            assert_eq!(english_words(&zh, &values), Vec::<String>::new(), "{zh}");
        }
    }
}
