//! How an [`AppError`] answers over HTTP: an HTML error page (or a redirect to sign-in) for
//! pages, and API.md's error body `{"error": {"code", "message", "field"}}` for the JSON API,
//! through [`ApiError`]. `?` turns an `AppError` into an `ApiError`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::AppError;

impl AppError {
    /// Sets `Retry-After` on `res` when this error has one (also for pages that show the
    /// error their own way, such as the sign-in form).
    pub fn add_retry_after(&self, res: &mut HttpResponse) {
        if let Some(seconds) = self.retry_after() {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) | AppError::EditConflict { .. } | AppError::Duplicate { .. } => {
                StatusCode::CONFLICT
            }
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_unexpected();
        if let AppError::LoginRequired { next } = self {
            let location = format!("/login?next={}", crate::layout::url_encode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let mut res = crate::layout::error_page(self.status_code(), &self.public_message());
        self.add_retry_after(&mut res);
        res
    }
}

/// An [`AppError`] rendered as API.md's JSON error body.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflicts: Option<&'a [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<i32>,
    /// The incident a duplicate import already made.
    #[serde(skip_serializing_if = "Option::is_none")]
    existing: Option<&'a str>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            AppError::LoginRequired { .. } => StatusCode::UNAUTHORIZED,
            other => other.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_if_unexpected();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code(),
                message: self.0.public_message(),
                field: self.0.field(),
                conflicts: match &self.0 {
                    AppError::EditConflict { conflicts, .. } => Some(conflicts),
                    _ => None,
                },
                current_version: match &self.0 {
                    AppError::EditConflict {
                        current_version, ..
                    } => Some(*current_version),
                    _ => None,
                },
                existing: match &self.0 {
                    AppError::Duplicate { existing, .. } => Some(existing),
                    _ => None,
                },
            },
        };
        let mut res = HttpResponse::build(self.status_code());
        if self.status_code() == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(seconds) = self.0.retry_after() {
            res.insert_header((header::RETRY_AFTER, seconds));
        }
        res.json(body)
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Unexpected(format!("blocking task: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Unexpected(format!("template: {e}"))
    }
}
