//! Postmortem pages: write the sections beside the record (with a preview that needs no
//! JavaScript), the review panel, the download, the list by state, and `/import`.

use crate::access::visible::Visible;
use crate::ids::IncidentId;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template as Askama;
use serde::Deserialize;

use super::export::{self, Template};
use super::review::{self, ReviewAction, ReviewView, Verdict};
use super::{ReviewState, Sections};
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::markdown;
use crate::state::AppState;
use crate::timeline::EntryKind;
use crate::web::{render_status, see_other, Layout};

/// One section on the page: its source and, for previews, its rendering.
pub struct SectionView {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub source: String,
    pub html: String,
}

fn section_views(s: &Sections, render: bool) -> Vec<SectionView> {
    s.fields()
        .into_iter()
        .map(|(name, source)| SectionView {
            name,
            label: super::section_label(name),
            hint: match name {
                "summary" => "What happened, in a few sentences.",
                "resolution" => "How it was fixed.",
                "improvements" => "Measures that prevent a repeat (a list works well).",
                _ => "",
            },
            source: source.to_string(),
            html: if render {
                markdown::render(source)
            } else {
                String::new()
            },
        })
        .collect()
}

#[derive(Deserialize, Default, Clone)]
pub struct PostmortemForm {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    improvements: String,
    #[serde(default)]
    lessons_went_well: String,
    #[serde(default)]
    lessons_went_wrong: String,
    #[serde(default)]
    lessons_lucky: String,
    #[serde(default)]
    conclusion: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    action: String,
}

impl PostmortemForm {
    fn sections(&self) -> Sections {
        Sections {
            summary: self.summary.clone(),
            resolution: self.resolution.clone(),
            improvements: self.improvements.clone(),
            lessons_went_well: self.lessons_went_well.clone(),
            lessons_went_wrong: self.lessons_went_wrong.clone(),
            lessons_lucky: self.lessons_lucky.clone(),
            conclusion: self.conclusion.clone(),
        }
    }
}

pub struct ReviewRow {
    pub reviewer: String,
    pub state: &'static str,
    pub label: &'static str,
    pub comment: String,
}

#[derive(Askama)]
#[template(path = "postmortems/edit.html")]
struct PostmortemPage {
    layout: Layout,
    key: String,
    title: String,
    /// The header facts the Markdown export has too: severity, impact, duration and
    /// milestones (label, value), in the reader's zone.
    facts: Vec<(&'static str, String)>,
    impact: String,
    sections: Vec<SectionView>,
    version: i32,
    state: &'static str,
    state_label: &'static str,
    published: bool,
    /// Its summary shows on the public status page.
    public: bool,
    /// Admins may show a published summary on the status page (not of a restricted
    /// incident).
    may_make_public: bool,
    published_at: String,
    /// When the incident was reopened after this postmortem was published.
    reopened_since: Option<String>,
    author: String,
    reviews: Vec<ReviewRow>,
    can_write: bool,
    is_author: bool,
    /// The sections as a form (a draft, or a writer who chose Edit); else rendered.
    editing: bool,
    /// The signed-in user was asked to review and has not answered.
    awaiting_me: bool,
    /// Why Publish is not possible yet, if it is not.
    publish_blocked: Option<&'static str>,
    previewing: bool,
    error: Option<String>,
    notice: Option<String>,
    users: Vec<String>,
    /// (time, kind, HTML, a key moment: starred, marked, or a status change).
    entries: Vec<(String, &'static str, String, bool)>,
    key_moments: usize,
    causes: Vec<(String, String)>,
    tasks: Vec<(String, &'static str, String)>,
}

struct Loaded {
    postmortem: super::Postmortem,
    detail: crate::incidents::service::IncidentDetail,
    /// The timeline as the page shows it (rendered).
    entries: Vec<(crate::timeline::service::PageEntry, Option<String>)>,
    causes: Vec<crate::root_causes::RootCause>,
    tasks: Vec<crate::tasks::TaskView>,
    reviews: Vec<ReviewView>,
    author: Option<String>,
    users: Vec<String>,
}

async fn load(state: &AppState, id: IncidentId) -> Result<Loaded, AppError> {
    state
        .db
        .read(move |conn| {
            let detail = crate::incidents::service::get(conn, id)?;
            let postmortem = super::get(conn, id)?;
            let author = match postmortem.author_id {
                Some(a) => users::usernames(conn, &[a])?.remove(&a),
                None => None,
            };
            let mut tasks = crate::tasks::service::list_for_incident(conn, id)?;
            tasks.sort_by_key(|t| t.task.id);
            Ok(Loaded {
                entries: crate::timeline::service::list_for_page(conn, id)?,
                causes: crate::root_causes::list(conn, id)?,
                tasks,
                reviews: review::list(conn, id)?,
                author,
                users: users::active_usernames(conn, true)?,
                postmortem,
                detail,
            })
        })
        .await
}

/// The header facts the Markdown export has too: severity, status, duration, users affected
/// and the milestones in the reader's zone.
fn facts(i: &crate::incidents::Incident, zone: crate::time::Zone) -> Vec<(&'static str, String)> {
    let mut facts: Vec<(&'static str, String)> = vec![
        ("Severity", i.severity.to_string()),
        ("Status", i.status.to_string()),
    ];
    if let Some(r) = i.resolved_at {
        facts.push(("Duration", crate::time::human_duration(r - i.started_at)));
    }
    if let Some(p) = i.users_affected_pct {
        facts.push(("Users affected", format!("{p}%")));
    }
    for (label, t) in [
        ("Started", Some(i.started_at)),
        ("Detected", i.detected_at),
        ("Acknowledged", i.acknowledged_at),
        ("Mitigated", i.mitigated_at),
        ("Resolved", i.resolved_at),
    ] {
        if let Some(t) = t {
            facts.push((label, zone.in_words(t)));
        }
    }
    facts
}

impl ReviewRow {
    fn of(r: &ReviewView) -> Self {
        ReviewRow {
            reviewer: r.reviewer.clone(),
            state: r.state.as_str(),
            label: match r.state {
                Verdict::Requested => "asked",
                Verdict::Approved => "approved",
                Verdict::ChangesRequested => "changes requested",
            },
            comment: r.comment.clone(),
        }
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    id: IncidentId,
    draft: Option<(Sections, bool)>,
    error: Option<AppError>,
    notice: Option<&str>,
    edit_requested: bool,
) -> Result<HttpResponse, AppError> {
    let l = load(state, id).await?;
    let pm = &l.postmortem;
    let previewing = draft.as_ref().is_some_and(|d| d.1);
    let can_write = user.user.role.allows(Permission::Write);
    let zone = user.user.zone();
    // Drafts open as a form for writers; in review and published they read as a document
    // (reviewers review what readers will read), with Edit one click away.
    let editing = can_write
        && pm.review_state != ReviewState::Published
        && (draft.is_some() || pm.review_state == ReviewState::Draft || edit_requested);
    let sections = match &draft {
        Some((s, render)) => section_views(s, *render),
        None => section_views(&Sections::of(pm), !editing),
    };
    let awaiting_me = pm.review_state == ReviewState::InReview
        && l.reviews
            .iter()
            .any(|r| r.reviewer == user.user.username && r.state == Verdict::Requested);
    let approved_by_other = l
        .reviews
        .iter()
        .any(|r| r.state == Verdict::Approved && Some(&r.reviewer) != l.author.as_ref());
    let publish_blocked = match pm.review_state {
        ReviewState::InReview if approved_by_other => None,
        ReviewState::InReview => {
            Some("Publishing needs an approval from a reviewer other than the author.")
        }
        ReviewState::Draft => Some("Ask for a review first: publishing needs an approval."),
        ReviewState::Published => None,
    };
    let status = match &error {
        Some(AppError::Conflict(_)) => StatusCode::CONFLICT,
        Some(AppError::Forbidden(_)) => StatusCode::FORBIDDEN,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let i = &l.detail.incident;
    let mut view = PostmortemPage {
        layout: Layout::new(user, "incidents", format!("Postmortem {}", i.key())),
        key: i.key(),
        title: i.title.clone(),
        facts: facts(i, zone),
        impact: i.impact.clone(),
        sections,
        version: pm.version,
        state: pm.review_state.as_str(),
        state_label: pm.review_state.label(),
        published: pm.review_state == ReviewState::Published,
        public: pm.public,
        may_make_public: user.user.role.allows(crate::auth::Permission::Administer)
            && !i.restricted
            && pm.review_state == ReviewState::Published,
        published_at: pm
            .published_at
            .map(|t| zone.date_hhmm(t))
            .unwrap_or_default(),
        reopened_since: pm
            .published_at
            .filter(|_| pm.review_state == ReviewState::Published)
            .and_then(|published| {
                l.entries
                    .iter()
                    .map(|(e, _)| e)
                    .rfind(|e| e.kind == EntryKind::Reopened && e.recorded_at > published)
                    .map(|e| zone.date_hhmm(e.occurred_at))
            }),
        is_author: pm.author_id == Some(user.user.id),
        author: l.author.clone().unwrap_or_default(),
        reviews: l.reviews.iter().map(ReviewRow::of).collect(),
        can_write,
        editing,
        awaiting_me,
        publish_blocked,
        previewing,
        error: error.map(|e| e.public_message()),
        notice: notice.map(str::to_string),
        users: l
            .users
            .into_iter()
            .filter(|u| *u != user.user.username)
            .collect(),
        entries: l
            .entries
            .into_iter()
            .map(|(e, _)| {
                let time = match e.time_known {
                    true => zone.date_hhmm(e.occurred_at),
                    false => "~".into(),
                };
                let key = e.starred
                    || e.marker.is_some()
                    || matches!(e.kind, EntryKind::StatusChange | EntryKind::Reopened);
                (time, e.kind.label(), e.body_html, key)
            })
            .collect(),
        key_moments: 0,
        causes: l
            .causes
            .iter()
            .map(|c| {
                (
                    format!("{} · {}", c.kind, c.category),
                    c.description_html.clone(),
                )
            })
            .collect(),
        tasks: l
            .tasks
            .iter()
            .map(|t| {
                (
                    t.task.title.clone(),
                    t.task.status.label(),
                    t.owner.clone().unwrap_or_default(),
                )
            })
            .collect(),
    };
    view.key_moments = view.entries.iter().filter(|e| e.3).count();
    render_status(status, &view)
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
    /// `?edit=1`: the form, for a postmortem in review.
    edit: Option<String>,
}

/// `GET /incidents/{key}/postmortem`
pub async fn show_postmortem(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let id = key.id();
    let notice = match q.notice.as_deref() {
        Some("saved") => Some("Saved."),
        Some("requested") => Some("Review requested."),
        Some("approved") => Some("Approved."),
        Some("changes") => Some("Changes requested."),
        Some("published") => Some("Published."),
        Some("draft") => Some("Moved back to draft."),
        Some("review") => Some("Review updated."),
        Some("public") => Some("The summary now shows on the status page."),
        Some("not_public") => Some("The summary no longer shows on the status page."),
        _ => None,
    };
    let edit = q.edit.is_some();
    page(&state, &user, id, None, None, notice, edit).await
}

/// `POST /incidents/{key}/postmortem`: save, or (action=preview) show the rendering
/// without saving.
pub async fn save_postmortem(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<PostmortemForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Write)?;
    let id = key.id();
    let sections = data.sections();
    if data.action == "preview" {
        return page(&state, &user, id, Some((sections, true)), None, None, true).await;
    }
    let version = crate::web::form_version(&data.version)?;
    let to_save = sections.clone();
    match state
        .db
        .write(move |conn| super::save(conn, id, to_save, version, &actor))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/incidents/{}/postmortem?notice=saved",
            IncidentKey(id)
        ))),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
            page(
                &state,
                &user,
                id,
                Some((sections, false)),
                Some(e),
                None,
                true,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ReviewForm {
    action: String,
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /incidents/{key}/postmortem/review`
pub async fn review_postmortem(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<ReviewFormRaw>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let data = data.into_form();
    let reviewers: Vec<String> = data
        .reviewers
        .iter()
        .flat_map(|r| r.split(','))
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    let u = user.user.clone();
    // The notice says what happened ("Published."), not that something did.
    let notice = match data.action.as_str() {
        "request" => "requested",
        "approve" => "approved",
        "request_changes" => "changes",
        "publish" => "published",
        "reopen" => "draft",
        "public" => "public",
        "not_public" => "not_public",
        _ => "review",
    };
    let result = async {
        if let Some(public) = match data.action.as_str() {
            "public" => Some(true),
            "not_public" => Some(false),
            _ => None,
        } {
            return state
                .db
                .write(move |conn| super::set_public(conn, id, public, &actor))
                .await;
        }
        let action = ReviewAction::parse(&data.action, &reviewers, &data.comment)?;
        state
            .db
            .write(move |conn| review::apply(conn, id, action, &u, &actor).map(|_| ()))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/incidents/{}/postmortem?notice={notice}",
            IncidentKey(id)
        ))),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. } | AppError::Forbidden(_))) => {
            page(&state, &user, id, None, Some(e), None, false).await
        }
        Err(e) => Err(e),
    }
}

/// The review form as sent: `reviewers` may repeat (a multi-select) or be one text field.
#[derive(Deserialize)]
pub struct ReviewFormRaw {
    action: String,
    #[serde(default)]
    reviewers: String,
    #[serde(default)]
    comment: String,
}

impl ReviewFormRaw {
    fn into_form(self) -> ReviewForm {
        ReviewForm {
            action: self.action,
            reviewers: vec![self.reviewers],
            comment: self.comment,
        }
    }
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    template: Option<String>,
    zone: Option<String>,
}

/// `GET /incidents/{key}/postmortem.md?template=sre`
pub async fn download_postmortem(
    state: web::Data<AppState>,
    _user: CurrentUser,
    key: Visible,
    q: web::Query<DownloadQuery>,
) -> Result<HttpResponse, AppError> {
    let id = key.id();
    let template = Template::parse(q.template.as_deref())?;
    let zone = export::parse_zone(q.zone.as_deref())?;
    let (key, doc) = state
        .db
        .read(move |conn| export::document(conn, id, template, zone))
        .await?;
    let suffix = if template == Template::Sre {
        "-sre"
    } else {
        ""
    };
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{key}-postmortem{suffix}.md\""),
        ))
        .body(crate::attachments::absolute_links(
            &doc,
            &state.config.base_url,
        )))
}

pub struct PostmortemRow {
    pub key: String,
    pub title: String,
    /// Published, then the incident was reopened: the document may be out of date.
    pub reopened: bool,
    pub state: &'static str,
    pub state_label: &'static str,
    pub resolved: String,
    pub updated_iso: String,
    pub updated: String,
}

#[derive(Askama)]
#[template(path = "postmortems/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<PostmortemRow>,
    state: String,
    counts: Vec<(&'static str, &'static str, i64)>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
}

/// `GET /postmortems?state=draft|in_review|published|missing`
pub async fn list_postmortems(
    state: web::Data<AppState>,
    user: CurrentUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let wanted = q.state.clone();
    let filter: Option<ReviewState> = match wanted.as_str() {
        "" | "missing" => None,
        s => Some(
            s.parse()
                .map_err(|e| AppError::invalid("state", format!("state {e} (or missing)")))?,
        ),
    };
    let missing = wanted == "missing";
    let zone = user.user.zone();
    let reader = crate::access::Reader::of(&user.user);
    let (rows, counts) = state
        .db
        .read(move |conn| super::listing(conn, filter, missing, zone, reader))
        .await?;
    let page = ListPage {
        layout: Layout::new(&user, "postmortems", "Postmortems"),
        rows,
        state: wanted,
        counts,
    };
    render_status(StatusCode::OK, &page)
}
