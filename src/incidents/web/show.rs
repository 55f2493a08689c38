//! The incident page: header with milestones and phases, the timeline first, then
//! escalations, root causes and tasks; and the stamp its live-update check polls.

use crate::access::visible::Visible;
use crate::ids::{EscalationId, IncidentId, RootCauseId, UserId};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use crate::auth::{users, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::model::{Incident, Status};
use crate::incidents::service::{self as service, IncidentDetail};
use crate::state::AppState;
use crate::tasks::web::TaskRow;
use crate::time::{human_duration, now, now as t_now, rfc3339};
use crate::timeline::EntryKind;
use crate::web::{render_sized, Layout};

/// A milestone in the incident header.
pub struct Milestone {
    pub label: &'static str,
    pub iso: String,
    pub text: String,
}

/// A segment of the phase bar (SVG units out of 1000).
pub struct Phase {
    pub label: &'static str,
    pub css: &'static str,
    pub x: i64,
    pub width: i64,
    pub duration: String,
}

/// The phases between the milestones the incident has. A segment is named only when it
/// runs between neighbouring milestones; across a missing one (detected → resolved with
/// nothing between) what happened in it is unknown, so it is "Respond", never a guess.
fn phases(i: &Incident, at: NaiveDateTime) -> Vec<Phase> {
    // Each segment is named by the milestone that ends it, like the Durations card (which
    // lists these same segments): start → detected is "To detect", detected → acknowledged
    // "To acknowledge", acknowledged → mitigated "To mitigate", mitigated → resolved "To
    // resolve".
    const NAMED: [(&str, &str); 4] = [
        ("To detect", "detect"),
        ("To acknowledge", "investigate"),
        ("To mitigate", "mitigate"),
        ("To resolve", "monitor"),
    ];
    let mut points: Vec<(NaiveDateTime, usize)> = vec![(i.started_at, 0)];
    for (n, time) in [
        i.detected_at,
        i.acknowledged_at,
        i.mitigated_at,
        i.resolved_at,
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(t) = time {
            points.push((t, n + 1));
        }
    }
    let ongoing = i.status.is_open() && i.resolved_at.is_none();
    if ongoing {
        let last = points.last().map(|p| p.0).unwrap_or(i.started_at);
        points.push((at.max(last), usize::MAX));
    }
    let start = i.started_at;
    let end = points.last().map(|p| p.0).unwrap_or(start);
    let total = (end - start).num_seconds().max(1) as f64;
    let scale =
        |t: NaiveDateTime| (((t - start).num_seconds() as f64 / total) * 1000.0).round() as i64;
    points
        .windows(2)
        .filter(|w| w[1].0 > w[0].0)
        .map(|w| {
            let (label, css) = match w[1].1 {
                usize::MAX => ("Ongoing", "ongoing"),
                to if to == w[0].1 + 1 => NAMED[to - 1],
                _ => ("Respond", "respond"),
            };
            let x = scale(w[0].0);
            let width = (scale(w[1].0) - x).max(2);
            Phase {
                label,
                css,
                x,
                width,
                duration: human_duration(w[1].0 - w[0].0),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "incidents/show.html")]
struct ShowPage {
    layout: Layout,
    key: String,
    incident: Incident,
    severity_css: &'static str,
    services: Vec<String>,
    commander: String,
    /// Roles beside the commander that someone holds: (label, username).
    roles: Vec<(&'static str, String)>,
    milestones: Vec<Milestone>,
    /// The abbreviation all milestones share (blank when they differ: each has its own).
    milestone_zone: String,
    total_duration: Option<String>,
    phases: Vec<Phase>,
    timeline: crate::timeline::rendered::Rendered,
    kinds: &'static [EntryKind],
    statuses: &'static [Status],
    can_write: bool,
    pct: Option<String>,
    now_iso: String,
    error: Option<String>,
    notice: Option<String>,
    draft_body: String,
    draft_time: String,
    draft_kind: String,
    status_error: Option<String>,
    /// The status the form shows selected: a refused one as typed, else the incident's.
    draft_status: String,
    draft_status_at: String,
    /// Changes with every write to the incident or its timeline (the page script polls it).
    updated_iso: String,
    escalations: Vec<EscalationRow>,
    pending_escalations: usize,
    /// Whom pending escalations wait for, for the resolve control.
    pending_targets: String,
    causes: Vec<CauseRow>,
    primary_causes: usize,
    tasks: Vec<TaskRow>,
    overdue_tasks: usize,
    suggestions: Vec<String>,
    users: Vec<String>,
    /// Defined teams, suggested for a task's team.
    teams: Vec<String>,
    access: crate::access::Access,
    /// Links to other incidents (those the reader may see), and a refused link's form.
    links: Vec<crate::incidents::links::LinkView>,
    recurrences: Vec<crate::incidents::recurrence::Recurrence>,
    /// Incidents like this one, offered for linking while it has no links.
    similar: Vec<crate::incidents::similar::Similar>,
    link_error: Option<String>,
    link_other: String,
    link_kinds: &'static [crate::incidents::links::LinkKind],
    /// The incident's files, newest first (purged ones say so).
    attachments: Vec<crate::attachments::Attachment>,
    is_admin: bool,
    /// The stakeholder-update card: a refusal and what was typed, and when the next
    /// update is due ("due in 12 min", "due 4 min ago").
    update_error: Option<String>,
    update: crate::incidents::updates::web::UpdateForm,
    update_due: Option<(String, bool)>,
    /// The commander or an admin: may restrict it and set its members.
    can_manage_access: bool,
}

/// State of the quick-add form when it comes back with an error.
#[derive(Default)]
pub struct Draft {
    pub error: Option<String>,
    /// Says which date a typed time landed on when it was not today.
    pub notice: Option<String>,
    pub body: String,
    pub time: String,
    pub kind: String,
    /// A refused status change: its message (shown beside the status control) and what
    /// was typed, kept.
    pub status_error: Option<String>,
    pub status: String,
    pub status_at: String,
    /// A refused link: its message and the key typed.
    pub link_error: Option<String>,
    pub link_other: String,
    /// A refused stakeholder update: its message and the form as typed.
    pub update_error: Option<String>,
    pub update: crate::incidents::updates::web::UpdateForm,
}

/// Renders the incident page; `draft` refills the quick-add form after an error.
pub async fn incident_page(
    state: &AppState,
    user: &CurrentUser,
    id: IncidentId,
    draft: Draft,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let can_write = user.user.role.allows(Permission::Write);
    let zone = user.user.zone();
    let (manager_id, admin) = (user.user.id, user.user.role == crate::auth::Role::Admin);
    let timelines = std::sync::Arc::clone(&state.timelines);
    let similar_cache = std::sync::Arc::clone(&state.similar);
    let reader = crate::access::Reader::of(&user.user);
    let record = state
        .db
        .read(move |conn| {
            let detail = service::get(conn, id)?;
            let hidden = crate::access::Hidden::from_reader(conn, reader)?;
            let rev = detail.incident.timeline_rev;
            // The Access card: only for restricted incidents and those who may change it.
            let access = if detail_restricted_or_manager(&detail, manager_id, admin) {
                crate::access::of(conn, id)?
            } else {
                crate::access::Access::default()
            };
            let links = crate::incidents::links::list(conn, id, &hidden)?;
            let i = &detail.incident;
            let similar = if can_write && links.is_empty() && i.duplicate_of.is_none() {
                crate::incidents::similar::suggest(
                    conn,
                    id,
                    &i.title,
                    &i.impact,
                    &hidden,
                    &similar_cache,
                )?
            } else {
                vec![]
            };
            // Read once: the escalation suggestions and the forms' pickers share them.
            let users = users::active_usernames(conn, false)?;
            let teams = crate::teams::names(conn)?;
            Ok(Record {
                timeline: timelines.timeline(conn, id, rev, can_write, zone)?,
                detail,
                escalations: crate::escalations::list(conn, id)?,
                causes: crate::root_causes::list(conn, id)?,
                tasks: crate::tasks::service::list_for_incident(conn, id)?,
                suggestions: crate::escalations::target_suggestions_with(conn, &teams, &users)?,
                users,
                teams,
                access,
                recurrences: crate::incidents::recurrence::of(conn, id, &hidden)?,
                similar,
                links,
                attachments: crate::attachments::of_incident(conn, id)?,
            })
        })
        .await?;
    let Record {
        detail,
        timeline,
        escalations,
        causes,
        tasks,
        suggestions,
        users,
        teams,
        access,
        links,
        recurrences,
        similar,
        attachments,
    } = record;
    let today = t_now().date();
    let t = now();
    let i = &detail.incident;
    let can_manage_access = user.user.role == crate::auth::Role::Admin
        || (i.commander_id == Some(user.user.id) && can_write);
    let (milestones, milestone_zone) = milestones(i, zone);
    let total_duration = Some(human_duration(i.resolved_at.unwrap_or(t) - i.started_at));
    let pending: Vec<&str> = escalations
        .iter()
        .filter(|e| e.escalation.state == crate::escalations::EscalationState::Pending)
        .map(|e| e.escalation.target.as_str())
        .collect();
    let task_rows = TaskRow::with_recurrences(
        tasks.iter().map(|v| TaskRow::of(v, today, zone)).collect(),
        &crate::incidents::recurrence::by_task(&recurrences),
    );
    let page = ShowPage {
        pending_escalations: pending.len(),
        pending_targets: pending.join(", "),
        updated_iso: rfc3339(i.updated_at),
        overdue_tasks: task_rows.iter().filter(|t| t.overdue).count(),
        primary_causes: causes
            .iter()
            .filter(|c| c.kind == crate::root_causes::CauseKind::Primary)
            .count(),
        escalations: escalations
            .iter()
            .map(|v| EscalationRow::of(v, zone))
            .collect(),
        causes: causes.into_iter().map(CauseRow::from).collect(),
        tasks: task_rows,
        suggestions,
        teams,
        access,
        links,
        recurrences,
        similar,
        link_error: draft.link_error,
        link_other: draft.link_other,
        update_error: draft.update_error,
        update: draft.update,
        update_due: i.next_update_due_at.map(|due| {
            let late = t >= due;
            let span = human_duration(if late { t - due } else { due - t });
            (
                if late {
                    format!("update due {span} ago")
                } else {
                    format!("next update due in {span}")
                },
                late,
            )
        }),
        link_kinds: crate::incidents::links::LinkKind::ALL,
        attachments,
        is_admin: user.user.role == crate::auth::Role::Admin,
        can_manage_access,
        users,
        layout: Layout::new(user, "incidents", format!("{} {}", i.key(), i.title)),
        key: i.key(),
        severity_css: i.severity.css(),
        services: detail.services.clone(),
        commander: detail.commander.clone().unwrap_or_default(),
        roles: detail
            .roles
            .iter()
            .filter_map(|(role, holder)| holder.map(|h| (role.label(), h.clone())))
            .collect(),
        milestones,
        milestone_zone,
        total_duration,
        phases: phases(i, t),
        timeline,
        kinds: EntryKind::PICKABLE,
        statuses: Status::ALL,
        can_write,
        pct: i.users_affected_pct.map(|p| format!("{p}%")),
        now_iso: rfc3339(t),
        error: draft.error,
        notice: draft.notice,
        draft_body: draft.body,
        draft_time: draft.time,
        status_error: draft.status_error,
        draft_status: if draft.status.is_empty() {
            i.status.to_string()
        } else {
            draft.status
        },
        draft_status_at: draft.status_at,
        draft_kind: if draft.kind.is_empty() {
            "action".into()
        } else {
            draft.kind
        },
        incident: detail.incident,
    };
    let capacity = 32 * 1024 + page.timeline.html.len();
    render_sized(status, &page, capacity)
}

/// The incident's milestones in the reader's zone, and the zone abbreviation they share
/// (blank when they differ: each then carries its own). Abbreviations are those of the
/// instants themselves: a June time in Berlin is CEST even when read in December.
fn milestones(i: &Incident, zone: crate::time::Zone) -> (Vec<Milestone>, String) {
    let times: Vec<(&'static str, NaiveDateTime)> = [
        ("started", Some(i.started_at)),
        ("detected", i.detected_at),
        ("acknowledged", i.acknowledged_at),
        ("mitigated", i.mitigated_at),
        ("resolved", i.resolved_at),
    ]
    .into_iter()
    .filter_map(|(label, t)| t.map(|t| (label, t)))
    .collect();
    let abbreviations: Vec<String> = times.iter().map(|(_, t)| zone.abbreviation(*t)).collect();
    let shared = abbreviations
        .iter()
        .all(|a| Some(a) == abbreviations.first())
        .then(|| abbreviations.first().cloned())
        .flatten();
    let milestones = times
        .iter()
        .zip(&abbreviations)
        .map(|((label, t), abbreviation)| Milestone {
            label,
            iso: rfc3339(*t),
            text: match shared {
                Some(_) => zone.date_hhmm(*t),
                None => format!("{} {abbreviation}", zone.date_hhmm(*t)),
            },
        })
        .collect();
    (milestones, shared.unwrap_or_default())
}

impl EscalationRow {
    fn of(v: &crate::escalations::EscalationView, zone: crate::time::Zone) -> Self {
        let e = &v.escalation;
        EscalationRow {
            id: e.id,
            version: e.version,
            target: e.target.clone(),
            reason: e.reason.clone(),
            state: e.state.as_str(),
            pending: e.state == crate::escalations::EscalationState::Pending,
            iso: rfc3339(e.escalated_at),
            at: zone.date_hhmm(e.escalated_at),
            time_to_ack: e.time_to_acknowledge(),
            by: v.escalated_by.clone().unwrap_or_default(),
            answered_by: v
                .responded_by
                .clone()
                .filter(|_| e.state.is_answer())
                .unwrap_or_default(),
        }
    }
}

impl From<crate::root_causes::RootCause> for CauseRow {
    fn from(c: crate::root_causes::RootCause) -> Self {
        CauseRow {
            id: c.id,
            kind: c.kind.as_str(),
            category: c.category.as_str(),
            html: c.description_html,
        }
    }
}

fn detail_restricted_or_manager(d: &IncidentDetail, user_id: UserId, admin: bool) -> bool {
    d.incident.restricted || admin || d.incident.commander_id == Some(user_id)
}

/// Everything the incident page shows, loaded in one blocking call (a fixed number of
/// queries whatever the incident's size).
struct Record {
    detail: IncidentDetail,
    timeline: crate::timeline::rendered::Rendered,
    escalations: Vec<crate::escalations::EscalationView>,
    causes: Vec<crate::root_causes::RootCause>,
    tasks: Vec<crate::tasks::TaskView>,
    suggestions: Vec<String>,
    users: Vec<String>,
    teams: Vec<String>,
    access: crate::access::Access,
    links: Vec<crate::incidents::links::LinkView>,
    recurrences: Vec<crate::incidents::recurrence::Recurrence>,
    similar: Vec<crate::incidents::similar::Similar>,
    attachments: Vec<crate::attachments::Attachment>,
}

/// An escalation on the incident page.
pub struct EscalationRow {
    pub id: EscalationId,
    pub version: i32,
    pub target: String,
    pub reason: String,
    pub state: &'static str,
    pub pending: bool,
    pub iso: String,
    pub at: String,
    pub time_to_ack: Option<String>,
    pub by: String,
    /// Who acknowledged or declined it (blank while pending).
    pub answered_by: String,
}

/// A root cause on the incident page.
pub struct CauseRow {
    pub id: RootCauseId,
    pub kind: &'static str,
    pub category: &'static str,
    pub html: String,
}

/// `GET /incidents/{key}`
pub async fn show_incident(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    let query: PageQuery = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    // The timeline's edit links are `?edit=N` (a thousand full paths were a fifth of a long
    // page); the edit page checks that the entry is this incident's.
    if let Some(entry) = query.edit.and_then(|e| e.parse::<i32>().ok()) {
        return Ok(crate::web::see_other(&format!(
            "/incidents/{key}/timeline/{entry}/edit"
        )));
    }
    let id = key.id();
    let draft = Draft {
        notice: query
            .recorded
            .and_then(|raw| recorded_notice(&raw, user.user.zone())),
        ..Default::default()
    };
    incident_page(&state, &user, id, draft, StatusCode::OK).await
}

/// What the incident page reads from its query string; each value unreadable on its own
/// is ignored.
#[derive(serde::Deserialize, Default)]
struct PageQuery {
    /// `?recorded=`, set by `web::back_to_incident`.
    recorded: Option<String>,
    /// `?edit=N`: the timeline entry to edit.
    edit: Option<String>,
}

/// "Recorded at 23:50 on Sunday 29 November 2026 (UTC), not today." from `?recorded=` (set
/// by `web::back_to_incident`), in the reader's zone; anything unreadable is ignored.
fn recorded_notice(raw: &str, zone: crate::time::Zone) -> Option<String> {
    let at = crate::time::parse_rfc3339(raw)?;
    let local = zone.local(at);
    (local.date() != zone.local(now()).date()).then(|| {
        format!(
            "Recorded at {} on {} ({}), not today.",
            crate::time::hhmm(local),
            local.date().format("%A %-d %B %Y"),
            zone.abbreviation(at)
        )
    })
}

/// `GET /incidents/{key}/stamp`: the last-change stamp the page polls for live updates, as
/// plain text (the page's `data-updated`), instead of the whole page every 20 seconds.
pub async fn incident_stamp(
    state: web::Data<AppState>,
    _user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    let id = key.id();
    let updated = state
        .db
        .read(move |conn| service::last_change(conn, id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(rfc3339(updated)))
}
