//! What went wrong, in the application's words: [`AppError`], returned by the domain and
//! the handlers alike. Its answers over HTTP (an error page, a redirect to sign-in, API.md's
//! JSON body, the status codes) are the web layer's, in [`crate::http_error`]; this module
//! knows nothing of HTTP or templates. Unexpected errors are logged once with their cause and
//! never shown to users.

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    /// HTML: redirect to the login page, then back to `next`.
    #[error("login required")]
    LoginRequired { next: String },
    /// API: missing or bad token.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The same document was imported before, as `existing` (a key).
    #[error("{message}")]
    Duplicate { message: String, existing: String },
    /// An edit made at a version that is no longer current.
    #[error("{message}")]
    EditConflict {
        message: String,
        /// Fields both the edit and someone else changed.
        conflicts: Vec<&'static str>,
        current_version: i32,
    },
    /// Over a limit; `retry_after` seconds is when trying again makes sense.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u32 },
    /// The request body did not arrive in time.
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UriTooLong(String),
    /// Something that existed once and is used up (a setup link).
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database cannot be reached (down, restarting, out of connections): 503 with
    /// `Retry-After`, so clients and load balancers try again instead of giving up.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Unexpected(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// For a form handler: `Ok(self)` when the input was invalid (said on the form again,
    /// beside what was typed), `Err(self)` for anything else (answered as an error page).
    /// `Err(e) => page(…, Some(e.shown_on_form()?))`
    pub fn shown_on_form(self) -> Result<AppError, AppError> {
        match self {
            AppError::Invalid { .. } => Ok(self),
            other => Err(other),
        }
    }

    pub fn unexpected(cause: impl std::fmt::Display) -> Self {
        AppError::Unexpected(cause.to_string())
    }

    /// The stable code API.md's error body carries.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "validation",
            AppError::BadRequest(_) => "bad_request",
            AppError::LoginRequired { .. } | AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) | AppError::EditConflict { .. } => "conflict",
            AppError::Duplicate { .. } => "duplicate",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Timeout(_) => "timeout",
            AppError::PayloadTooLarge(_) => "too_large",
            AppError::UriTooLong(_) => "uri_too_long",
            AppError::Gone(_) => "gone",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Unavailable(_) => "unavailable",
            AppError::Unexpected(_) => "internal",
        }
    }

    /// Seconds a client should wait before trying again, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AppError::Unavailable(_) => Some(5),
            AppError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message users may see (never the cause of an unexpected error).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unexpected(_) => {
                "Something went wrong on our side. It has been logged.".into()
            }
            AppError::Unavailable(_) => {
                "The database cannot be reached right now. Nothing was changed; try again in a few seconds.".into()
            }
            other => other.to_string(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn log_if_unexpected(&self) {
        match self {
            AppError::Unexpected(cause) => tracing::error!(%cause, "request failed"),
            AppError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match e {
            Error::NotFound => AppError::NotFound("record".into()),
            // The connection died under the query (the server restarted or went away).
            Error::DatabaseError(kind, info) if connection_lost(&kind, info.message()) => {
                AppError::Unavailable(info.message().to_string())
            }
            Error::BrokenTransactionManager => {
                AppError::Unavailable("the connection's transaction broke".into())
            }
            other => AppError::Unexpected(format!("database: {other}")),
        }
    }
}

/// Whether a database error says the connection is gone rather than the query wrong.
/// diesel does not pass SQLSTATE on, and libpq reports a lost connection with kind
/// `Unknown` and one of these messages ("no connection to the server" once a pooled
/// connection's backend was terminated), so the message decides.
fn connection_lost(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind;
    const LOST: [&str; 8] = [
        "no connection to the server",
        "server closed the connection",
        "terminating connection",
        "could not connect to server",
        "could not send data to server",
        "could not receive data from server",
        "the database system is shutting down",
        "the database system is starting up",
    ];
    matches!(
        kind,
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
    ) || LOST.iter().any(|m| message.contains(m))
}

/// No connection to be had within the pool's timeout: the database is down or swamped.
impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}
