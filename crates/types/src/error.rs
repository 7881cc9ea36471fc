//! One error type with a class that the retry policy and the UI read.
//!
//! Messages are redacted where errors are built (see `msync_core::redact`); nothing
//! downstream needs to scrub them again.

use crate::reason::{GaveUp, RunError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure this was. The class, not the message, drives retries and UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Credentials missing, wrong or expired.
    Auth,
    /// Authenticated, but the account lacks admin/root rights.
    Permission,
    /// The channel (or route) does not exist, e.g. deleted mid-run.
    NotFound,
    /// 429 or an equivalent signal.
    RateLimited,
    /// The gateway could not fetch from the channel's upstream.
    Upstream,
    /// Connection refused, reset, DNS failure.
    Network,
    /// No answer in time.
    Timeout,
    /// HTML instead of JSON, malformed JSON, wrong shape.
    InvalidResponse,
    /// The request or a setting is invalid (our side or rejected by the server).
    Validation,
    /// A business error the gateway reported that fits nothing above.
    Server,
    /// The channel (or option) was changed by someone else between msync's read and its write
    /// (another msync, the CLI, an admin): nothing was written over that change. Not retried;
    /// running again works on the new state.
    Conflict,
    /// Local storage refused a read or write (quota exceeded, disk full, unreadable): nothing
    /// more is written to the site until it works again. Not retried; pruning history helps.
    Storage,
    /// msync itself failed: a page could not reach the worker, the worker threw, a browser API
    /// call (alarms) failed. Not the site's fault and not the user's; not retried.
    Internal,
}

impl ErrorClass {
    /// Whether a failure of this class is worth retrying by default.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited
                | ErrorClass::Network
                | ErrorClass::Timeout
                | ErrorClass::Upstream
                | ErrorClass::Server
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Auth => "auth",
            ErrorClass::Permission => "permission",
            ErrorClass::NotFound => "not_found",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Upstream => "upstream",
            ErrorClass::Network => "network",
            ErrorClass::Timeout => "timeout",
            ErrorClass::InvalidResponse => "invalid_response",
            ErrorClass::Validation => "validation",
            ErrorClass::Server => "server",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Storage => "storage",
            ErrorClass::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified, already-redacted error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{class}: {}", self.text())]
pub struct Error {
    pub class: ErrorClass,
    /// The HTTP status, also when the gateway wrapped an upstream status in its message.
    pub http_status: Option<u16>,
    pub message: String,
    pub retryable: bool,
    /// Server-requested wait (`Retry-After`), in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// What msync itself found wrong, as data (`message` is its English text); `None` when the
    /// message is a server's or the platform's own text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RunError>,
    /// Why a failure that could have been retried was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<GaveUp>,
}

impl Error {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Error {
            class,
            http_status: None,
            message: message.into(),
            retryable: class.retryable(),
            retry_after_ms: None,
            reason: None,
            gave_up: None,
        }
    }

    /// msync's own finding: the message is its English text.
    pub fn found(class: ErrorClass, reason: RunError) -> Self {
        Error {
            reason: Some(reason.clone()),
            ..Error::new(class, reason.to_string())
        }
    }

    /// The message in English, with why it was not retried (what the CLI shows).
    pub fn text(&self) -> String {
        match &self.gave_up {
            Some(g) => format!("{} ({g})", self.message),
            None => self.message.clone(),
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        // 5xx/408/425/429 are retryable whatever the class said; 4xx others are not.
        self.retryable = match status {
            408 | 425 | 429 | 500..=599 => true,
            400..=499 => false,
            _ => self.retryable,
        };
        self
    }

    pub fn with_retry_after(mut self, ms: Option<u64>) -> Self {
        self.retry_after_ms = ms;
        self
    }

    pub fn not_retryable(mut self) -> Self {
        self.retryable = false;
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Error::new(ErrorClass::Validation, message)
    }

    pub fn invalid_response(message: impl Into<String>) -> Self {
        Error::new(ErrorClass::InvalidResponse, message)
    }

    /// Changed by someone else since it was read (see [`ErrorClass::Conflict`]).
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorClass::Conflict, message)
    }

    /// Local storage failed (see [`ErrorClass::Storage`]).
    pub fn storage(message: impl Into<String>) -> Self {
        Error::new(ErrorClass::Storage, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
