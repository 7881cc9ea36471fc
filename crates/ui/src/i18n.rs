//! English and Simplified Chinese UI text, keyed by message id. The language follows the
//! browser (`navigator.language`) until the user picks one.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

/// Texts the engine and the worker write into runs (skip and review reasons, run notes, time
/// limits), as (English with `{}` for each value, Chinese with `{0}`, `{1}`, …). Stored records
/// stay English (they are exported and read by the CLI); the UI shows them in its language.
static ENGINE_TEXT: &[(&str, &str)] = &[
    ("the channel is excluded from sync", "该渠道已排除在同步之外"),
    ("the channel is disabled (disabled channels are skipped; see settings)", "该渠道已禁用（禁用的渠道会被跳过；见设置）"),
    ("dry run: would write", "试运行：将会写入"),
    ("the channel already holds the planned models", "该渠道已是计划中的模型列表"),
    ("the channel changed since the plan was made; plan again, or apply with force", "计划生成后该渠道已被修改；请重新计划，或强制应用"),
    ("the channel is already as in the snapshot", "该渠道已与快照一致"),
    ("the channel changed after the sync wrote it; revert with force to overwrite those changes", "同步写入后该渠道又被修改；强制回滚才会覆盖这些修改"),
    // `msync_types::hold::RevertHold::EmptyModelList`, as its `Display` renders it.
    ("the channel had no models before that run, and {} cannot store an empty model list; nothing was written (remove the models in the gateway's own page if the channel should have none)", "该渠道在那次运行之前没有模型，而 {0} 无法保存空的模型列表；未写入任何内容（如该渠道应当没有模型，请在网关自己的页面中移除）"),
    ("the upstream returned an empty model list; the channel keeps its {} models (allow empty lists for this channel to change that)", "上游返回了空模型列表；渠道保留原有的 {0} 个模型（可为该渠道允许空列表）"),
    ("the filters leave no model of the {} the upstream listed; the channel keeps its {} models", "上游列出的 {0} 个模型全部被过滤；渠道保留原有的 {1} 个模型"),
    ("would remove {} of {} models ({}%), more than the {}% threshold; confirm it from a dry-run plan", "将移除 {1} 个模型中的 {0} 个（{2}%），超过 {3}% 的阈值；请从试运行计划中确认"),
    ("the gateway syncs this channel's models itself ({}); msync leaves it alone", "网关自身会同步该渠道的模型（{0}）；msync 不做改动"),
    ("the gateway's model pattern {} cannot be evaluated here; the channel is left alone", "此处无法计算网关的模型匹配规则 {0}；渠道保持不变"),
    ("would delete the gateway's routes to removed models: {}; confirm it from a dry-run plan", "将删除网关中指向被移除模型的路由：{0}；请从试运行计划中确认"),
    ("the channel changed since the preview; preview again, or apply with force", "预览后该渠道已被修改；请重新预览，或强制应用"),
    ("nothing to change ({})", "无需更改（{0}）"),
    ("the channel took longer than the {} s limit", "该渠道处理超过了 {0} 秒的时限"),
    ("{} (no time left for another retry within the {} s limit)", "{0}（{1} 秒时限内已无时间再次重试）"),
    ("the run did not start", "本次运行未能开始"),
    ("the site cannot store model names with a comma (it keeps a channel's models as one comma-separated text and would split them): {}; nothing was written (exclude them with a rule to sync the other models)", "该站点无法保存含逗号的模型名（它把渠道的模型存为一个逗号分隔的文本，会把它们拆开）：{0}；未写入任何内容（可用规则排除它们以同步其余模型）"),
    ("the server answered HTTP {} with a redirect to {}; msync does not follow redirects (they could carry the credentials to another address): if the gateway moved, change the site's address", "服务器以 HTTP {0} 重定向到 {1}；msync 不跟随重定向（重定向可能把凭据带到其他地址）：如果网关已迁移，请修改站点地址"),
    ("the server answered with a redirect; msync does not follow redirects (they could carry the credentials to another address): if the gateway moved, change the site's address", "服务器返回了重定向；msync 不跟随重定向（重定向可能把凭据带到其他地址）：如果网关已迁移，请修改站点地址"),
    ("refusing to send the credentials over plain http to a non-local host; use https, or allow insecure http for this site explicitly", "拒绝通过明文 http 向非本地主机发送凭据；请使用 https，或为该站点明确允许不安全的 http"),
    ("cancelled by the user", "已被用户取消"),
    ("held back: no price for {} model(s); apply the plan to add them", "已暂缓：{0} 个模型没有价格；应用计划即可添加"),
    ("held back: no price for {} model(s) (the site's prices could not be read); apply the plan to add them", "已暂缓：{0} 个模型没有价格（无法读取站点价格）；应用计划即可添加"),
    ("could not list the site's channels", "无法获取站点的渠道列表"),
    ("stopped: results could not be stored", "已停止：无法保存结果"),
    ("the channel was changed by someone else while msync worked on it; nothing was written (run again to sync it as it is now)", "msync 处理期间该渠道被他人修改；未写入任何内容（再次运行即可按其当前状态同步）"),
    ("revert of run {}", "回滚运行 {0}"),
    ("scheduled run skipped: {} is in progress", "已跳过定时运行：{0} 正在进行"),
    ("interrupted and not resumed within {} minutes; superseded by run {}", "中断后 {0} 分钟内未恢复；已由运行 {1} 取代"),
];

/// The values of `text` in the places of `template`'s `{}`, if it has that shape.
fn captures<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let (first, rest) = parts.split_first()?;
    let mut at = text.strip_prefix(first)?;
    let mut values = Vec::new();
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let end = if last {
            at.len()
                .checked_sub(part.len())
                .filter(|&e| at.is_char_boundary(e) && at[e..] == **part)?
        } else if part.is_empty() {
            return None;
        } else {
            at.find(part)?
        };
        values.push(&at[..end]);
        at = &at[end + part.len()..];
    }
    (parts.len() > 1 || text == template).then_some(values)
}

/// `text` from the engine in `lang` (unknown texts, such as a server's own error, unchanged).
pub fn engine_text(lang: Lang, text: &str) -> String {
    if lang == Lang::En {
        return text.to_string();
    }
    for (en, zh) in ENGINE_TEXT {
        if let Some(values) = captures(en, text) {
            let args: Vec<&dyn std::fmt::Display> =
                values.iter().map(|v| v as &dyn std::fmt::Display).collect();
            return crate::format::fill(zh, &args);
        }
    }
    text.to_string()
}

/// The text for `id`; an unknown id shows itself (and the test below keeps that from shipping).
pub fn lookup(lang: Lang, id: &'static str) -> &'static str {
    match TABLE.binary_search_by(|(k, _, _)| k.cmp(&id)) {
        Ok(i) => match lang {
            Lang::En => TABLE[i].1,
            Lang::Zh => TABLE[i].2,
        },
        Err(_) => id,
    }
}

/// The text for an id built at run time (`sites.hint_{site type}`), if the table has it.
pub fn lookup_built(lang: Lang, id: &str) -> Option<&'static str> {
    let i = TABLE.binary_search_by(|(k, _, _)| (*k).cmp(id)).ok()?;
    Some(match lang {
        Lang::En => TABLE[i].1,
        Lang::Zh => TABLE[i].2,
    })
}

/// The key of the hint under a site type's credential fields (where its admin finds them).
pub fn site_hint_key(kind: msync_types::model::SiteKind) -> String {
    format!("sites.hint_{}", kind.as_str())
}

/// (id, English, 简体中文), sorted by id.
static TABLE: &[(&str, &str, &str)] = &[
    ("aah.action_conflict", "Not imported: msync site “{0}” has this address with another type", "不导入：msync 站点“{0}”以其他类型使用此地址"),
    ("aah.action_create", "New site", "新建站点"),
    ("aah.action_incomplete", "Not imported: credentials missing — add the site on the Sites page", "不导入：缺少凭据——请在“站点”页手动添加"),
    ("aah.action_update", "Updates msync site “{0}”", "更新 msync 站点“{0}”"),
    ("aah.active", "active in All API Hub", "All API Hub 中的当前站点"),
    ("aah.body", "Choose the JSON file All API Hub exported (Import/Export → Export all data, or an unencrypted WebDAV backup). You see what would be created or changed, site by site, before anything is saved.", "选择 All API Hub 导出的 JSON 文件（导入/导出 → 导出全部数据，或未加密的 WebDAV 备份）。保存前会逐个站点显示将新建或修改的内容。"),
    ("aah.choose_file", "All API Hub export (.json)", "All API Hub 导出文件（.json）"),
    ("aah.col_imported", "Imported", "导入后"),
    ("aah.col_now", "Now", "当前"),
    ("aah.col_setting", "Setting", "设置项"),
    ("aah.confirm", "Import", "导入"),
    ("aah.consent", "Update this site with the changes below", "用以下变更更新此站点"),
    ("aah.credentials_change", "Its access credentials will be replaced with the ones in the file.", "其访问凭据将替换为文件中的凭据。"),
    ("aah.done", "Imported: {0} created, {1} updated, {2} skipped.", "导入完成：新建 {0} 个，更新 {1} 个，跳过 {2} 个。"),
    ("aah.e_empty", "The file is empty.", "文件为空。"),
    ("aah.e_encrypted", "This WebDAV backup is encrypted by All API Hub; restore it in All API Hub, export all data and import that file.", "此 WebDAV 备份已被 All API Hub 加密；请先在 All API Hub 中恢复，导出全部数据后再导入该文件。"),
    ("aah.e_msync", "This is an msync settings file, not an All API Hub export: use Import above.", "这是 msync 的设置文件，不是 All API Hub 导出文件：请使用上方的“导入”。"),
    ("aah.e_no_prefs", "This export holds accounts only; in All API Hub export all data or the settings.", "此导出文件只包含账号；请在 All API Hub 中导出全部数据或设置。"),
    ("aah.e_no_sites", "The file has no self-hosted site with an address (All API Hub: Settings → Self-hosted site management).", "文件中没有填写地址的自建站点（All API Hub：设置 → 自建站点管理）。"),
    ("aah.e_not_export", "This is not an All API Hub export (no timestamp and no settings or accounts section).", "这不是 All API Hub 导出文件（缺少 timestamp 以及设置或账号部分）。"),
    ("aah.e_not_json", "The file is not JSON (line {0}, column {1}); choose the .json file All API Hub exported.", "文件不是 JSON（第 {0} 行第 {1} 列）；请选择 All API Hub 导出的 .json 文件。"),
    ("aah.e_nothing", "Nothing was imported.", "未导入任何内容。"),
    ("aah.e_too_large", "The file is {0} bytes; an All API Hub export is at most {1} bytes.", "文件大小为 {0} 字节；All API Hub 导出文件最多 {1} 字节。"),
    ("aah.e_truncated", "The file ends in the middle of its JSON (an interrupted download?); export it again.", "文件的 JSON 不完整（下载被中断？），请重新导出。"),
    ("aah.e_version", "Backup version {0} is not one msync knows (1.0–4.0): it was written by a newer All API Hub.", "msync 不认识备份版本 {0}（支持 1.0–4.0）：它由更新版本的 All API Hub 写入。"),
    ("aah.f_email", "email", "邮箱"),
    ("aah.f_password", "password", "密码"),
    ("aah.f_token", "access token", "访问令牌"),
    ("aah.f_user_id", "user id", "用户 ID"),
    ("aah.f_username", "username", "用户名"),
    ("aah.hours", "{0} h", "{0} 小时"),
    ("aah.ignored", "Not imported (no msync equivalent): {0}", "未导入（msync 无对应功能）：{0}"),
    ("aah.key_allow", "Allow-list", "允许列表"),
    ("aah.key_auto_sync", "Auto-sync", "自动同步"),
    ("aah.key_burst", "Burst", "突发容量"),
    ("aah.key_channel_rules", "Filter rules of channel {0}", "渠道 {0} 的过滤规则"),
    ("aah.key_concurrency", "Concurrency", "并发数"),
    ("aah.key_interval", "Auto-sync interval", "自动同步间隔"),
    ("aah.key_presets", "Redirect presets", "重定向预设"),
    ("aah.key_prune", "Prune missing redirect targets", "清理失效的重定向目标"),
    ("aah.key_redirect", "Model redirect after sync", "同步后模型重定向"),
    ("aah.key_retries", "Max retries", "最大重试次数"),
    ("aah.key_rpm", "Requests per minute", "每分钟请求数"),
    ("aah.key_rules", "Global filter rules", "全局过滤规则"),
    ("aah.key_scope", "Rate-limit scope", "限速范围"),
    ("aah.key_standard", "Standard models", "标准模型"),
    ("aah.key_timeout", "Per-channel time limit", "单渠道时限"),
    ("aah.minutes", "{0} min", "{0} 分钟"),
    ("aah.no_changes", "No setting changes.", "设置无变化。"),
    ("aah.no_limit", "none", "不限"),
    ("aah.none", "(none)", "（无）"),
    ("aah.r_empty", "its pattern is empty.", "其匹配模式为空。"),
    ("aah.r_no_name", "it has no name, so All API Hub never applied it.", "它没有名称，All API Hub 从未应用它。"),
    ("aah.r_not_object", "it is not a rule object.", "它不是规则对象。"),
    ("aah.r_regex", "its regular expression does not compile ({0}); All API Hub never matched it either.", "其正则表达式无法编译（{0}）；All API Hub 也从未用它匹配到模型。"),
    ("aah.rule_exclude", "exclude", "排除"),
    ("aah.rule_glob", "glob", "通配"),
    ("aah.rule_include", "include", "包含"),
    ("aah.rule_off", " (off)", "（已停用）"),
    ("aah.rule_regex", "regex", "正则"),
    ("aah.rule_substring", "substring", "子串"),
    ("aah.scope_global", "one bucket for the run", "整次运行共用一个令牌桶"),
    ("aah.scope_host", "per upstream host", "按上游主机"),
    ("aah.seconds", "{0} s", "{0} 秒"),
    ("aah.source", "All API Hub backup {0}, settings version {1}", "All API Hub 备份 {0}，设置版本 {1}"),
    ("aah.title", "Import from All API Hub", "从 All API Hub 导入"),
    ("aah.w_auto_sync_on", "Auto-sync will be ON (every {0}): scheduled runs change channels without asking; msync still holds large removals for review.", "自动同步将开启（每 {0}）：定时运行会直接修改渠道而不再询问；msync 仍会暂缓大比例删除以待确认。"),
    ("aah.w_bad_url", "{0} site “{1}” is not imported: its address is not an http(s) URL.", "{0} 站点“{1}”不会导入：地址不是 http(s) URL。"),
    ("aah.w_clamped", "{0}: {1} is outside msync's range, set to {2}.", "{0}：{1} 超出 msync 的范围，已设为 {2}。"),
    ("aah.w_global", " (global)", "（全局）"),
    ("aah.w_legacy", "{0} per-channel filter setting(s) in the old format (no site address) are not imported; All API Hub ignores them on import too.", "{0} 条旧格式（无站点地址）的渠道过滤设置不会导入；All API Hub 导入时同样会忽略它们。"),
    ("aah.w_login", "{0} not imported: msync signs in with the access token only.", "{0} 不会导入：msync 只使用访问令牌登录。"),
    ("aah.w_missing", "Missing {0}: give them before the site can connect.", "缺少{0}：补全后站点才能连接。"),
    ("aah.w_newer_prefs", "The settings come from a newer All API Hub (settings version {0}; msync knows up to {1}): fields it does not know are ignored.", "设置来自更新版本的 All API Hub（设置版本 {0}，msync 支持到 {1}）：无法识别的字段将被忽略。"),
    ("aah.w_newly", "All API Hub could not sync this site type; msync can. Auto-sync and redirect stay off until you turn them on.", "All API Hub 无法同步此类站点，msync 可以。自动同步和重定向保持关闭，需手动开启。"),
    ("aah.w_not_active", "Auto-sync stays off for this site: All API Hub ran it only for its active site type ({0}).", "此站点保持自动同步关闭：All API Hub 只对其当前站点类型（{0}）自动同步。"),
    ("aah.w_octopus", "The allow-list ({0}) and global rules ({1}) are not carried over: All API Hub never applied them to Octopus.", "允许列表（{0} 项）和全局规则（{1} 条）不会带入：All API Hub 从未对 Octopus 应用它们。"),
    ("aah.w_of_channel", " of channel {0}", "（渠道 {0}）"),
    ("aah.w_orphan", "{0} rule(s) of channel {1} on {2} site {3} are not imported: that site is not in the file.", "{2} 站点 {3} 上渠道 {1} 的 {0} 条规则不会导入：文件中没有该站点。"),
    ("aah.w_probe", "Probe rule “{0}”{1} is not imported: msync has no probe filters yet, so models are not tested before they are kept.", "探测规则“{0}”{1}不会导入：msync 暂无探测过滤，模型不会先经测试再保留。"),
    ("aah.w_prune_on", "Pruning redirect targets after each sync will be ON: mappings whose target vanished are removed.", "每次同步后清理重定向目标将开启：目标已消失的映射会被删除。"),
    ("aah.w_redirect_not_run", "Model redirect stays off: All API Hub never ran it for this site type.", "模型重定向保持关闭：All API Hub 从未对此类站点执行重定向。"),
    ("aah.w_rule_skipped", "Rule “{0}”{1} is not imported: {2}", "规则“{0}”{1}不会导入：{2}"),
    ("aah.w_same_url", "msync site “{0}” has this address but type {1}: not changed.", "msync 站点“{0}”使用此地址但类型为 {1}：不做更改。"),
    ("aah.w_unsupported", "{0} site {1} is not imported: msync does not manage {0}.", "{0} 站点 {1} 不会导入：msync 不管理 {0}。"),
    ("aah.w_user_id", "User id “{0}” is not a positive number.", "用户 ID“{0}”不是正整数。"),
    ("aah.w_user_id_unused", "The user id is not imported: msync's DoneHub connection does not use it.", "用户 ID 不会导入：msync 连接 DoneHub 时不使用它。"),
    ("aah.warnings", "Read before importing", "导入前请阅读"),
    ("col.actions", "Actions", "操作"),
    ("col.attempts", "Attempts", "尝试次数"),
    ("col.changes", "Changes", "变更"),
    ("col.duration", "Duration", "耗时"),
    ("col.finished", "Finished at", "完成时间"),
    ("col.http", "HTTP", "HTTP"),
    ("col.id", "ID", "ID"),
    ("col.message", "Message", "消息"),
    ("col.name", "Channel", "渠道"),
    ("col.status", "Status", "状态"),
    ("common.cancel", "Cancel", "取消"),
    ("common.close", "Close", "关闭"),
    ("common.edit", "Edit", "编辑"),
    ("common.loading", "Loading…", "加载中…"),
    ("common.no", "No", "否"),
    ("common.off", "Off", "关闭"),
    ("common.on", "On", "开启"),
    ("common.remove", "Remove", "删除"),
    ("common.save", "Save", "保存"),
    ("common.yes", "Yes", "是"),
    ("diff.cut", "Long lists: showing {0} of {1} old and {2} of {3} new names. Export the run (JSON or CSV) for every name.", "列表过长：显示原列表 {1} 个中的 {0} 个、新列表 {3} 个中的 {2} 个。导出本次运行（JSON 或 CSV）可查看全部。"),
    ("diff.new", "New models", "新模型列表"),
    ("diff.old", "Old models", "原模型列表"),
    ("diff.title", "Model changes", "模型变更"),
    ("error.storage", "Local storage is full or failing, so msync stopped before writing anything more to the site. Delete old runs in History (or lower “Keep runs” in Settings), then run again: an interrupted run continues where it stopped.", "本地存储已满或出错，msync 已停止，不会再向站点写入任何内容。请在“历史”中删除旧的运行记录（或在设置中调低“保留运行数”），然后再次运行：中断的运行会从停止处继续。"),
    ("hist.details", "Details", "详情"),
    ("hist.mode", "Kind", "类型"),
    ("hist.run", "Run", "运行"),
    ("hist.state", "State", "状态"),
    ("hist.trigger", "Trigger", "触发方式"),
    ("io.autosync_every", "every {0} min", "每 {0} 分钟"),
    ("io.autosync_warning", "This file turns on auto-sync for these sites with settings under which scheduled runs remove models without asking. Import it only if that is what you want; nothing has been imported yet.", "该文件会为以下站点开启自动同步，且其设置会让定时运行在不询问的情况下移除模型。仅在确实需要时才导入；目前尚未导入任何内容。"),
    ("io.choose_file", "Settings file (.json)", "设置文件（.json）"),
    ("io.destructive_allow_empty", "an empty upstream list may empty a channel", "上游返回空列表时可能清空渠道"),
    ("io.destructive_no_threshold", "no removal is held for review (threshold 100 %)", "任何移除都不会暂停待审（阈值 100%）"),
    ("io.destructive_prune", "redirect mappings whose target is gone are removed", "目标已不存在的重定向映射会被删除"),
    ("io.export", "Export settings", "导出设置"),
    ("io.export_body", "Every site and its sync settings as one JSON file. Tokens and passwords are left out unless you tick the box.", "将所有站点及其同步设置导出为一个 JSON 文件。除非勾选下方选项，否则不包含令牌和密码。"),
    ("io.export_title", "Export", "导出"),
    ("io.exported", "Downloaded", "已下载"),
    ("io.import_anyway", "Import anyway", "仍然导入"),
    ("io.import_body", "Replaces the sites and settings with those in the file. Malformed files and files from a newer msync are refused; nothing is changed then.", "用文件中的站点和设置替换当前配置。格式错误或来自更新版本 msync 的文件会被拒绝，此时不做任何更改。"),
    ("io.import_title", "Import", "导入"),
    ("io.imported", "Settings imported.", "设置已导入。"),
    ("io.include_secrets", "Include tokens and passwords", "包含令牌和密码"),
    ("io.refused", "Import refused:", "导入被拒绝："),
    ("io.secrets_warning", "The file will contain admin credentials in plain text. Keep it private.", "文件将以明文包含管理员凭据，请妥善保管。"),
    ("io.too_large", "The file is {0} MiB; a settings file is at most {1} MiB. Nothing was imported.", "文件大小为 {0} MiB；设置文件最大为 {1} MiB。未导入任何内容。"),
    ("lang.label", "Language", "语言"),
    ("mode.all", "All channels", "全部渠道"),
    ("mode.apply", "Apply plan", "应用计划"),
    ("mode.dry_run", "Dry run", "试运行"),
    ("mode.failed", "Retry failed", "重试失败项"),
    ("mode.redirect", "Model redirect", "模型重定向"),
    ("mode.revert", "Revert", "回滚"),
    ("mode.selected", "Selected channels", "所选渠道"),
    ("nav.history", "History", "历史"),
    ("nav.label", "Sections", "栏目"),
    ("nav.notify", "Notifications", "通知"),
    ("nav.ratios", "Ratios", "倍率同步"),
    ("nav.redirect", "Model redirect", "模型重定向"),
    ("nav.settings", "Settings", "设置"),
    ("nav.site", "Site", "站点"),
    ("nav.sites", "Sites", "站点"),
    ("nav.sync", "Model sync", "模型同步"),
    ("nav.transfer", "Import / export", "导入 / 导出"),
    ("notify.add", "Add {0}", "添加 {0}"),
    ("notify.all_sites", "all sites", "全部站点"),
    ("notify.api_base", "Telegram API address", "Telegram API 地址"),
    ("notify.bot_token", "Bot token", "机器人令牌"),
    ("notify.chat_id", "Chat id", "聊天 ID"),
    ("notify.enabled", "Enabled", "启用"),
    ("notify.ev_needs_review", "Needs review", "需要审核"),
    ("notify.ev_price_change", "Price change", "价格变动"),
    ("notify.ev_run_failed", "Run with failures", "运行有失败"),
    ("notify.ev_site_unreachable", "Site unreachable", "站点不可达"),
    ("notify.ev_test", "Test", "测试"),
    ("notify.events", "Events:", "事件："),
    ("notify.failed", "failed", "失败"),
    ("notify.hmac", "Signing key (optional, HMAC-SHA256)", "签名密钥（可选，HMAC-SHA256）"),
    ("notify.intro", "Send run failures, items held for review, upstream price changes and unreachable sites to a webhook, ntfy or a Telegram bot. The same condition is sent once per suppression time. Secrets are stored like site credentials and never shown again.", "将运行失败、待审核条目、上游价格变动和站点不可达发送到 Webhook、ntfy 或 Telegram 机器人。相同情况在抑制时间内只发送一次。密钥与站点凭据一样保存，不再显示。"),
    ("notify.log", "Delivery log", "发送记录"),
    ("notify.log_empty", "Nothing sent yet.", "尚未发送任何通知。"),
    ("notify.name", "Name", "名称"),
    ("notify.ntfy_token", "Access token (optional)", "访问令牌（可选）"),
    ("notify.remove", "Remove", "删除"),
    ("notify.secret_kept", "stored — leave empty to keep", "已保存——留空则保持不变"),
    ("notify.send_test", "Send test", "发送测试"),
    ("notify.sent", "sent", "已发送"),
    ("notify.server", "ntfy server", "ntfy 服务器"),
    ("notify.sites", "Sites", "站点"),
    ("notify.suppress", "Suppress repeats for (hours)", "重复抑制时间（小时）"),
    ("notify.suppress_hint", "Default 24; 0 sends every time.", "默认 24；0 表示每次都发送。"),
    ("notify.suppressed", "suppressed (repeat)", "已抑制（重复）"),
    ("notify.test_failed", "The test to {0} failed: {1}", "发送到 {0} 的测试失败：{1}"),
    ("notify.test_sent", "Test sent to {0}.", "测试已发送到 {0}。"),
    ("notify.testing", "Sending a test…", "正在发送测试…"),
    ("notify.threshold", "Price change threshold (%)", "价格变动阈值（%）"),
    ("notify.threshold_hint", "Price watch alerts on larger moves. Default 20.", "价格监控在变动超过此值时告警。默认 20。"),
    ("notify.topic", "Topic", "主题"),
    ("notify.url", "Webhook URL", "Webhook 地址"),
    ("plan.apply_all", "Apply all ({0})", "全部应用（{0}）"),
    ("plan.apply_selected", "Apply selected ({0})", "应用所选（{0}）"),
    ("plan.applying", "Applying the plan…", "正在应用计划…"),
    ("plan.body", "Dry run: nothing was written. {0} channel(s) would change. Review the changes below (View diff), then apply all or the selected channels.", "试运行：未写入任何内容。将有 {0} 个渠道发生变化。请在下方查看变更（查看差异），然后全部应用或只应用所选渠道。"),
    ("plan.title", "Review the plan", "审阅计划"),
    ("popup.channels_n", "{0} channels", "{0} 个渠道"),
    ("popup.last_run", "Last run", "上次运行"),
    ("popup.never_run", "Not synced yet.", "尚未同步。"),
    ("popup.open_dashboard", "Open dashboard", "打开控制台"),
    ("price.fill_endpoint", "Endpoint", "接口路径"),
    ("price.fill_failed", "Filling prices failed", "补全价格失败"),
    ("price.fill_name", "Upstream name", "上游名称"),
    ("price.fill_url", "Upstream address", "上游地址"),
    ("price.held", "Held back, no price: {0}", "已暂缓（无价格）：{0}"),
    ("price.hint", "New API and Veloera: checked against the ModelRatio and ModelPrice options (root token). Other site types are not checked.", "New API 和 Veloera：按 ModelRatio 与 ModelPrice 选项检查（需要 root 令牌）。其他站点类型不检查。"),
    ("price.mode", "Models the site has no price for", "站点未定价的模型"),
    ("price.mode_fill", "Fill their price from a ratio upstream", "从倍率上游补全价格"),
    ("price.mode_flag", "Add and flag them as unpriced", "添加并标记为未定价"),
    ("price.mode_hold", "Hold them back for review", "暂缓添加，等待审核"),
    ("price.mode_off", "Off: add them, no check", "关闭：直接添加，不检查"),
    ("price.note_filled", "Prices filled for {0} model(s) from {1}", "已从 {1} 补全 {0} 个模型的价格"),
    ("price.note_held", "Held back: no price for {0} model(s){1}; apply the plan to add them", "已暂缓：{0} 个模型没有价格{1}；应用计划即可添加"),
    ("price.note_no_api", "Price check skipped: msync reads no prices from this site type", "已跳过价格检查：msync 不读取此类站点的价格"),
    ("price.note_unpriced", "Unpriced: {0} added model(s) have no price{1}", "未定价：{0} 个新增模型没有价格{1}"),
    ("price.title", "Price check after sync", "同步后价格检查"),
    ("price.unknown", " (the site's prices could not be read)", "（无法读取站点价格）"),
    ("price.unpriced", "Unpriced: {0}", "未定价：{0}"),
    ("progress.current", "Now:", "当前："),
    ("progress.eta", "ETA", "预计剩余"),
    ("progress.line", "{0} / {1} channels", "{0} / {1} 个渠道"),
    ("rd.add_alias", "Add alias", "添加别名"),
    ("rd.alias_name", "My name", "自定义名称"),
    ("rd.alias_pattern", "Actual model pattern", "实际模型模式"),
    ("rd.aliases", "Aliases", "别名"),
    ("rd.applying", "Apply started: it runs like a sync and can be reverted from Sync or History.", "已开始应用：与同步一样运行，可在“模型同步”或“历史”中回滚。"),
    ("rd.blocked", "Blocked", "已阻止"),
    ("rd.change", "Will change", "将变更"),
    ("rd.clear", "Bulk clear…", "批量清除…"),
    ("rd.clear_body", "Removes redirect entries from the chosen channels (none chosen = every channel). A snapshot is taken first; you preview before anything is written and confirm twice.", "从所选渠道中删除重定向条目（未选择 = 所有渠道）。写入前会先创建快照；写入前可预览，并需两次确认。"),
    ("rd.clear_selected", "{0} channel(s) chosen (none = all).", "已选择 {0} 个渠道（不选 = 全部）。"),
    ("rd.confirm_clear", "Click again to clear {0} channel(s)", "再次点击以清除 {0} 个渠道"),
    ("rd.dated", "Use dated ids (claude-…-20250929) when no undated one exists", "没有不带日期的模型时使用带日期的 ID（claude-…-20250929）"),
    ("rd.enabled", "Run redirect after every sync", "每次同步后运行重定向"),
    ("rd.mapped_of", "{0} of {1} standard models mapped", "{1} 个标准模型中映射了 {0} 个"),
    ("rd.mapping_changes", "Mapping changes", "映射变更"),
    ("rd.octopus", "This site has no per-channel model mapping (Octopus uses groups): redirect does not apply here.", "此站点没有按渠道的模型映射（Octopus 使用分组）：重定向不适用。"),
    ("rd.op_clear", "bulk clear", "批量清除"),
    ("rd.op_prune", "prune", "清理"),
    ("rd.op_redirect", "redirect", "重定向"),
    ("rd.own_hint", "One per line, e.g. gpt-4o or claude-sonnet-4-5. Versions never cross: claude-4.5-sonnet never maps to claude-3.5-sonnet.", "每行一个，如 gpt-4o 或 claude-sonnet-4-5。版本不会混用：claude-4.5-sonnet 绝不会映射到 claude-3.5-sonnet。"),
    ("rd.own_models", "Your standard models", "自定义标准模型"),
    ("rd.preview", "Preview redirect", "预览重定向"),
    ("rd.preview_clear", "Preview clear", "预览清除"),
    ("rd.preview_title", "Preview", "预览"),
    ("rd.prune", "Preview prune", "预览清理"),
    ("rd.prune_after", "Prune entries whose target vanished, after each sync", "每次同步后清理目标已消失的条目"),
    ("rd.reasons", "Why, per standard model", "每个标准模型的原因"),
    ("rd.remove_names", "Also remove the standard names msync added to the model lists", "同时删除 msync 添加到模型列表中的标准名称"),
    ("rd.revertable", "Snapshots are taken first; the run can be reverted.", "写入前会创建快照；可回滚。"),
    ("rd.scope_all", "Every entry", "所有条目"),
    ("rd.scope_generated", "Only entries msync generates (hand-written ones stay)", "仅 msync 生成的条目（保留手写条目）"),
    ("rd.standard", "Standard models", "标准模型"),
    ("rd.subtitle", "Maps standard model names to each channel's actual ids under a strict version guard, merged into the channel's mapping.", "在严格的版本保护下，将标准模型名映射到各渠道的实际模型 ID，并合并进渠道映射。"),
    ("rd.totals", "{0} change · {1} unchanged · {2} blocked · {3} keys set · {4} removed", "{0} 个变更 · {1} 个无变化 · {2} 个被阻止 · 设置 {3} 个键 · 删除 {4} 个"),
    ("rd.why_alias", "mapped to {0} (alias {1})", "映射到 {0}（别名 {1}）"),
    ("rd.why_dated", "mapped to dated {0} ({1}); no undated candidate", "映射到带日期的 {0}（{1}）；没有不带日期的候选"),
    ("rd.why_dated_off", "only dated candidates ({0}); dated targets are turned off", "只有带日期的候选（{0}）；已关闭带日期的目标"),
    ("rd.why_invalid", "unusable: {0}", "不可用：{0}"),
    ("rd.why_more", " and {0} more", " 等另外 {0} 个"),
    ("rd.why_none", "no candidate in this channel", "该渠道中没有候选模型"),
    ("rd.why_present", "already in the channel; no mapping needed", "渠道中已有该模型，无需映射"),
    ("rd.why_same_key", "mapped to {0} (same model and version)", "映射到 {0}（同一模型、同一版本）"),
    ("rd.why_snapshot", "mapped to {0} (same snapshot date)", "映射到 {0}（相同快照日期）"),
    ("rd.why_taken", "candidate {0} already serves {1}", "候选 {0} 已用于 {1}"),
    ("rd.why_versions", "only other versions: {0}{1} (version guard)", "只有其他版本：{0}{1}（版本保护）"),
    ("row.diff", "View diff", "查看差异"),
    ("row.exclude", "Exclude", "排除"),
    ("row.include", "Include", "恢复同步"),
    ("row.revert", "Revert", "回滚"),
    ("row.sync", "Sync now", "立即同步"),
    ("rt.add_custom", "Add upstream", "添加上游"),
    ("rt.applied_bad", "The apply stopped. Written: {0}. {1}", "应用已中止。已写入：{0}。{1}"),
    ("rt.applied_badge", "Applied", "已应用"),
    ("rt.applied_ok", "Applied. Snapshot {0}: {1} key(s) written and read back ({2}).", "已应用。快照 {0}：已写入并回读 {1} 个键（{2}）。"),
    ("rt.apply", "Apply ({0} key(s))", "应用（{0} 个键）"),
    ("rt.cell_hint", "Click to take this value (again to drop it)", "点击采用此值（再次点击取消）"),
    ("rt.changes", "Old → new", "旧值 → 新值"),
    ("rt.clear_picks", "Clear picks", "清除选择"),
    ("rt.conflict", "A ratio option was changed by someone else (another browser, the CLI, an admin) after msync read it, so msync did not write over it. Preview again to work on the site as it is now.", "读取之后，某个倍率选项已被他人（另一浏览器、命令行或管理员）修改，msync 没有覆盖它。请重新预览，以站点当前的状态为准。"),
    ("rt.current", "Current", "当前值"),
    ("rt.custom", "Custom upstream", "自定义上游"),
    ("rt.custom_base", "Base URL", "基础 URL"),
    ("rt.custom_endpoint", "Endpoint", "接口路径"),
    ("rt.custom_hint", "Another New API site or any URL serving /api/pricing or /api/ratio_config. The base URL must start with http; leave the endpoint empty for the default.", "其他 New API 站点，或任何提供 /api/pricing 或 /api/ratio_config 的地址。基础 URL 必须以 http 开头；接口路径留空则使用默认值。"),
    ("rt.custom_name", "Name", "名称"),
    ("rt.diff_counts", "{0} of {1} rows shown · {2} models", "显示 {1} 行中的 {0} 行 · {2} 个模型"),
    ("rt.diff_title", "Differences", "差异"),
    ("rt.failed_upstreams", "These upstreams could not be read:", "以下上游读取失败："),
    ("rt.fetch", "Fetch differences", "获取差异"),
    ("rt.fetching", "Fetching from the upstreams…", "正在从上游获取…"),
    ("rt.field", "Type", "类型"),
    ("rt.force", "Force: overwrite edits made since the apply", "强制：覆盖应用之后的修改"),
    ("rt.keys", "Option keys", "配置键"),
    ("rt.kind_channel", "channel", "渠道"),
    ("rt.kind_custom", "custom", "自定义"),
    ("rt.kind_models_dev", "models.dev", "models.dev"),
    ("rt.kind_preset", "official preset", "官方预设"),
    ("rt.locked_hint", "Locked: New API enforces its built-in completion ratio for this model and ignores the setting, so it is not offered", "已锁定：New API 对该内置模型强制使用内置的补全倍率并忽略此设置，因此不提供选择"),
    ("rt.mismatched", "Read back differs", "回读不一致"),
    ("rt.missing", "The upstream does not have it (never deleted)", "上游没有此项（不会删除）"),
    ("rt.model", "Model", "模型"),
    ("rt.models_n", "Models", "模型数"),
    ("rt.more_rows", "Showing the first {0} of {1} rows; narrow with the search. Column picks still cover every matching row.", "仅显示 {1} 行中的前 {0} 行；可用搜索缩小范围。按列选择仍覆盖所有匹配的行。"),
    ("rt.no_snapshots", "No ratio applies yet.", "尚无倍率应用记录。"),
    ("rt.nothing_written", "Nothing to write: every choice equals the current value.", "无需写入：所有选择都与当前值相同。"),
    ("rt.only_confident", "Only confident values", "仅可信值"),
    ("rt.only_differing", "Only differing", "仅显示差异"),
    ("rt.only_new_api", "Ratio sync is for New API sites only; this site is of another type.", "倍率同步仅适用于 New API 站点；此站点为其他类型。"),
    ("rt.picked", "{0} value(s) picked", "已选择 {0} 个值"),
    ("rt.preview", "Preview", "预览"),
    ("rt.preview_counts", "{0} model(s) change · {1} unchanged · keys: {2}", "{0} 个模型变更 · {1} 个无变化 · 配置键：{2}"),
    ("rt.preview_title", "Preview: old → new", "预览：旧值 → 新值"),
    ("rt.read_back", "Read back verified", "回读校验"),
    ("rt.refetch", "The table above still shows the values from before this apply; fetch again to compare.", "上方表格仍显示应用前的值；请重新获取以比较。"),
    ("rt.revert_failed", "Revert of {0} failed: {1}", "回滚 {0} 失败：{1}"),
    ("rt.reverted", "Reverted {0}: restored {1}.", "已回滚 {0}：已恢复 {1}。"),
    ("rt.reverted_at", "Reverted", "已回滚"),
    ("rt.rolled_back", "Restored after the failure", "失败后已恢复"),
    ("rt.root_needed", "Needs a root token.", "需要 root 令牌。"),
    ("rt.same", "same", "相同"),
    ("rt.search", "Search models", "搜索模型"),
    ("rt.skipped", "{0} pick(s) found nothing", "{0} 个选择没有可采用的值"),
    ("rt.snapshot_first", "A snapshot is taken first; the apply can be reverted below.", "写入前会创建快照；可在下方回滚。"),
    ("rt.snapshots", "Snapshots", "快照"),
    ("rt.sources", "Sources", "来源"),
    ("rt.subtitle", "Compare this site's model ratios and prices with its upstreams, pick values, preview and apply. Every apply is snapshotted and can be reverted.", "将本站的模型倍率和价格与上游比较，选择要采用的值，预览并应用。每次应用都会创建快照，可回滚。"),
    ("rt.take_column", "Take column", "采用整列"),
    ("rt.take_confident", "All confident", "采用全部可信值"),
    ("rt.taken", "Taken at", "时间"),
    ("rt.unread", "This upstream could not be read", "此上游读取失败"),
    ("rt.unsure", "Not confident: New API's default 37.5 / 1 for an unpriced model", "不可信：New API 对未定价模型使用的默认值 37.5 / 1"),
    ("rt.warnings", "{0} part(s) of the answer could not be used", "答案中有 {0} 处无法使用"),
    ("rules.action", "Action", "动作"),
    ("rules.add", "Add rule", "添加规则"),
    ("rules.enabled", "On", "启用"),
    ("rules.exclude", "Exclude", "排除"),
    ("rules.glob", "Glob (claude-*)", "通配符（claude-*）"),
    ("rules.include", "Include", "包含"),
    ("rules.kind", "Match type", "匹配方式"),
    ("rules.none", "No rules: every model passes.", "无规则：所有模型都通过。"),
    ("rules.pattern", "Pattern", "模式"),
    ("rules.regex", "Regex", "正则表达式"),
    ("rules.substring", "Contains", "包含文本"),
    ("run.cancelled", "Cancelled", "已取消"),
    ("run.failed", "Failed", "失败"),
    ("run.finished", "Finished", "已完成"),
    ("set.allow_empty", "Let an empty upstream list empty a channel", "允许上游空列表清空渠道"),
    ("set.allow_empty_channel", "Empty upstream list may empty it", "允许上游空列表清空"),
    ("set.allow_hint", "Exact model names, one per line. Empty = keep every model.", "精确的模型名，每行一个。留空 = 保留所有模型。"),
    ("set.allow_list", "Allow-list", "允许列表"),
    ("set.auto_enabled", "Sync automatically", "自动同步"),
    ("set.base_ms", "Backoff base", "退避基数"),
    ("set.burst", "Burst", "突发量"),
    ("set.cap_ms", "Backoff cap", "退避上限"),
    ("set.channel", "Channel", "渠道"),
    ("set.channel_rules", "Rules for this channel (after the global rules)", "本渠道规则（在全局规则之后应用）"),
    ("set.channels", "Per-channel settings", "渠道单独设置"),
    ("set.concurrency", "Channels at once", "并发渠道数"),
    ("set.configured_n", "{0} channel(s) have their own settings.", "{0} 个渠道有单独设置。"),
    ("set.defaults", "Reset to defaults", "恢复默认值"),
    ("set.excluded", "Never sync this channel", "从不同步此渠道"),
    ("set.filters", "Model filters", "模型过滤"),
    ("set.global_rules", "Global rules", "全局规则"),
    ("set.guards", "Safety and history", "安全与历史"),
    ("set.inherit", "As the site setting", "跟随站点设置"),
    ("set.interval", "Interval", "间隔"),
    ("set.invalid", "Not saved: {0} problem(s), shown next to the fields.", "未保存：{0} 个问题，已在对应字段旁标出。"),
    ("set.keep_runs", "Runs kept in history", "保留的历史运行数"),
    ("set.limits", "Rate limits, concurrency and retries", "速率限制、并发与重试"),
    ("set.mode", "Mode", "模式"),
    ("set.mode_add_only", "Add only", "仅添加"),
    ("set.mode_add_only_hint", "Current models plus new upstream ones; nothing is removed.", "保留当前模型并加入上游新模型；不删除任何模型。"),
    ("set.mode_merge", "Merge", "合并"),
    ("set.mode_merge_hint", "Upstream list plus current models that pass the filters.", "上游列表加上通过过滤的当前模型。"),
    ("set.mode_replace", "Replace (default)", "替换（默认）"),
    ("set.mode_replace_hint", "The filtered upstream list, plus pinned models and redirect names.", "过滤后的上游列表，加上固定模型和重定向名称。"),
    ("set.notify", "Notify after scheduled runs", "定时运行后通知"),
    ("set.pick_channel", "Choose a channel…", "选择渠道…"),
    ("set.pinned", "Pinned models", "固定模型"),
    ("set.pinned_hint", "Always kept in this channel, one per line.", "始终保留在此渠道中，每行一个。"),
    ("set.range", "default {0} · {1}–{2} {3}", "默认 {0} · 范围 {1}–{2} {3}"),
    ("set.retries", "Retries", "重试次数"),
    ("set.rpm", "Upstream requests / minute", "上游每分钟请求数"),
    ("set.saved", "Settings saved.", "设置已保存。"),
    ("set.schedule", "Schedule", "计划"),
    ("set.scope", "Rate limit applies", "限速范围"),
    ("set.scope_global", "To all upstreams together", "所有上游共用"),
    ("set.scope_hint", "Per host protects each upstream separately.", "按主机可分别保护每个上游。"),
    ("set.scope_host", "Per upstream host (default)", "按上游主机（默认）"),
    ("set.site_burst", "Admin API burst", "管理 API 突发量"),
    ("set.site_rpm", "Admin API requests / minute", "管理 API 每分钟请求数"),
    ("set.skip_disabled", "Skip disabled channels", "跳过已禁用渠道"),
    ("set.threshold", "Hold for review when removing more than", "删除比例超过此值时暂停待审"),
    ("set.timeout", "Time limit per channel (0 = none)", "每渠道时限（0 = 不限）"),
    ("set.whole_number", "Enter a whole number.", "请输入整数。"),
    ("sites.add", "Add a site", "添加站点"),
    ("sites.add_title", "Add a site", "添加站点"),
    ("sites.bad_url", "Enter the site's address, starting with https:// or http://.", "请输入以 https:// 或 http:// 开头的站点地址。"),
    ("sites.base_url", "Base URL", "站点地址"),
    ("sites.confirm_remove", "Click again to remove", "再次点击以删除"),
    ("sites.edit_title", "Edit site", "编辑站点"),
    ("sites.email", "Admin email", "管理员邮箱"),
    ("sites.empty_body", "Add your New API, Veloera, DoneHub, Octopus or AxonHub site to start syncing channels.", "添加你的 New API、Veloera、DoneHub、Octopus 或 AxonHub 站点，开始同步渠道。"),
    ("sites.empty_title", "No sites yet.", "还没有站点。"),
    ("sites.grant", "Grant access", "授予访问权限"),
    ("sites.hint_axonhub", "AxonHub: an owner or admin account's email and password.", "AxonHub：所有者或管理员账户的邮箱和密码。"),
    ("sites.hint_done-hub", "DoneHub: an admin's access token (Profile → Access token).", "DoneHub：管理员的访问令牌（个人设置 → 访问令牌）。"),
    ("sites.hint_new-api", "New API / Veloera: a root or admin access token (Personal settings → System access token) and that user's numeric id.", "New API / Veloera：root 或管理员的系统访问令牌（个人设置 → 系统访问令牌）及该用户的数字 ID。"),
    ("sites.hint_octopus", "Octopus: the admin username and password.", "Octopus：管理员用户名和密码。"),
    ("sites.hint_veloera", "New API / Veloera: a root or admin access token (Personal settings → System access token) and that user's numeric id.", "New API / Veloera：root 或管理员的系统访问令牌（个人设置 → 系统访问令牌）及该用户的数字 ID。"),
    ("sites.http_consent", "I accept that this site's credentials travel unencrypted", "我接受该站点的凭据以未加密方式传输"),
    ("sites.http_consent_required", "Plain http to a public address: tick the box to accept unencrypted credentials, or use https://.", "公网地址使用明文 http：请勾选同意以未加密方式传输凭据，或改用 https://。"),
    ("sites.http_warning", "This address uses plain http on the public internet: your admin credentials would travel unencrypted. Use https://.", "此地址在公网上使用明文 http：管理员凭据将以未加密方式传输。请使用 https://。"),
    ("sites.keep_secret", "Saved — leave empty to keep", "已保存 — 留空则保持不变"),
    ("sites.kind", "Type", "类型"),
    ("sites.name", "Name", "名称"),
    ("sites.name_required", "Give the site a name.", "请填写站点名称。"),
    ("sites.no_credentials", "No credentials saved: edit the site to add them.", "尚未保存凭据：请编辑站点添加。"),
    ("sites.no_permission", "msync may not contact this site yet.", "msync 尚无权访问此站点。"),
    ("sites.open_sync", "Open sync", "打开同步"),
    ("sites.password", "Password", "密码"),
    ("sites.permission_denied", "Access to the site was not granted: use “Grant access” before syncing.", "未获得站点访问权限：同步前请点击“授予访问权限”。"),
    ("sites.removed", "Site removed.", "站点已删除。"),
    ("sites.save_grant", "Save and grant access", "保存并授权访问"),
    ("sites.saved", "Site saved.", "站点已保存。"),
    ("sites.test", "Test connection", "测试连接"),
    ("sites.testing", "Testing…", "测试中…"),
    ("sites.token", "Access token", "访问令牌"),
    ("sites.user_id", "User id", "用户 ID"),
    ("sites.user_id_required", "Enter the numeric user id that owns the token.", "请输入令牌所属用户的数字 ID。"),
    ("sites.username", "Username", "用户名"),
    ("stats.duration", "Duration", "耗时"),
    ("stats.end", "End", "结束时间"),
    ("stats.start", "Start", "开始时间"),
    ("stats.total", "Total channels", "渠道总数"),
    ("status.all", "All", "全部"),
    ("status.failed", "Failed", "失败"),
    ("status.needs_review", "Needs review", "待审核"),
    ("status.queued", "Queued", "排队中"),
    ("status.running", "Running", "运行中"),
    ("status.skipped", "Skipped", "已跳过"),
    ("status.success", "Updated", "已更新"),
    ("status.unchanged", "Unchanged", "无变化"),
    ("sync.actions", "Run actions", "运行操作"),
    ("sync.auto", "Auto-sync", "自动同步"),
    ("sync.cancelled", "Cancelling…", "正在取消…"),
    ("sync.dry_run", "Dry run", "试运行"),
    ("sync.dry_started", "Dry run started: nothing will be written.", "试运行已开始：不会写入任何内容。"),
    ("sync.excluded", "excluded", "已排除"),
    ("sync.filter", "Filter by status", "按状态筛选"),
    ("sync.last_execution", "Last run", "上次运行"),
    ("sync.next_run", "Next run", "下次运行"),
    ("sync.no_match", "No channel matches the filter.", "没有符合筛选条件的渠道。"),
    ("sync.no_runs", "No runs yet. Start with a dry run to see what would change, or run all.", "尚无运行记录。可先试运行查看将发生的变化，或直接全部运行。"),
    ("sync.not_scheduled", "Not scheduled", "未计划"),
    ("sync.retry_failed", "Retry failed", "重试失败项"),
    ("sync.revert_run", "Revert this run", "回滚本次运行"),
    ("sync.reverted", "Revert started.", "已开始回滚。"),
    ("sync.rows_shown", "Showing {0} of {1} channels.", "显示 {1} 个渠道中的 {0} 个。"),
    ("sync.run_all", "Run all", "全部运行"),
    ("sync.run_selected", "Run selected ({0})", "运行所选（{0}）"),
    ("sync.running", "Syncing…", "同步中…"),
    ("sync.search", "Search by channel name, id or error", "按渠道名称、ID 或错误搜索"),
    ("sync.select_all", "Select all shown channels", "选择所有显示的渠道"),
    ("sync.select_row", "Select {0}", "选择 {0}"),
    ("sync.show_more", "Show more", "显示更多"),
    ("sync.started", "Run started.", "运行已开始。"),
    ("sync.subtitle", "Fetches every channel's upstream model list and writes it back safely: guards, snapshots, revert.", "获取每个渠道的上游模型列表并安全写回：保护规则、快照、可回滚。"),
    ("sync.title", "Model list sync", "模型列表同步"),
    ("test.admin", "Admin rights", "管理员权限"),
    ("test.authenticated", "Signed in", "已认证"),
    ("test.channels", "Channels:", "渠道数："),
    ("test.reachable", "Reachable", "可访问"),
    ("test.root", "Root", "Root 权限"),
    ("test.rtt", "Round trip", "往返耗时"),
    ("test.version", "Version", "版本"),
    ("trigger.manual", "Manual", "手动"),
    ("trigger.resume", "Resumed", "恢复"),
    ("trigger.retry", "Retry", "重试"),
    ("trigger.scheduled", "Scheduled", "定时"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_site_type_has_a_credentials_hint() {
        for kind in msync_types::model::SiteKind::ALL {
            for lang in [Lang::En, Lang::Zh] {
                assert!(
                    lookup_built(lang, &site_hint_key(kind)).is_some_and(|t| !t.is_empty()),
                    "{kind} {lang:?}"
                );
            }
        }
    }

    #[test]
    fn table_is_sorted_unique_and_complete() {
        for w in TABLE.windows(2) {
            assert!(
                w[0].0 < w[1].0,
                "not sorted or duplicated: {} / {}",
                w[0].0,
                w[1].0
            );
        }
        for (id, en, zh) in TABLE {
            assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{id}");
            let holes = |s: &str| (0..5).filter(|i| s.contains(&format!("{{{i}}}"))).count();
            assert_eq!(holes(en), holes(zh), "placeholders differ in {id}");
        }
    }

    #[test]
    fn engine_texts_are_shown_in_chinese_with_their_values() {
        let zh = |t: &str| engine_text(Lang::Zh, t);
        assert_eq!(
            zh("would remove 3 of 4 models (75%), more than the 50% threshold; confirm it from a dry-run plan"),
            "将移除 4 个模型中的 3 个（75%），超过 50% 的阈值；请从试运行计划中确认"
        );
        assert_eq!(zh("cancelled by the user"), "已被用户取消");
        assert_eq!(
            zh("HTTP 429: slow down (no time left for another retry within the 120 s limit)"),
            "HTTP 429: slow down（120 秒时限内已无时间再次重试）"
        );
        assert_eq!(
            zh("revert of run 0001700000000-00ab"),
            "回滚运行 0001700000000-00ab"
        );
        // A typed revert hold, as the engine renders it into the record.
        let hold = msync_types::hold::RevertHold::EmptyModelList {
            site: msync_types::model::SiteKind::NewApi,
        };
        assert_eq!(
            zh(&hold.to_string()),
            "该渠道在那次运行之前没有模型，而 New API 无法保存空的模型列表；未写入任何内容（如该渠道应当没有模型，请在网关自己的页面中移除）"
        );
        // A server's own message, and English, pass through.
        assert_eq!(zh("invalid token"), "invalid token");
        assert_eq!(
            engine_text(Lang::En, "cancelled by the user"),
            "cancelled by the user"
        );
        // A text that only starts like a template is not taken for it.
        assert_eq!(
            zh("the channel is excluded from sync, twice"),
            "the channel is excluded from sync, twice"
        );
    }

    #[test]
    fn every_engine_text_template_has_matching_placeholders() {
        for (en, zh) in ENGINE_TEXT {
            let n = en.matches("{}").count();
            for k in 0..n {
                assert!(
                    zh.contains(&format!("{{{k}}}")),
                    "{en} → {zh} lacks {{{k}}}"
                );
            }
            assert!(
                !zh.contains(&format!("{{{n}}}")),
                "{zh} has too many values"
            );
            let sample = en.replace("{}", "7");
            assert_ne!(
                engine_text(Lang::Zh, &sample),
                sample,
                "{en} does not match itself"
            );
        }
    }

    #[test]
    fn language_follows_the_tag() {
        assert_eq!(Lang::from_tag("zh-CN"), Lang::Zh);
        assert_eq!(Lang::from_tag("zh"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-US"), Lang::En);
        assert_eq!(Lang::from_tag("de"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
        assert_eq!(lookup(Lang::Zh, "sync.run_all"), "全部运行");
        assert_eq!(lookup(Lang::En, "sync.run_all"), "Run all");
        assert_eq!(lookup(Lang::En, "no.such"), "no.such");
    }

    /// Every message id the views use exists in the table.
    #[test]
    fn every_id_used_in_the_views_is_translated() {
        let sources = [
            include_str!("common.rs"),
            include_str!("popup.rs"),
            include_str!("options.rs"),
            include_str!("sites.rs"),
            include_str!("sync.rs"),
            include_str!("settings.rs"),
            include_str!("history.rs"),
            include_str!("redirect.rs"),
            include_str!("ratios.rs"),
            include_str!("transfer.rs"),
            include_str!("aah.rs"),
            include_str!("notify.rs"),
        ];
        let namespaces: BTreeSet<&str> = TABLE
            .iter()
            .filter_map(|(id, _, _)| id.split('.').next())
            .collect();
        let known: BTreeSet<&str> = TABLE.iter().map(|(id, _, _)| *id).collect();
        let re = regex::Regex::new(r#""([a-z]+)\.([a-z_0-9]+)""#).unwrap();
        let mut missing = BTreeSet::new();
        let mut used = 0;
        for src in sources {
            for cap in re.captures_iter(src) {
                let (ns, full) = (
                    cap.get(1).unwrap().as_str(),
                    cap.get(0).unwrap().as_str().trim_matches('"'),
                );
                if namespaces.contains(ns) {
                    used += 1;
                    if !known.contains(full) {
                        missing.insert(full.to_string());
                    }
                }
            }
        }
        assert!(used > 150, "the scan found only {used} ids");
        assert!(missing.is_empty(), "untranslated ids: {missing:?}");
    }
}
