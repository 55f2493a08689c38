//! Request pieces that HTML and API handlers share: the incident key from the path, and
//! errors from extraction in the format of the route that failed (JSON under `/api/`, an
//! HTML page elsewhere).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::error::{ApiError, AppError};
use crate::incidents::IncidentKey;

/// What reading a request body failed with, as the app's error: 413 over the route's limit,
/// 408 past the body deadline ([`crate::ops::body_deadline`]), else 400.
pub fn body_error(e: &actix_web::Error, limit: usize) -> AppError {
    use actix_web::error::PayloadError;
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => AppError::PayloadTooLarge(format!(
            "The body is larger than {}.",
            crate::limits::describe(limit)
        )),
        Some(PayloadError::Io(io)) if io.kind() == std::io::ErrorKind::TimedOut => {
            AppError::Timeout("The request body did not arrive in time.".into())
        }
        _ if e.to_string().contains("size limit") || e.to_string().contains("larger") => {
            AppError::PayloadTooLarge(format!(
                "The body is larger than {}.",
                crate::limits::describe(limit)
            ))
        }
        _ => AppError::BadRequest(format!("The body could not be read: {e}")),
    }
}

/// `error` rendered as the route's clients expect it.
pub fn reject(req: &HttpRequest, error: AppError) -> actix_web::Error {
    if req.path().starts_with("/api/") {
        ApiError(error).into()
    } else {
        error.into()
    }
}

/// The `{key}` segment of an incident route (`INC-7` or `7`); a malformed key is a 404.
impl FromRequest for IncidentKey {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("key").unwrap_or_default();
        ready(raw.parse().map_err(|e| reject(req, e)))
    }
}
