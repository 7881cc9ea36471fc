//! Shared harness for the fuzz targets in `fuzz_targets/`.
//!
//! Gateway targets drive the real adapters through core's scripted in-memory transport
//! ([`msync_core::gateway::testing::FakeTransport`]): the fuzz input is an operation letter
//! followed by a script of responses, answered to the adapter's requests in order.
//!
//! Script format (so seed files stay readable): responses are separated by a NUL byte. A
//! response that starts with `HTTP nnn` has that status and `Name: value` header lines up to a
//! blank line, then the body; anything else is a 200 with the whole text as its body. The last
//! response answers every further request, up to [`MAX_REQUESTS`], after which the transport
//! fails (paging loops against a hostile server must end).

use msync_core::gateway;
use msync_core::gateway::testing::{block_on, test_ctx, test_site, FakeTransport};
use msync_core::http::{Response, TransportError};
use msync_core::model::{Channel, ChannelId, ChannelUpdate, Mapping, SiteKind};
use msync_core::Error;

/// Requests one fuzz input may answer before the transport gives up.
pub const MAX_REQUESTS: usize = 64;

/// Split a script into responses (see the module docs).
pub fn parse_script(text: &str) -> Vec<Response> {
    text.split('\0').map(parse_response).collect()
}

fn parse_response(seg: &str) -> Response {
    let Some(rest) = seg.strip_prefix("HTTP ") else {
        return Response {
            status: 200,
            headers: Vec::new(),
            body: seg.to_string(),
        };
    };
    let (head, body) = match rest.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (rest, ""),
    };
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.trim().get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(200);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A transport answering with the script (last response repeated, then failures).
pub fn script_transport(text: &str) -> std::rc::Rc<FakeTransport> {
    let responses = parse_script(text);
    let mut served = 0usize;
    FakeTransport::new(move |_req| {
        served += 1;
        if served > MAX_REQUESTS {
            return Err(TransportError::Io("fuzz script exhausted".into()));
        }
        let i = (served - 1).min(responses.len() - 1);
        Ok(responses[i].clone())
    })
}

/// Errors must never carry the site's own secrets (its token or password).
pub fn assert_no_secret(kind: SiteKind, e: &Error) {
    let secrets = test_site(kind, "http://gw.test/").credentials.secrets();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !e.message.contains(secret.as_str()),
            "secret leaked into an error: {:?}",
            e.message
        );
        assert!(
            !format!("{e:?}").contains(secret.as_str()),
            "secret leaked into Debug"
        );
    }
}

/// A channel as the engine would pass it to an adapter.
pub fn sample_channel(kind: SiteKind) -> Channel {
    Channel {
        id: ChannelId("1".into()),
        name: "fuzz".into(),
        enabled: true,
        channel_type: "1".into(),
        upstream_base_url: Some("http://up.test".into()),
        models: vec!["gpt-4o".into(), "claude-sonnet-4-5".into()],
        mapping: if kind == SiteKind::Octopus {
            Mapping::Unsupported
        } else {
            Mapping::Valid {
                pairs: vec![("gpt-4o".into(), "openai/gpt-4o".into())],
            }
        },
        tag: None,
        rules: Default::default(),
    }
}

/// Run one adapter operation against a script. Input: an operation letter, then the script.
///
/// `T` test connection, `L` list channels, `G` get channel, `F` fetch upstream models,
/// `U` update models, `M` update mapping, `B` update both; any other byte picks by value.
pub fn run_gateway(kind: SiteKind, data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let transport = script_transport(&text);
    let ctx = test_ctx(kind, transport);
    let gw = gateway::connect(ctx);
    let channel = sample_channel(kind);
    let op = match op {
        b'T' | b'L' | b'G' | b'F' | b'U' | b'M' | b'B' => op,
        other => b"TLGFUMB"[usize::from(other) % 7],
    };
    let err = block_on(async {
        match op {
            b'T' => gw.test_connection().await.err(),
            b'L' => match gw.list_channels().await {
                Ok(channels) => {
                    check_channels(&channels);
                    None
                }
                Err(e) => Some(e),
            },
            b'G' => match gw.get_channel(&channel.id).await {
                Ok(c) => {
                    check_channels(std::slice::from_ref(&c));
                    None
                }
                Err(e) => Some(e),
            },
            b'F' => gw.fetch_upstream_models(&channel).await.err(),
            _ => {
                let update = ChannelUpdate {
                    models: (op != b'M')
                        .then(|| vec!["gpt-4o".into(), "gpt-4.1".into(), "o3".into()]),
                    mapping: (op != b'U' && kind != SiteKind::Octopus)
                        .then(|| vec![("gpt-4.1".into(), "openai/gpt-4.1".into())]),
                };
                gw.update_channel(&channel, &update).await.err()
            }
        }
    });
    if let Some(e) = err {
        assert_no_secret(kind, &e);
    }
}

/// What every adapter promises about channels it read.
fn check_channels(channels: &[Channel]) {
    for c in channels {
        assert!(!c.id.0.is_empty(), "a channel without an id: {c:?}");
    }
}

/// New API ratio sync against a script. Input: an operation letter, then the script.
///
/// `S` sources, `R` fetch (the difference table), `O` the current option maps, `P` fetch then
/// preview every confident value, `A` fetch then apply every value (writes, read-back, rollback).
pub fn run_ratio(data: &[u8]) {
    use msync_core::ratio::{DiffFilter, FetchRequest, RatioSelection, RatioSync, RatioUpstream};
    use msync_core::store::MemoryStore;
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let ctx = test_ctx(SiteKind::NewApi, script_transport(&text));
    let Ok(sync) = RatioSync::new(ctx, std::rc::Rc::new(MemoryStore::new())) else {
        panic!("ratio sync refused a New API site");
    };
    let op = match op {
        b'S' | b'R' | b'O' | b'P' | b'A' => op,
        other => b"SROPA"[usize::from(other) % 5],
    };
    let req = FetchRequest::new(vec![
        RatioUpstream {
            id: 0,
            name: "up-a".into(),
            base_url: "http://a.test".into(),
            endpoint: "/api/pricing".into(),
        },
        RatioUpstream {
            id: 0,
            name: "up-b".into(),
            base_url: "http://b.test".into(),
            endpoint: "openrouter".into(),
        },
    ]);
    let err = block_on(async {
        match op {
            b'S' => sync.sources().await.err(),
            b'R' => sync.fetch(&req).await.err(),
            b'O' => sync.current().await.err(),
            _ => {
                let diff = match sync.fetch(&req).await {
                    Ok(d) => d,
                    Err(e) => return Some(e),
                };
                let mut sel = RatioSelection::new();
                for up in &diff.upstreams {
                    sel = if op == b'P' {
                        sel.all_confident(up, DiffFilter::default())
                    } else {
                        sel.column(up, DiffFilter::default())
                    };
                }
                let choices = sel.resolve(&diff).choices;
                if op == b'P' {
                    sync.preview(&choices).await.err()
                } else {
                    match sync.apply(&choices, None).await {
                        Ok(outcome) => outcome.error,
                        Err(e) => Some(e),
                    }
                }
            }
        }
    });
    if let Some(e) = err {
        assert_no_secret(SiteKind::NewApi, &e);
    }
}

/// `model_mapping` text as stored by New API / DoneHub.
pub fn run_mapping(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let m = Mapping::from_json_text(Some(&text));
    match &m {
        Mapping::Valid { pairs } => {
            assert!(!pairs.is_empty(), "a valid mapping with no pairs");
            // Writing the pairs back and reading them again gives the same pairs.
            let again = Mapping::from_json_text(Some(&Mapping::to_json_text(pairs)));
            assert_eq!(again, m, "mapping does not round-trip");
        }
        Mapping::Invalid { raw, .. } => assert_eq!(raw, text.trim()),
        Mapping::Empty => {}
        Mapping::Unsupported => panic!("text parsed as Unsupported"),
    }
}

/// Settings import files and messages from extension pages: stored sync settings, redirect
/// settings, protocol commands.
pub fn run_settings(data: &[u8]) {
    use msync_core::protocol::Command;
    use msync_core::redirect::{RedirectCheck, RedirectSettings};
    use msync_core::settings::{from_json, SettingsCheck};
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = from_json(&text) {
        // Whatever was accepted validates, and survives a save/load cycle.
        assert!(s.validate().is_ok(), "accepted settings do not validate");
        let saved = serde_json::to_string(&s).expect("settings serialize");
        let again = from_json(&saved).expect("saved settings load again");
        assert_eq!(again, s, "settings do not round-trip");
    }
    if let Ok(r) = serde_json::from_str::<RedirectSettings>(&text) {
        let _ = r.issues();
        let matcher = r.matcher();
        let _ = matcher.match_models(&r.standard_models);
    }
    if let Ok(c) = serde_json::from_str::<Command>(&text) {
        let saved = serde_json::to_string(&c).expect("command serializes");
        let again: Command = serde_json::from_str(&saved).expect("command parses again");
        assert_eq!(again, c, "command does not round-trip");
    }
}

/// The CLI's `msync.toml` parser: errors are located and never echo a secret value.
pub fn run_cli_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // Never let a fuzz input make the parser read devices or kernel files.
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    let path = std::path::Path::new("/nonexistent-msync-fuzz/msync.toml");
    if let Err(errors) = msync_cli::config::parse(path, &text) {
        let lines = text.lines().count().max(1);
        for e in &errors.0 {
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= lines + 1,
                    "error on line {line} of a {lines}-line file: {e}"
                );
            }
            if secret_only_in_values(&text) {
                let shown = e.to_string();
                assert!(
                    !shown.contains(CONFIG_SECRET),
                    "secret in a config error: {shown}"
                );
            }
        }
    }
}

/// Whether every occurrence of [`CONFIG_SECRET`] is inside a string value (quoted, and not a
/// quoted key or table name: not first on its line or after `[`/`.`, and no `=`, `.` or `]`
/// right after the closing quote). A secret typed as a key or a
/// table name is the user's choice to show.
fn secret_only_in_values(text: &str) -> bool {
    let mut found = false;
    for (i, _) in text.match_indices(CONFIG_SECRET) {
        found = true;
        let before = text[..i].chars().next_back();
        let Some(q @ ('"' | '\'')) = before else {
            return false;
        };
        // A quoted key or table name: the line up to the quote is empty, brackets, or `a.`.
        let line_start = text[..i - 1].rfind('\n').map_or(0, |n| n + 1);
        let prefix = text[line_start..i - 1].trim();
        if prefix.chars().all(|c| c == '[') || prefix.ends_with('.') {
            return false;
        }
        let after = &text[i + CONFIG_SECRET.len()..];
        let Some(rest) = after.strip_prefix(q) else {
            return false;
        };
        if matches!(
            rest.trim_start_matches([' ', '\t']).chars().next(),
            Some('=' | '.' | ']')
        ) {
            return false;
        }
    }
    found
}

/// Seeds put this value in `token`/`password` fields; no config error may show it.
pub const CONFIG_SECRET: &str = "SECRET-TOKEN-9f8e7d";

/// Model-name normalization: no panic, idempotent, keys stable under normalization.
pub fn run_normalize(data: &[u8]) {
    use msync_core::redirect::normalize::{core_identity, normalize, tokens, TokenKey};
    use msync_core::redirect::ParsedName;
    let text = String::from_utf8_lossy(data);
    for name in text.lines() {
        let n = normalize(name);
        assert_eq!(normalize(n), n, "normalize is not idempotent on {name:?}");
        let c = core_identity(name);
        assert_eq!(
            core_identity(c),
            c,
            "core_identity is not idempotent on {name:?}"
        );
        assert_eq!(
            TokenKey::of(n),
            TokenKey::of(name),
            "the token key changes under normalization for {name:?}"
        );
        let _ = tokens(n);
        if let Some(p) = ParsedName::parse(name) {
            assert_eq!(p.normalized, n);
            assert_eq!(Some(&p.key), TokenKey::of(name).as_ref());
        }
    }
}

/// The version-guarded matcher. Input lines: standard names until a blank line, then the
/// channel's models. A standard line `name => pattern` is an alias. A first line `!dated-off`
/// turns dated targets off.
///
/// Properties: no panic; every target is one of the channel's (trimmed) models; a key-matched
/// target has the same token key as its standard (or the alias pattern), and an exact-snapshot
/// target the same date; matching twice (warm name cache) gives the same result.
pub fn run_matcher(data: &[u8]) {
    use msync_core::redirect::normalize::{strip_dates, TokenKey};
    use msync_core::redirect::{Alias, MatchOptions, MatchRule, Matcher, Outcome};

    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n').peekable();
    let mut opts = MatchOptions::default();
    if lines.peek() == Some(&"!dated-off") {
        opts.allow_dated_targets = false;
        lines.next();
    }
    let mut standards = Vec::new();
    let mut aliases = Vec::new();
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
        match l.split_once(" => ") {
            Some((name, pattern)) => aliases.push(Alias {
                name: name.into(),
                pattern: pattern.into(),
            }),
            None => standards.push(l.to_string()),
        }
    }
    let models: Vec<&str> = lines.collect();
    let matcher = Matcher::new(&standards, &aliases, opts);
    let first = matcher.match_models(&models);
    let second = matcher.match_models(&models);
    assert_eq!(first, second, "matching twice gives different results");

    let listed: std::collections::HashSet<&str> = models.iter().map(|m| m.trim()).collect();
    let pattern_of = |name: &str| {
        aliases
            .iter()
            .find(|a| a.name.trim() == name)
            .map(|a| a.pattern.trim().to_string())
    };
    for (standard, target) in &first.mapping {
        assert!(
            listed.contains(target.as_str()),
            "target {target:?} of {standard:?} is not in the channel"
        );
        let outcome = first
            .outcome(standard)
            .expect("a mapped standard has an outcome");
        assert_eq!(outcome.target(), Some(target.as_str()));
        // Glob aliases match by pattern, not by key: no version guard to check.
        let source = pattern_of(standard).unwrap_or_else(|| standard.clone());
        let guarded_by = (!source.contains(['*', '?'])).then_some(source);
        if let Some(source) = guarded_by {
            let (want, got) = (TokenKey::of(&source), TokenKey::of(target));
            assert!(
                want.is_some() && want == got,
                "version guard: {standard:?} ({want:?}) mapped to {target:?} ({got:?})"
            );
            if let Outcome::Mapped {
                rule: MatchRule::ExactSnapshot,
                ..
            } = outcome
            {
                let date = |n: &str| strip_dates(msync_core::redirect::core_identity(n)).1;
                assert_eq!(date(&source), date(target), "snapshot date differs");
            }
        }
    }
    // Each target serves one standard at most.
    let mut targets: Vec<&str> = first.mapping.iter().map(|(_, t)| t.as_str()).collect();
    targets.sort_unstable();
    let n = targets.len();
    targets.dedup();
    assert_eq!(
        n,
        targets.len(),
        "one target serves two standards: {:?}",
        first.mapping
    );
}
