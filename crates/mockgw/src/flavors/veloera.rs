//! Veloera (Veloera/Veloera @ 8117f302) — `docs/admin-apis.md` §2.
//!
//! A New API fork from before 2025-06-12, so it runs on the New API engine with the legacy
//! formats and these differences:
//! * the user-id header is `Veloera-User` (era A auth, Chinese messages);
//! * `GET /api/channel/:id` answers the **full key**;
//! * the channel has `model_prefix` and lacks `header_override`, `remark`, `channel_info`, `settings`;
//! * `PUT /api/channel/` accepts `status` and writes read-only fields; its answer holds the key;
//! * fetch-models: `data:null` when empty, errors `status code: 401` / `解析响应失败: …`;
//!   the preview route fails with HTTP 500 `Failed to fetch models`.
//! * rate limit 180 per 180 s, 429 with an empty body and no `Retry-After`.

use super::new_api::{Dialect, NewApiFamily};
use crate::config::Era;

pub fn flavor() -> NewApiFamily {
    NewApiFamily {
        d: Dialect {
            veloera: true,
            legacy: true,
            era: Era::A,
            user_header: "veloera-user",
            system_name: "Veloera",
            default_version: "v0.3.2",
        },
    }
}
