//! Request pieces that HTML and API handlers share: the incident key from the path, and
//! errors from extraction in the format of the route that failed (JSON under `/api/`, an
//! HTML page elsewhere).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::error::{ApiError, AppError};
use crate::incidents::IncidentKey;

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
