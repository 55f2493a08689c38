//! The route table: every URL of the app in one screen, the JSON API in its own table
//! below (`api_routes!`), which also lists it for the OpenAPI check.

use actix_web::web::{self, delete, get, patch, post, put, resource as r};

use crate::error::AppError;
use crate::http_error::ApiError;
use crate::{
    admin, alerts, auth, dashboard, escalations, incidents, insights, ops, postmortems,
    root_causes, settings, tasks, timeline, web as pages, webhooks,
};

#[rustfmt::skip]
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg
        // Pages
        .service(r("/").route(get().to(dashboard::show_dashboard)))
        .service(r("/login").route(get().to(auth::web::login_page)).route(post().to(auth::web::login)))
        .service(r("/logout").route(post().to(auth::web::logout)))
        .service(r("/auth/oidc/start").route(get().to(auth::oidc::flow::start)))
        .service(r("/auth/oidc/callback").route(get().to(auth::oidc::flow::callback)))
        .service(r("/setup").route(get().to(auth::web::setup_page)).route(post().to(auth::web::complete_setup)))
        .service(r("/incidents").route(get().to(incidents::web::list_incidents)).route(post().to(incidents::web::create_incident)))
        .service(r("/search").route(get().to(crate::search::web::search_page)))
        .service(r("/incidents/new").route(get().to(incidents::web::new_incident)))
        .service(r("/incidents/{key}").route(get().to(incidents::web::show_incident)))
        .service(r("/incidents/{key}/access").route(post().to(crate::access::web::set_access)))
        .service(r("/incidents/{key}/links").route(post().to(incidents::links::web::create_link)))
        .service(r("/incidents/{key}/links/{id}/delete").route(post().to(incidents::links::web::delete_link)))
        .service(r("/incidents/{key}/events").route(get().to(crate::live::stream::page_events)))
        .service(r("/incidents/{key}/stamp").route(get().to(incidents::web::incident_stamp)))
        .service(r("/incidents/{key}/edit").route(get().to(incidents::web::edit_incident)).route(post().to(incidents::web::update_incident)))
        .service(r("/incidents/{key}/status").route(post().to(incidents::web::change_status)))
        .service(r("/incidents/{key}/timeline").route(get().to(timeline::web::entries_fragment)).route(post().to(timeline::web::add_entry)))
        .service(r("/incidents/{key}/timeline/deleted").route(get().to(timeline::web::show_deleted)))
        .service(r("/incidents/{key}/timeline/{id}/edit").route(get().to(timeline::web::edit_entry_page)).route(post().to(timeline::web::edit_entry)))
        .service(r("/incidents/{key}/timeline/{id}/delete").route(post().to(timeline::web::delete_entry)))
        .service(r("/incidents/{key}/timeline/{id}/revisions").route(get().to(timeline::web::show_revisions)))
        .service(r("/incidents/{key}/escalations").route(post().to(escalations::web::escalate)))
        .service(r("/incidents/{key}/escalations/new").route(get().to(escalations::web::new_escalation)))
        .service(r("/escalations/{id}/state").route(post().to(escalations::web::respond)))
        .service(r("/incidents/{key}/root-causes").route(post().to(root_causes::web::add_cause)))
        .service(r("/incidents/{key}/root-causes/new").route(get().to(root_causes::web::new_cause)))
        .service(r("/root-causes/{id}/edit").route(get().to(root_causes::web::edit_cause_page)).route(post().to(root_causes::web::edit_cause)))
        .service(r("/root-causes/{id}/delete").route(post().to(root_causes::web::delete_cause)))
        .service(r("/incidents/{key}/tasks").route(post().to(tasks::web::add_task)))
        .service(r("/incidents/{key}/tasks/new").route(get().to(tasks::web::new_task)))
        .service(r("/tasks").route(get().to(tasks::web::show_board)))
        .service(r("/tasks.csv").route(get().to(tasks::web::export_csv)))
        .service(r("/tasks/{id}/edit").route(get().to(tasks::web::edit_task_page)).route(post().to(tasks::web::edit_task)))
        .service(r("/tasks/{id}/quick").route(post().to(tasks::web::quick_update)))
        .service(r("/tasks/{id}/delete").route(post().to(tasks::web::delete_task)))
        .service(r("/incidents/{key}/postmortem").route(get().to(postmortems::web::show_postmortem)).route(post().to(postmortems::web::save_postmortem)))
        .service(r("/incidents/{key}/postmortem/review").route(post().to(postmortems::web::review_postmortem)))
        .service(r("/incidents/{key}/postmortem.md").route(get().to(postmortems::web::download_postmortem)))
        .service(r("/postmortems").route(get().to(postmortems::web::list_postmortems)))
        .service(r("/insights").route(get().to(insights::web::show_insights)))
        .service(r("/incidents/{key}/updates").route(post().to(crate::incidents::updates::web::post_update)))
        .service(r("/status").route(get().to(crate::status::web::status_page)))
        .service(r("/status.json").route(get().to(crate::status::web::status_json)))
        .service(r("/status/feed.atom").route(get().to(crate::status::web::status_feed)))
        .service(r("/status/subscribe").route(get().to(crate::status::subscribe_web::subscribe_page)).route(post().to(crate::status::subscribe_web::subscribe)))
        .service(r("/status/confirm").route(get().to(crate::status::subscribe_web::confirm_page)).route(post().to(crate::status::subscribe_web::confirm)))
        .service(r("/status/manage").route(get().to(crate::status::subscribe_web::manage_page)).route(post().to(crate::status::subscribe_web::manage)))
        .service(r("/status/unsubscribe").route(get().to(crate::status::subscribe_web::unsubscribe_page)).route(post().to(crate::status::subscribe_web::unsubscribe)))
        .service(r("/services").route(get().to(crate::services::web::list_services)).route(post().to(crate::services::web::create_service)))
        .service(r("/services/{name}").route(get().to(crate::services::web::show_service)).route(post().to(crate::services::web::update_service)))
        .service(r("/services/{name}/delete").route(post().to(crate::services::web::delete_service)))
        .service(r("/import").route(get().to(postmortems::import_page::import_page)).route(post().to(postmortems::import_page::import_submit)))
        .service(r("/admin/users").route(get().to(admin::list_users)).route(post().to(admin::create_user)))
        .service(r("/admin/users/{id}").route(post().to(admin::update_user)))
        .service(r("/admin/users/{id}/password").route(post().to(admin::reset_password)))
        .service(r("/admin/teams").route(get().to(crate::teams::web::list_teams)).route(post().to(crate::teams::web::create_team)))
        .service(r("/admin/teams/{id}").route(post().to(crate::teams::web::update_team)))
        .service(r("/admin/teams/{id}/delete").route(post().to(crate::teams::web::delete_team)))
        .service(r("/audit").route(get().to(admin::show_audit)))
        .service(r("/incidents/{key}/attachments").route(post().to(crate::attachments::web::upload_page)))
        .service(r("/attachments/{id}").route(get().to(crate::attachments::web::serve_page)))
        .service(r("/attachments/{id}/purge").route(post().to(crate::attachments::web::purge_page)))
        .service(r("/admin/chat").route(get().to(crate::chat::web::admin_page)))
        .service(r("/chat/connect").route(get().to(crate::chat::web::connect_page)).route(post().to(crate::chat::web::connect)))
        .service(r("/integrations/slack/commands").route(post().to(crate::chat::web::slack_command)))
        .service(r("/integrations/slack/interactions").route(post().to(crate::chat::web::slack_interaction)))
        .service(r("/integrations/slack/events").route(post().to(crate::chat::web::slack_event)))
        .service(r("/integrations/mattermost/commands").route(post().to(crate::chat::web::mattermost_command)))
        .service(r("/integrations/mattermost/actions").route(post().to(crate::chat::web::mattermost_action)))
        .service(r("/admin/webhooks").route(get().to(webhooks::web::list_webhooks)).route(post().to(webhooks::web::create_webhook)))
        .service(r("/admin/webhooks/{id}/active").route(post().to(webhooks::web::toggle_webhook)))
        .service(r("/admin/webhooks/{id}/delete").route(post().to(webhooks::web::delete_webhook)))
        .service(r("/settings/tokens").route(get().to(settings::tokens::list_tokens)).route(post().to(settings::tokens::create_token)))
        .service(r("/settings/tokens/{id}/revoke").route(post().to(settings::tokens::revoke_token)))
        .service(r("/settings/password").route(get().to(settings::password::password_page)).route(post().to(settings::password::change_password)))
        .service(r("/notifications").route(get().to(crate::notifications::web::inbox)))
        .service(r("/notifications/read").route(post().to(crate::notifications::web::read_all)))
        .service(r("/notifications/{id}/open").route(post().to(crate::notifications::web::open)))
        .service(r("/settings/notifications").route(get().to(settings::notifications::prefs_page)).route(post().to(settings::notifications::save_prefs)))
        .service(r("/settings/time-zone").route(get().to(settings::time_zone::time_zone_page)).route(post().to(settings::time_zone::set_time_zone)))
        // Operations and assets
        .service(r("/healthz").route(get().to(ops::healthz)))
        .service(r("/metrics").route(get().to(ops::metrics)))
        .service(r("/static/{name}").route(get().to(pages::static_file)))
        // JSON API: the table below (api_routes!)
        .service(api_scope())
        .default_service(web::to(page_not_found));
}

/// Declares the JSON API's routes once: [`api_scope`] registers them with actix and
/// [`API_ROUTES`] lists them (the OpenAPI test checks the description against it).
macro_rules! api_routes {
    ($($path:literal $([$data:expr])? => $($method:ident $handler:path),+;)+) => {
        /// `(METHOD, path)` of every JSON API route, under `/api/v1`.
        pub const API_ROUTES: &[(&str, &str)] = &[$($((api_method!($method), $path)),+),+];

        fn api_scope() -> actix_web::Scope {
            web::scope("/api/v1")
                $(.service(r($path)$(.app_data($data))?$(.route($method().to($handler)))+))+
                .default_service(web::to(api_not_found))
        }
    };
}

macro_rules! api_method {
    (get) => {
        "GET"
    };
    (post) => {
        "POST"
    };
    (put) => {
        "PUT"
    };
    (patch) => {
        "PATCH"
    };
    (delete) => {
        "DELETE"
    };
}

#[rustfmt::skip]
api_routes! {
    "/incidents" => get incidents::api::list_incidents, post incidents::api::create_incident;
    "/search" => get crate::search::api::search_api;
    "/incidents/{key}" => get incidents::api::get_incident, patch incidents::api::update_incident;
    "/incidents/{key}/access" => get crate::access::api::get_access, put crate::access::api::put_access;
    "/incidents/{key}/links" => post incidents::links::api::create_link;
    "/incidents/{key}/links/{id}" => delete incidents::links::api::delete_link;
    "/incidents/{key}/events" => get crate::live::stream::api_events;
    "/incidents/{key}/timeline" => get timeline::api::list_entries, post timeline::api::add_entry;
    "/incidents/{key}/timeline/{id}" => patch timeline::api::edit_entry, delete timeline::api::delete_entry;
    "/incidents/{key}/escalations" => get escalations::api::list_escalations, post escalations::api::create_escalation;
    "/escalations/{id}" => patch escalations::api::update_escalation;
    "/incidents/{key}/root-causes" => get root_causes::api::list_causes, post root_causes::api::create_cause;
    "/root-causes/{id}" => patch root_causes::api::update_cause, delete root_causes::api::delete_cause;
    "/incidents/{key}/tasks" => get tasks::api::list_incident_tasks, post tasks::api::create_task;
    "/tasks" => get tasks::api::list_tasks;
    "/tasks/{id}" => patch tasks::api::update_task, delete tasks::api::delete_task;
    "/incidents/{key}/postmortem" => get postmortems::api::get_postmortem, put postmortems::api::put_postmortem;
    "/incidents/{key}/postmortem/review" => post postmortems::api::review_postmortem;
    "/incidents/{key}/postmortem.md" => get postmortems::api::export_postmortem;
    "/incidents/{key}/postmortem.tar.gz" => get postmortems::api::export_bundle;
    "/import" [web::PayloadConfig::new(crate::limits::IMPORT_BODY_BYTES)] => post postmortems::api::import_postmortem;
    "/alerts/alertmanager" => post alerts::api::alertmanager;
    "/teams" => get crate::teams::api::list_teams, post crate::teams::api::create_team;
    "/teams/{id}" => patch crate::teams::api::update_team, delete crate::teams::api::delete_team;
    "/incidents/{key}/attachments" => get crate::attachments::web::list_api, post crate::attachments::web::upload_api;
    "/attachments/{id}" => get crate::attachments::web::serve_api;
    "/incidents/{key}/updates" => get crate::incidents::updates::api::list_updates, post crate::incidents::updates::api::post_update;
    "/status" => get crate::status::api::get_status, patch crate::status::api::patch_status;
    "/status/maintenances" => get crate::status::api::list_maintenances, post crate::status::api::schedule_maintenance;
    "/services" => get crate::services::api::list_services, post crate::services::api::create_service;
    "/services/{name}" => get crate::services::api::get_service, patch crate::services::api::update_service, delete crate::services::api::delete_service;
    "/notifications" => get crate::notifications::api::list_notifications;
    "/notifications/read" => post crate::notifications::api::mark_read;
    "/me" => get settings::api::get_me, patch settings::api::patch_me;
    "/openapi.json" => get crate::openapi::openapi_json;
}

async fn api_not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(AppError::NotFound("API route".into()).into())
}

async fn page_not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound("page".into()))
}
