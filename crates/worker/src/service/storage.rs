//! What the worker keeps in storage, the schema version, and the migrations between versions.
//!
//! Layout (schema 2):
//!
//! | key | value |
//! |---|---|
//! | `meta` | [`Meta`]: schema version, extension version, start counters |
//! | `sites` | every [`Site`] as one JSON array — holds the gateways' secrets |
//! | `notify` | the notification settings (`notify.rs`) — holds the sinks' secrets (bot tokens, webhook keys); pages get them blanked |
//! | `notify/…`, `pricing/…` | the delivery log and suppression times; price watch observations (no secrets) |
//! | `settings/{site}` | the site's [`SyncSettings`] |
//! | `sync/{site}/…` | run history, checkpoints, snapshots, plans and the run lock (see `msync_core::history`) |
//!
//! Schema 1 (the first builds) had `meta` and `sites` only. Each step from version `n` to `n + 1`
//! is one function in [`MIGRATIONS`]; a store written by a newer msync is refused, unchanged.

use msync_core::model::{Site, SiteId};
use msync_core::reason::RunError;
use msync_core::settings::{SiteDefaults, SyncSettings};
use msync_core::store::{KvStore, StoreError};
use msync_core::{Error, ErrorClass};
use serde::{Deserialize, Serialize};

/// Version of the layout of what we keep in storage; bump with a migration.
pub const SCHEMA_VERSION: u32 = 4;
pub const KEY_META: &str = "meta";
pub const KEY_SITES: &str = "sites";
pub const SETTINGS_PREFIX: &str = "settings/";

pub fn settings_key(site: &SiteId) -> String {
    format!("{SETTINGS_PREFIX}{}", site.0)
}

/// Prefix of everything the engine stores for a site (history, lock, snapshots).
pub fn history_prefix(site: &SiteId) -> String {
    msync_core::history::site_prefix(site)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub schema: u32,
    pub version: String,
    pub installed_at: u64,
    pub last_start: u64,
    pub starts: u64,
}

pub fn store_err(e: StoreError) -> Error {
    msync_core::history::store_error(e)
}

pub async fn get_json<T: serde::de::DeserializeOwned>(
    store: &dyn KvStore,
    key: &str,
) -> Result<Option<T>, Error> {
    match store.get(key).await.map_err(store_err)? {
        None => Ok(None),
        // Through a `Value`: the stored enums are read from one anyway
        // (`crates/types/src/stored.rs`), so each type has one reader, not a text reader too.
        Some(text) => serde_json::from_str::<serde_json::Value>(&text)
            .and_then(serde_json::from_value)
            .map(Some)
            .map_err(|e| Error::invalid_response(format!("stored {key} is damaged: {e}"))),
    }
}

pub async fn put_json<T: Serialize>(
    store: &dyn KvStore,
    key: &str,
    value: &T,
) -> Result<(), Error> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::validation(format!("could not encode {key}: {e}")))?;
    store.set(key, text).await.map_err(store_err)
}

pub async fn load_sites(store: &dyn KvStore) -> Result<Vec<Site>, Error> {
    Ok(get_json(store, KEY_SITES).await?.unwrap_or_default())
}

pub async fn save_sites(store: &dyn KvStore, sites: &[Site]) -> Result<(), Error> {
    put_json(store, KEY_SITES, &sites).await
}

/// A site's settings (defaults when none are stored yet).
pub async fn load_settings(store: &dyn KvStore, site: &SiteId) -> Result<SyncSettings, Error> {
    Ok(get_json(store, &settings_key(site))
        .await?
        .unwrap_or_default())
}

pub async fn save_settings(
    store: &dyn KvStore,
    site: &SiteId,
    settings: &SyncSettings,
) -> Result<(), Error> {
    put_json(store, &settings_key(site), settings).await
}

/// A base URL as stored: trimmed, without trailing slashes.
pub fn normalize_base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

type Migration =
    for<'a> fn(
        &'a dyn KvStore,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + 'a>>;

/// `MIGRATIONS[i]` takes a store from schema `i + 1` to `i + 2`.
pub const MIGRATIONS: [Migration; 3] = [
    |s| Box::pin(migrate_1_to_2(s)),
    |s| Box::pin(migrate_2_to_3(s)),
    |s| Box::pin(migrate_3_to_4(s)),
];

/// Schema 1 → 2: site base URLs are normalized (schema 1 stored them as typed, so a trailing
/// slash or spaces could end up in every request URL and in the host-permission pattern), and
/// every site gets its own settings record (defaults), which schema 2 reads per site.
pub async fn migrate_1_to_2(store: &dyn KvStore) -> Result<(), Error> {
    let mut sites = load_sites(store).await?;
    for site in &mut sites {
        site.base_url = normalize_base_url(&site.base_url);
        if store
            .get(&settings_key(&site.id))
            .await
            .map_err(store_err)?
            .is_none()
        {
            save_settings(store, &site.id, &SyncSettings::for_site(site.kind)).await?;
        }
    }
    if !sites.is_empty() {
        save_sites(store, &sites).await?;
    }
    Ok(())
}

/// Schema 2 → 3: skip and review reasons, run notes and msync's own errors are typed values
/// (`msync_core::reason`) instead of English sentences. Nothing is rewritten here: records load
/// through serde, which reads a stored sentence back into the value it describes
/// (`ItemReason::from_legacy`, `RunNote::from_legacy`; a plan's decisions alike), and the next
/// write of a record stores the typed form. The step exists so that an older msync meets schema
/// 3 and refuses the storage ("written by a newer msync") instead of misreading typed reasons.
pub async fn migrate_2_to_3(_store: &dyn KvStore) -> Result<(), Error> {
    Ok(())
}

/// Schema 3 → 4: the stored enums (reasons, notes, errors, jobs, plan decisions, mappings,
/// redirect previews, probe outcomes, sinks, deliveries, price watch refusals) are written in
/// serde's default form (`"excluded"`, `{"gateway_syncs": {…}}`) instead of internally tagged
/// (`{"kind": "excluded"}`), which took a second reader per type in the wasm modules
/// (`msync_types::stored`). Nothing is rewritten here: the readers take both forms, and the next
/// write of a record stores the new one. The step exists so that an older msync meets schema 4
/// and refuses the storage instead of failing on the new form record by record.
pub async fn migrate_3_to_4(_store: &dyn KvStore) -> Result<(), Error> {
    Ok(())
}

/// Bring the store to [`SCHEMA_VERSION`]; returns the schema it was at. A store without `meta`
/// but with sites is schema 1; an empty store is new. Each step is written to `meta` as soon as
/// it is done, so an interrupted migration continues where it stopped.
pub async fn migrate(store: &dyn KvStore, meta: &mut Meta) -> Result<u32, Error> {
    let from = meta.schema;
    if from > SCHEMA_VERSION {
        return Err(Error::found(
            ErrorClass::Validation,
            RunError::StorageTooNew {
                schema: from,
                max: SCHEMA_VERSION,
            },
        ));
    }
    while meta.schema < SCHEMA_VERSION {
        let step = MIGRATIONS
            .get(meta.schema.saturating_sub(1) as usize)
            .ok_or_else(|| {
                Error::validation(format!("no migration from schema {}", meta.schema))
            })?;
        step(store).await?;
        meta.schema += 1;
        put_json(store, KEY_META, meta).await?;
    }
    Ok(from)
}
