//! The worker's command handling, written against core's traits only so it can be tested
//! natively with an in-memory store and a fake transport.

use msync_core::clock::Clock;
use msync_core::gateway::{self, Ctx};
use msync_core::http::Transport;
use msync_core::model::{Site, SiteId};
use msync_core::protocol::{Command, Reply, SiteSummary};
use msync_core::store::KvStore;
use msync_core::{Error, ErrorClass};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// Version of the layout of what we keep in storage; bump with a migration.
pub const SCHEMA_VERSION: u32 = 1;
pub const KEY_META: &str = "meta";
pub const KEY_SITES: &str = "sites";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub schema: u32,
    pub version: String,
    pub installed_at: u64,
    pub last_start: u64,
    pub starts: u64,
}

pub struct Env {
    pub store: Rc<dyn KvStore>,
    pub transport: Rc<dyn Transport>,
    pub clock: Rc<dyn Clock>,
    pub version: String,
}

fn store_err(e: msync_core::store::StoreError) -> Error {
    Error::new(ErrorClass::Server, e.to_string())
}

impl Env {
    /// Record this start; create the meta record on first install.
    pub async fn record_start(&self) -> Result<Meta, Error> {
        let now = self.clock.now_ms();
        let meta = match self.store.get(KEY_META).await.map_err(store_err)? {
            Some(text) => {
                let mut m: Meta = serde_json::from_str(&text)
                    .map_err(|e| Error::invalid_response(format!("stored meta is damaged: {e}")))?;
                if m.schema > SCHEMA_VERSION {
                    return Err(Error::validation(format!(
                        "storage was written by a newer msync (schema {}); this is {}",
                        m.schema, SCHEMA_VERSION
                    )));
                }
                m.version = self.version.clone();
                m.last_start = now;
                m.starts += 1;
                m
            }
            None => Meta {
                schema: SCHEMA_VERSION,
                version: self.version.clone(),
                installed_at: now,
                last_start: now,
                starts: 1,
            },
        };
        let text = serde_json::to_string(&meta).map_err(|e| Error::validation(e.to_string()))?;
        self.store.set(KEY_META, text).await.map_err(store_err)?;
        Ok(meta)
    }

    pub async fn sites(&self) -> Result<Vec<Site>, Error> {
        match self.store.get(KEY_SITES).await.map_err(store_err)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Error::invalid_response(format!("stored sites are damaged: {e}"))),
            None => Ok(Vec::new()),
        }
    }

    async fn site(&self, id: &SiteId) -> Result<Site, Error> {
        self.sites()
            .await?
            .into_iter()
            .find(|s| &s.id == id)
            .ok_or_else(|| Error::new(ErrorClass::NotFound, format!("no site with id {id}")))
    }

    fn gateway(&self, site: Site) -> Box<dyn gateway::Gateway> {
        gateway::connect(Ctx::new(site, self.transport.clone(), self.clock.clone()))
    }

    pub async fn handle(&self, cmd: Command) -> Reply {
        match self.try_handle(cmd).await {
            Ok(r) => r,
            Err(e) => Reply::error(&e),
        }
    }

    async fn try_handle(&self, cmd: Command) -> Result<Reply, Error> {
        Ok(match cmd {
            Command::Ping => Reply::Pong {
                version: self.version.clone(),
                schema: SCHEMA_VERSION,
            },
            Command::ListSites => Reply::Sites {
                sites: self
                    .sites()
                    .await?
                    .into_iter()
                    .map(|s| SiteSummary {
                        has_credentials: !s.credentials.secrets().is_empty(),
                        user_id: s.credentials.user_id,
                        username: s.credentials.username.clone(),
                        insecure: false,
                        id: s.id,
                        name: s.name,
                        kind: s.kind,
                        base_url: s.base_url,
                    })
                    .collect(),
            },
            Command::TestSite { site } => {
                let gw = self.gateway(self.site(&site).await?);
                Reply::Connection {
                    report: gw.test_connection().await?,
                }
            }
            Command::ListChannels { site } => {
                let gw = self.gateway(self.site(&site).await?);
                Reply::Channels {
                    channels: gw.list_channels().await?,
                }
            }
            other => {
                return Err(Error::validation(format!(
                    "this worker build does not handle {other:?} yet"
                )))
            }
        })
    }
}

/// Parse a message from a page; anything malformed becomes a clear error reply.
pub fn parse_command(value: serde_json::Value) -> Result<Command, Error> {
    serde_json::from_value(value).map_err(|e| Error::validation(format!("invalid message: {e}")))
}
