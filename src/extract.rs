//! Request pieces that HTML and API handlers share: errors from extraction in the format of
//! the route that failed (JSON under `/api/`, an HTML page elsewhere). Incidents from the
//! path are `access::visible`'s.

use actix_web::HttpRequest;

use crate::error::AppError;
use crate::http_error::ApiError;

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
