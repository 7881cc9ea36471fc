//! Records stored by msync before reasons were typed (worker storage schema 2, the CLI's state
//! files of that time) still load, their English sentences read back into typed values.
//!
//! The files in `tests/schema2/` were written by msync at the commit that introduced this crate
//! (the last one with `String` reasons): `msync plan`, `msync sync` and `msync revert` against
//! `msync-mockgw --channels 8` with channel 3 excluded and a 10 % removal threshold, copied
//! unchanged from the CLI's state directory (the worker stores the same JSON per key).

use msync_types::plan::{ChannelPlan, Decision};
use msync_types::reason::{ItemNote, ItemReason, ReviewReason, RunNote, SkipReason};
use msync_types::record::{ItemResult, ItemStatus, RunHead, RunId};

fn load<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_schema_2_revert_run_keeps_its_note_as_a_value() {
    let head: RunHead = load(include_str!("schema2/revert_head.json"));
    assert_eq!(
        head.note,
        Some(RunNote::RevertOf {
            run: RunId("1796375859584-0000".into())
        })
    );
    // Stored again, it is the typed form, and it loads as the same value.
    let again: RunHead = load(&serde_json::to_string(&head).unwrap());
    assert_eq!(again, head);
    let sync: RunHead = load(include_str!("schema2/sync_head.json"));
    assert_eq!(sync.note, None);
    assert_eq!(sync.totals.skipped, 1);
}

#[test]
fn schema_2_item_reasons_load_as_values() {
    let excluded: ItemResult = load(include_str!("schema2/item_excluded.json"));
    assert_eq!(excluded.status, ItemStatus::Skipped);
    assert_eq!(
        excluded.reason,
        Some(ItemReason::Skip(SkipReason::Excluded))
    );
    let review: ItemResult = load(include_str!("schema2/item_review.json"));
    assert_eq!(
        review.reason,
        Some(ItemReason::Review(ReviewReason::OverThreshold {
            removed: 1,
            total: 2,
            threshold: 10
        }))
    );
    let dry: ItemResult = load(include_str!("schema2/item_dry_run.json"));
    assert_eq!(
        dry.reason,
        Some(ItemReason::Note(ItemNote::DryRunWouldWrite))
    );
    // The English is what the file said, word for word.
    for (text, item) in [
        (include_str!("schema2/item_excluded.json"), &excluded),
        (include_str!("schema2/item_review.json"), &review),
        (include_str!("schema2/item_dry_run.json"), &dry),
    ] {
        let stored: serde_json::Value = load(text);
        assert_eq!(
            stored["reason"].as_str(),
            item.reason.as_ref().map(ToString::to_string).as_deref()
        );
        let again: ItemResult = load(&serde_json::to_string(item).unwrap());
        assert_eq!(&again, item);
    }
}

#[test]
fn schema_2_plan_decisions_load_as_values() {
    let skip: ChannelPlan = load(include_str!("schema2/plan_skip.json"));
    assert_eq!(
        skip.decision,
        Decision::Skip {
            reason: SkipReason::Excluded
        }
    );
    let review: ChannelPlan = load(include_str!("schema2/plan_review.json"));
    assert_eq!(
        review.decision,
        Decision::NeedsReview {
            reason: ReviewReason::OverThreshold {
                removed: 1,
                total: 2,
                threshold: 10
            }
        }
    );
}

#[test]
fn a_sentence_msync_never_wrote_is_kept_as_text() {
    let item: ItemResult = load(
        r#"{"channel_id":"1","channel_name":"a","status":"skipped","reason":"skipped by hand","attempts":0,"duration_ms":0,"started_ms":1,"finished_ms":1}"#,
    );
    assert_eq!(
        item.reason,
        Some(ItemReason::Text("skipped by hand".into()))
    );
    let head: RunHead = load(
        &include_str!("schema2/revert_head.json")
            .replace("revert of run 1796375859584-0000", "a note of another time"),
    );
    assert_eq!(
        head.note,
        Some(RunNote::Text {
            text: "a note of another time".into()
        })
    );
}
