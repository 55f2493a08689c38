//! The one place URLs of restricted incidents are guarded: a middleware that finds the
//! incident a URL is about (`/incidents/{key}/…`, `/tasks/{id}/…`, `/escalations/{id}/…`,
//! `/root-causes/{id}/…`, and the same under `/api/v1`), and when it is restricted answers
//! 404, as for an incident that does not exist, to anyone who may not see it. Open
//! incidents cost one indexed lookup; the asker is resolved only for restricted ones.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use diesel::prelude::*;

use super::{can_see, Reader, Seen};
use crate::audit::Actor;
use crate::auth::CurrentUser;
use crate::db::schema::{escalations, incidents, root_causes, tasks};
use crate::error::AppError;
use crate::extract::reject;
use crate::incidents::IncidentKey;
use crate::state::AppState;

/// What a path is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Incident(i32),
    Task(i32),
    Escalation(i32),
    Cause(i32),
}

fn target_of(path: &str) -> Option<Target> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut parts = path.trim_start_matches('/').split('/');
    let (kind, id) = (parts.next()?, parts.next()?);
    match kind {
        "incidents" => id
            .parse::<IncidentKey>()
            .ok()
            .map(|k| Target::Incident(k.0)),
        "tasks" => id.parse().ok().map(Target::Task),
        "escalations" => id.parse().ok().map(Target::Escalation),
        "root-causes" => id.parse().ok().map(Target::Cause),
        _ => None,
    }
}

/// The incident behind `target` and whether it is restricted (`None`: no such thing).
fn incident_of(
    conn: &mut crate::db::DbConnection,
    target: Target,
) -> Result<Option<(i32, bool)>, AppError> {
    let id: Option<i32> = match target {
        Target::Incident(id) => Some(id),
        Target::Task(id) => tasks::table
            .find(id)
            .select(tasks::incident_id)
            .first(conn)
            .optional()?,
        Target::Escalation(id) => escalations::table
            .find(id)
            .select(escalations::incident_id)
            .first(conn)
            .optional()?,
        Target::Cause(id) => root_causes::table
            .find(id)
            .select(root_causes::incident_id)
            .first(conn)
            .optional()?,
    };
    let Some(id) = id else { return Ok(None) };
    Ok(incidents::table
        .find(id)
        .select(incidents::restricted)
        .first::<bool>(conn)
        .optional()?
        .map(|r| (id, r)))
}

/// The middleware (see the module).
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(target) = target_of(req.path()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let state = AppState::of(req.request())?;
    let found = state.db.read(move |conn| incident_of(conn, target)).await;
    let Ok(Some((incident_id, true))) = found else {
        // Open, unknown (the handler says 404) or unreadable (the handler will say so too).
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let asker = if req.path().starts_with("/api/") {
        let secret = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
        match secret {
            Some(s) => state
                .db
                .read(move |conn| crate::auth::tokens::lookup(conn, &s))
                .await?
                .map(|(_, user, _)| user),
            None => None,
        }
    } else {
        CurrentUser::load(req.request()).await?.map(|c| c.user)
    };
    // Nobody signed in: the handler asks them to (and then this runs again).
    let Some(user) = asker else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let reader = Reader::of(&user);
    let ip = crate::auth::extract::client_ip(req.request());
    let path = req.path().to_string();
    let seen = state
        .db
        .read(move |conn| can_see(conn, reader, incident_id))
        .await?;
    match seen {
        Seen::Open | Seen::Member => Ok(next.call(req).await?.map_into_boxed_body()),
        Seen::AdminOnly => {
            let actor = Actor::user(&user, &ip);
            state
                .db
                .write(move |conn| super::note_admin_look(conn, &actor, incident_id, &path))
                .await?;
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Seen::No => Err(reject(
            req.request(),
            AppError::NotFound(format!("incident {}", IncidentKey(incident_id))),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_incident() {
        assert_eq!(target_of("/incidents/INC-7"), Some(Target::Incident(7)));
        assert_eq!(
            target_of("/api/v1/incidents/7/timeline"),
            Some(Target::Incident(7))
        );
        assert_eq!(target_of("/tasks/3/edit"), Some(Target::Task(3)));
        assert_eq!(
            target_of("/api/v1/escalations/4"),
            Some(Target::Escalation(4))
        );
        assert_eq!(target_of("/root-causes/5/delete"), Some(Target::Cause(5)));
        assert_eq!(target_of("/incidents/new"), None);
        assert_eq!(target_of("/tasks.csv"), None);
        assert_eq!(target_of("/tasks"), None);
    }
}
