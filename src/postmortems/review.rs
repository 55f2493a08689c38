//! The review workflow: the author asks named reviewers; reviewers approve or request
//! changes with a comment; publishing needs an approval from someone who is not the
//! author; a published postmortem goes back to draft only explicitly (audited).

use crate::ids::{IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{get, insert, ReviewState, Sections};
use crate::audit::{self, Actor};
use crate::auth::{users, Permission, User};
use crate::db::schema::{postmortem_reviews, postmortems, users as users_table};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::notifications::{self, NotificationKind};
use crate::time::now;

/// The longest review comment.
pub const COMMENT_MAX: usize = 5000;

crate::text_enum!(
    /// A reviewer's answer.
    Verdict {
        Requested => "requested",
        Approved => "approved",
        ChangesRequested => "changes_requested",
    }
);

impl Verdict {
    /// The audit log's name for giving this verdict.
    pub fn audit_action(self) -> audit::Action {
        match self {
            Verdict::Requested => audit::Action::PostmortemRequested,
            Verdict::Approved => audit::Action::PostmortemApproved,
            Verdict::ChangesRequested => audit::Action::PostmortemChangesRequested,
        }
    }
}

/// A review with its reviewer's username.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    pub reviewer: String,
    pub state: Verdict,
    pub comment: String,
    #[serde(skip)]
    pub updated_at: NaiveDateTime,
}

/// What someone does to a postmortem's review.
#[derive(Clone, Debug)]
pub enum ReviewAction {
    Request { reviewers: Vec<String> },
    Approve { comment: String },
    RequestChanges { comment: String },
    Publish,
    Reopen,
}

impl ReviewAction {
    /// Parses an action name (forms and the API) with its inputs.
    pub fn parse(action: &str, reviewers: &[String], comment: &str) -> Result<Self, AppError> {
        Ok(match action {
            "request" => ReviewAction::Request { reviewers: reviewers.to_vec() },
            "approve" => ReviewAction::Approve { comment: comment.trim().to_string() },
            "request_changes" => ReviewAction::RequestChanges { comment: comment.trim().to_string() },
            "publish" => ReviewAction::Publish,
            "reopen" => ReviewAction::Reopen,
            other => {
                return Err(AppError::invalid(
                    "action",
                    format!("Action “{other}” must be one of request, approve, request_changes, publish, reopen."),
                ))
            }
        })
    }
}

/// Postmortems in review that wait for `reader`'s answer and that they may still see:
/// `(incident id, title)`, oldest request first.
pub fn waiting_for(
    conn: &mut DbConnection,
    reader: crate::access::Reader,
) -> Result<Vec<(IncidentId, String)>, AppError> {
    let reviewer_id = reader.user_id;
    use crate::db::schema::incidents;
    Ok(postmortem_reviews::table
        .inner_join(
            postmortems::table.on(postmortems::incident_id.eq(postmortem_reviews::incident_id)),
        )
        .inner_join(incidents::table.on(incidents::id.eq(postmortem_reviews::incident_id)))
        .filter(postmortem_reviews::reviewer_id.eq(reviewer_id))
        .filter(postmortem_reviews::state.eq(Verdict::Requested))
        .filter(postmortems::review_state.eq(ReviewState::InReview))
        .filter(crate::visible_incidents!(reader))
        .order(postmortem_reviews::updated_at.asc())
        .limit(50)
        .select((incidents::id, incidents::title))
        .load(conn)?)
}

pub fn list(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Vec<ReviewView>, AppError> {
    let rows: Vec<(String, Verdict, String, NaiveDateTime)> = postmortem_reviews::table
        .inner_join(users_table::table.on(postmortem_reviews::reviewer_id.eq(users_table::id)))
        .filter(postmortem_reviews::incident_id.eq(incident_id))
        .order(postmortem_reviews::id.asc())
        .select((
            users_table::username,
            postmortem_reviews::state,
            postmortem_reviews::comment,
            postmortem_reviews::updated_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(reviewer, state, comment, updated_at)| ReviewView {
            reviewer,
            state,
            comment,
            updated_at,
        })
        .collect())
}

fn set_state(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    state: ReviewState,
    published_by: Option<UserId>,
) -> Result<(), AppError> {
    let t = now();
    diesel::update(postmortems::table.find(incident_id))
        .set((
            postmortems::review_state.eq(state),
            postmortems::published_at.eq((state == ReviewState::Published).then_some(t)),
            postmortems::published_by.eq(published_by),
            postmortems::updated_at.eq(t),
            postmortems::version.eq(postmortems::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

fn upsert_review(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    reviewer_id: UserId,
    verdict: Verdict,
    comment: &str,
) -> Result<(), AppError> {
    let t = now();
    diesel::delete(
        postmortem_reviews::table
            .filter(postmortem_reviews::incident_id.eq(incident_id))
            .filter(postmortem_reviews::reviewer_id.eq(reviewer_id)),
    )
    .execute(conn)?;
    diesel::insert_into(postmortem_reviews::table)
        .values((
            postmortem_reviews::incident_id.eq(incident_id),
            postmortem_reviews::reviewer_id.eq(reviewer_id),
            postmortem_reviews::state.eq(verdict),
            postmortem_reviews::comment.eq(comment),
            postmortem_reviews::created_at.eq(t),
            postmortem_reviews::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

/// Applies a review action for `user`, in one transaction.
pub fn apply(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    action: ReviewAction,
    user: &User,
    actor: &Actor,
) -> Result<ReviewState, AppError> {
    crate::auth::ensure(user, Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        crate::incidents::service::get(conn, incident_id)?;
        let mut pm = get(conn, incident_id)?;
        if pm.version == 0 {
            // Reviewing an unwritten postmortem still needs its row.
            insert(
                conn,
                incident_id,
                &Sections::default(),
                ReviewState::Draft,
                Some(user.id),
                now(),
            )?;
            pm = get(conn, incident_id)?;
        }
        let is_author = pm.author_id == Some(user.id);
        match action {
            ReviewAction::Request { reviewers } => {
                request_review(conn, incident_id, &pm, &reviewers, user, actor)
            }
            ReviewAction::Approve { comment } => verdict(
                conn,
                incident_id,
                &pm,
                user,
                is_author,
                Verdict::Approved,
                &comment,
                actor,
            ),
            ReviewAction::RequestChanges { comment } => {
                if comment.is_empty() {
                    return Err(AppError::invalid("comment", "Say what should change."));
                }
                verdict(
                    conn,
                    incident_id,
                    &pm,
                    user,
                    is_author,
                    Verdict::ChangesRequested,
                    &comment,
                    actor,
                )
            }
            ReviewAction::Publish => publish(conn, incident_id, &pm, user, actor),
            ReviewAction::Reopen => reopen(conn, incident_id, &pm, actor),
        }
    })
}

/// Asks `reviewers` to review (the first request makes the asker its author).
fn request_review(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    pm: &super::Postmortem,
    reviewers: &[String],
    user: &User,
    actor: &Actor,
) -> Result<ReviewState, AppError> {
    let key = IncidentKey(incident_id).to_string();
    if pm.review_state == ReviewState::Published {
        return Err(AppError::Conflict(
            "Already published. Move it back to draft first.".into(),
        ));
    }
    let mut ids = Vec::new();
    for name in reviewers.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let reviewer = users::find_by_username(conn, name)?
            .filter(|u| !u.disabled)
            .ok_or_else(|| AppError::invalid("reviewers", format!("No user is named “{name}”.")))?;
        if Some(reviewer.id) == pm.author_id {
            return Err(AppError::invalid(
                "reviewers",
                "The author cannot review their own postmortem.",
            ));
        }
        if !reviewer.role.allows(Permission::Write) {
            return Err(AppError::invalid(
                "reviewers",
                format!("{name} is a viewer and cannot approve."),
            ));
        }
        crate::access::ensure_sees(conn, incident_id, reviewer.id, name, "reviewers")?;
        ids.push(reviewer.id);
    }
    if ids.is_empty() {
        return Err(AppError::invalid(
            "reviewers",
            "Name at least one reviewer.",
        ));
    }
    if pm.author_id.is_none() {
        diesel::update(postmortems::table.find(incident_id))
            .set(postmortems::author_id.eq(Some(user.id)))
            .execute(conn)?;
    }
    for id in &ids {
        upsert_review(conn, incident_id, *id, Verdict::Requested, "")?;
    }
    let label = notifications::incident_label(conn, incident_id)?;
    notifications::notify(
        conn,
        &ids,
        NotificationKind::ReviewRequested,
        &format!(
            "{} asked you to review the postmortem of {label}.",
            user.username
        ),
        &format!("/incidents/{key}/postmortem"),
        actor,
    )?;
    set_state(conn, incident_id, ReviewState::InReview, None)?;
    audit::record(
        conn,
        actor,
        audit::Action::PostmortemRequestReview,
        "incident",
        &key,
        &reviewers.join(", "),
    )?;
    Ok(ReviewState::InReview)
}

/// Publishes a postmortem in review that someone other than its author approved.
fn publish(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    pm: &super::Postmortem,
    user: &User,
    actor: &Actor,
) -> Result<ReviewState, AppError> {
    let key = IncidentKey(incident_id).to_string();
    if pm.review_state != ReviewState::InReview {
        return Err(AppError::Conflict(format!(
            "Only a postmortem in review can be published (this one is {}).",
            pm.review_state.label()
        )));
    }
    let approvals: i64 = postmortem_reviews::table
        .filter(postmortem_reviews::incident_id.eq(incident_id))
        .filter(postmortem_reviews::state.eq(Verdict::Approved))
        .filter(postmortem_reviews::reviewer_id.nullable().ne(pm.author_id))
        .count()
        .get_result(conn)?;
    if approvals == 0 {
        return Err(AppError::Conflict(
            "Publishing needs at least one approval from someone other than the author.".into(),
        ));
    }
    set_state(conn, incident_id, ReviewState::Published, Some(user.id))?;
    audit::record(
        conn,
        actor,
        audit::Action::PostmortemPublish,
        "incident",
        &key,
        "",
    )?;
    crate::webhooks::enqueue(
        conn,
        "postmortem.published",
        serde_json::json!({"incident": key, "published_by": user.username}),
    )?;
    Ok(ReviewState::Published)
}

/// Moves it back to draft; the reviews given so far are dropped.
fn reopen(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    pm: &super::Postmortem,
    actor: &Actor,
) -> Result<ReviewState, AppError> {
    let key = IncidentKey(incident_id).to_string();
    if pm.review_state == ReviewState::Draft {
        return Err(AppError::Conflict("Already a draft.".into()));
    }
    diesel::delete(
        postmortem_reviews::table.filter(postmortem_reviews::incident_id.eq(incident_id)),
    )
    .execute(conn)?;
    set_state(conn, incident_id, ReviewState::Draft, None)?;
    audit::record(
        conn,
        actor,
        audit::Action::PostmortemReopen,
        "incident",
        &key,
        &format!("was {}", pm.review_state),
    )?;
    Ok(ReviewState::Draft)
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    pm: &super::Postmortem,
    user: &User,
    is_author: bool,
    verdict: Verdict,
    comment: &str,
    actor: &Actor,
) -> Result<ReviewState, AppError> {
    if pm.review_state != ReviewState::InReview {
        return Err(AppError::Conflict(format!(
            "The postmortem is {}, not in review.",
            pm.review_state.label()
        )));
    }
    if is_author {
        return Err(AppError::Forbidden(
            "The author cannot approve or reject their own postmortem.".into(),
        ));
    }
    let asked: i64 = postmortem_reviews::table
        .filter(postmortem_reviews::incident_id.eq(incident_id))
        .filter(postmortem_reviews::reviewer_id.eq(user.id))
        .count()
        .get_result(conn)?;
    if asked == 0 && !user.role.allows(Permission::Administer) {
        return Err(AppError::Forbidden(
            "Only the reviewers asked (or an admin) can review this postmortem.".into(),
        ));
    }
    if comment.chars().count() > COMMENT_MAX {
        return Err(AppError::invalid(
            "comment",
            format!("A comment must be at most {COMMENT_MAX} characters."),
        ));
    }
    upsert_review(conn, incident_id, user.id, verdict, comment)?;
    let key = IncidentKey(incident_id).to_string();
    audit::record(
        conn,
        actor,
        verdict.audit_action(),
        "incident",
        &key,
        comment,
    )?;
    if let Some(author) = pm.author_id {
        let label = notifications::incident_label(conn, incident_id)?;
        let decided = match verdict {
            Verdict::Approved => "approved",
            _ => "asked for changes to",
        };
        notifications::notify(
            conn,
            &[author],
            NotificationKind::ReviewDecided,
            &format!("{} {decided} your postmortem of {label}.", user.username),
            &format!("/incidents/{key}/postmortem"),
            actor,
        )?;
    }
    if verdict == Verdict::ChangesRequested {
        set_state(conn, incident_id, ReviewState::Draft, None)?;
        return Ok(ReviewState::Draft);
    }
    Ok(ReviewState::InReview)
}
