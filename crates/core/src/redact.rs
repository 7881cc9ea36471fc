//! Secret scrubbing, applied once where an error message is built.

/// Replace every known secret and every token-looking fragment in `text`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Very short "secrets" would shred ordinary words; real tokens are long.
        if s.len() >= 4 {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
    }
    redact_patterns(&out)
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
}
