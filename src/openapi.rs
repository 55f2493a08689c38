//! The OpenAPI 3 description of `/api/v1`, generated from the handlers' annotations and the
//! JSON types themselves (served at `/api/v1/openapi.json`).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "hindsight", description = "Incident timelines and postmortems. Authenticate with `Authorization: Bearer <token>`."),
    modifiers(&Bearer),
    security(("bearer" = [])),
    paths(
        crate::incidents::api::list_incidents,
        crate::search::api::search_api,
        crate::incidents::links::api::create_link,
        crate::incidents::links::api::delete_link,
        crate::incidents::updates::api::post_update,
        crate::attachments::web::upload_api,
        crate::attachments::web::list_api,
        crate::postmortems::api::export_bundle,
        crate::attachments::web::serve_api,
        crate::incidents::updates::api::list_updates,
        crate::incidents::api::create_incident,
        crate::incidents::api::get_incident,
        crate::incidents::api::update_incident,
        crate::timeline::api::list_entries,
        crate::timeline::api::add_entry,
        crate::timeline::api::edit_entry,
        crate::timeline::api::delete_entry,
        crate::escalations::api::list_escalations,
        crate::escalations::api::create_escalation,
        crate::escalations::api::update_escalation,
        crate::root_causes::api::list_causes,
        crate::root_causes::api::create_cause,
        crate::root_causes::api::update_cause,
        crate::root_causes::api::delete_cause,
        crate::tasks::api::list_incident_tasks,
        crate::tasks::api::create_task,
        crate::tasks::api::update_task,
        crate::tasks::api::delete_task,
        crate::tasks::api::list_tasks,
        crate::postmortems::api::get_postmortem,
        crate::postmortems::api::put_postmortem,
        crate::postmortems::api::review_postmortem,
        crate::postmortems::api::export_postmortem,
        crate::postmortems::api::import_postmortem,
        crate::alerts::api::alertmanager,
        crate::notifications::api::list_notifications,
        crate::live::stream::api_events,
        crate::access::api::get_access,
        crate::access::api::put_access,
        crate::notifications::api::mark_read,
        crate::settings::api::get_me,
        crate::settings::api::patch_me,
        crate::teams::api::list_teams,
        crate::teams::api::create_team,
        crate::teams::api::update_team,
        crate::teams::api::delete_team,
        crate::services::api::list_services,
        crate::status::api::get_status,
        crate::status::api::patch_status,
        crate::status::api::schedule_maintenance,
        crate::status::api::list_maintenances,
        crate::services::api::get_service,
        crate::services::api::create_service,
        crate::services::api::update_service,
        crate::services::api::delete_service,
        openapi_json,
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json` (no token needed: the description holds no data).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), responses((status = 200, description = "this document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_json().unwrap_or_default())
}
