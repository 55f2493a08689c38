//! [`AppState`], what every handler can reach: the database handle, the configuration,
//! metrics and the rendered-timeline cache. It sits below every handler and above nothing
//! that handles requests, so that handlers and the app that wires them never import each
//! other.

use std::sync::Arc;

use actix_web::{web, HttpRequest};

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::live::hub::Hub;
use crate::metrics::Metrics;
use crate::timeline::rendered::TimelineCache;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub metrics: Metrics,
    /// Rendered incident timelines (see `timeline::rendered`).
    pub timelines: Arc<TimelineCache>,
    /// Live-update streams (see `live`).
    pub live: Arc<Hub>,
    /// Single sign-on, when configured.
    pub oidc: Option<Arc<crate::auth::oidc::Oidc>>,
    /// The public status page of the current revision (see `status::cache`).
    pub status_cache: Arc<crate::status::cache::StatusCache>,
    /// Similar incidents worked out lately (see `incidents::similar`).
    pub similar: Arc<crate::incidents::similar::Cache>,
}

impl AppState {
    /// The state from a request (for extractors and middleware).
    pub fn of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
        req.app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| AppError::unexpected("application state missing"))
    }
}
