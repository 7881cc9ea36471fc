//! Pure display helpers (tested natively): durations, relative times, templates, URL warnings.

use crate::i18n::Lang;

/// `850 ms`, `12.4 s`, `4 min 27 s`, `2 h 05 min`.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{} h {:02} min", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// "5 min ago" / "in 3 h" relative to `now`.
pub fn relative(now: u64, at: u64, lang: Lang) -> String {
    let (past, diff) = if at <= now {
        (true, now - at)
    } else {
        (false, at - now)
    };
    let secs = diff / 1000;
    let (n, unit_en, unit_zh) = if secs < 60 {
        return match (lang, past) {
            (Lang::En, true) => "just now".into(),
            (Lang::En, false) => "in under a minute".into(),
            (Lang::Zh, true) => "刚刚".into(),
            (Lang::Zh, false) => "不到一分钟后".into(),
        };
    } else if secs < 3600 {
        (secs / 60, "min", "分钟")
    } else if secs < 86_400 {
        (secs / 3600, "h", "小时")
    } else {
        (secs / 86_400, "d", "天")
    };
    match (lang, past) {
        (Lang::En, true) => format!("{n} {unit_en} ago"),
        (Lang::En, false) => format!("in {n} {unit_en}"),
        (Lang::Zh, true) => format!("{n} {unit_zh}前"),
        (Lang::Zh, false) => format!("{n} {unit_zh}后"),
    }
}

/// Replace `{0}`, `{1}`, … in a message template.
pub fn fill(template: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = template.to_string();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), &a.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let rows = [
            (0, "0 ms"),
            (850, "850 ms"),
            (1_000, "1.0 s"),
            (266_600, "4 min 26 s"),
            (59_949, "59.9 s"),
            (3_600_000 + 5 * 60_000, "1 h 05 min"),
        ];
        for (ms, want) in rows {
            assert_eq!(duration(ms), want, "{ms}");
        }
    }

    #[test]
    fn relative_times_in_both_languages() {
        let now = 10_000_000;
        assert_eq!(relative(now, now - 5_000, Lang::En), "just now");
        assert_eq!(relative(now, now - 5 * 60_000, Lang::En), "5 min ago");
        assert_eq!(relative(now, now + 3 * 3_600_000, Lang::En), "in 3 h");
        assert_eq!(relative(now, now - 5 * 60_000, Lang::Zh), "5 分钟前");
        assert_eq!(relative(now + 2 * 86_400_000, now, Lang::En), "2 d ago");
        assert_eq!(relative(now, now + 2 * 86_400_000, Lang::Zh), "2 天后");
    }

    #[test]
    fn templates_fill_every_placeholder() {
        assert_eq!(fill("Run selected ({0})", &[&3]), "Run selected (3)");
        assert_eq!(fill("{0}/{1} done", &[&4, &"10"]), "4/10 done");
        assert_eq!(fill("no args", &[]), "no args");
    }
}
