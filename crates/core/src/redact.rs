//! Secret scrubbing, applied once where an error message is built.

/// Replace every known secret — as it is and in the encoded forms a server may echo it in
/// (percent-encoded, form-encoded, JSON- and Go-escaped, HTML entities, base64) — and every
/// token-looking fragment in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    let mut forms: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| encoded_forms(s))
        .collect();
    // Longest first, so a form that contains another (`user:password` in base64 holds the
    // password's base64) is replaced whole.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    for form in forms {
        out = if form.chars().count() >= 4 {
            out.replace(form.as_str(), "[REDACTED]")
        } else {
            // A very short secret would shred ordinary words: replace it where it stands
            // alone (between non-alphanumeric characters).
            replace_standalone(&out, &form)
        };
    }
    redact_patterns(&out)
}

/// `s` and the ways a server or a URL may spell it.
fn encoded_forms(s: &str) -> Vec<String> {
    let mut forms = vec![s.to_string()];
    let mut push = |f: String| {
        if !forms.contains(&f) {
            forms.push(f);
        }
    };
    let pct = |space_plus: bool, lower: bool| {
        let upper =
            percent_encoding::utf8_percent_encode(s, crate::gateway::NOT_UNRESERVED).to_string();
        let mut o = if space_plus {
            upper.replace("%20", "+")
        } else {
            upper
        };
        if lower {
            // The hex digits after each `%` in lower case (`%2f`), as some clients send them.
            let mut chars: Vec<char> = o.chars().collect();
            for i in 0..chars.len() {
                if chars[i] == '%' {
                    for c in chars.iter_mut().skip(i + 1).take(2) {
                        c.make_ascii_lowercase();
                    }
                }
            }
            o = chars.into_iter().collect();
        }
        o
    };
    push(pct(false, false));
    push(pct(true, false));
    push(pct(false, true));
    push(pct(true, true));
    let json = serde_json::to_string(s).unwrap_or_default();
    let json = json[1..json.len().saturating_sub(1).max(1)].to_string();
    push(
        json.replace('&', "\\u0026")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e"),
    );
    push(json);
    let html = |apos: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', apos)
    };
    push(html("&#39;"));
    push(html("&#x27;"));
    push(base64(s.as_bytes()));
    forms
}

/// Standard base64 with padding (what `Authorization: Basic` and most echoes use).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn replace_standalone(text: &str, needle: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(needle) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + needle.len()..].chars().next();
        let alone =
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        out.push_str(&rest[..i]);
        out.push_str(if alone { "[REDACTED]" } else { needle });
        rest = &rest[i + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Token shapes that must never reach logs even when we do not know the value:
/// `Bearer x`, `sk-…`, `auth=…` cookies, JWTs.
fn redact_patterns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut words = text.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == ',');
    let mut redact_next = false;
    for w in words.by_ref() {
        let core = w.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == ',');
        let tail = &w[core.len()..];
        let lower = core.to_ascii_lowercase();
        let is_secret_shape = redact_next && !core.is_empty()
            || (lower.starts_with("sk-") && core.len() > 8)
            || lower.starts_with("auth=")
            || (core.matches('.').count() == 2 && core.starts_with("eyJ"));
        if is_secret_shape {
            out.push_str("[REDACTED]");
            out.push_str(tail);
            redact_next = false;
        } else {
            out.push_str(w);
            if !core.is_empty() {
                redact_next = lower == "bearer";
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_and_token_shapes_are_removed() {
        let cases = [
            (
                "token abc12345 failed",
                vec!["abc12345".to_string()],
                "token [REDACTED] failed",
            ),
            (
                "Authorization: Bearer xyz",
                vec![],
                "Authorization: Bearer [REDACTED]",
            ),
            ("key sk-live-1234567890 bad", vec![], "key [REDACTED] bad"),
            ("Cookie: auth=abc.def", vec![], "Cookie: [REDACTED]"),
            (
                "jwt eyJhbGc.eyJzdWI.sig here",
                vec![],
                "jwt [REDACTED] here",
            ),
            ("status code: 401", vec![], "status code: 401"),
        ];
        for (input, secrets, want) in cases {
            assert_eq!(redact(input, &secrets), want, "input {input:?}");
        }
    }

    #[test]
    fn encoded_echoes_of_a_secret_are_removed() {
        let pw = "p&<>+/ w'\"x";
        let secrets = vec![pw.to_string(), "admin:p&<>+/ w'\"x".to_string()];
        let echoes = [
            "p%26%3C%3E%2B%2F%20w%27%22x",
            "p%26%3C%3E%2B%2F+w%27%22x",
            "p%26%3c%3e%2b%2f%20w%27%22x",
            "p&amp;&lt;&gt;+/ w&#39;&quot;x",
            "p&amp;&lt;&gt;+/ w&#x27;&quot;x",
            "p\\u0026\\u003c\\u003e+/ w'\\\"x",
            "p&<>+/ w'\\\"x",
        ];
        for e in echoes {
            let got = redact(&format!("login failed for ({e}) here"), &secrets);
            assert_eq!(got, "login failed for ([REDACTED]) here", "{e}");
        }
        let basic = base64(b"admin:p&<>+/ w'\"x");
        assert_eq!(
            redact(&format!("Authorization: Basic {basic}"), &secrets),
            "Authorization: Basic [REDACTED]"
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn short_secrets_are_removed_where_they_stand_alone() {
        let secrets = vec!["pw1".to_string()];
        assert_eq!(
            redact("bad password pw1, try pw12 or xpw1", &secrets),
            "bad password [REDACTED], try pw12 or xpw1"
        );
    }
}
