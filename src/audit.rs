//! The append-only audit log: who did what to which object, when, and from where. Every
//! write records an entry in the same transaction as the write itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Permission, Role, User};
use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::time::now;

/// Who is acting: a user (web or API) with their role, or the system (setup, CLI).
///
/// Every write in the domain takes an `Actor` and decides there, first, whether the actor
/// may do it ([`Actor::require`]): one place per action for the HTML page and the API.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub name: String,
    pub ip: String,
    /// `None` for the system, which may do anything.
    pub role: Option<Role>,
}

impl Actor {
    pub fn user(user: &User, ip: &str) -> Self {
        Actor {
            user_id: Some(user.id),
            name: user.username.clone(),
            ip: ip.to_string(),
            role: Some(user.role),
        }
    }

    pub fn system(origin: &str) -> Self {
        Actor {
            user_id: None,
            name: "system".into(),
            ip: origin.to_string(),
            role: None,
        }
    }

    /// Refuses with 403 unless the actor's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        match self.role {
            None => Ok(()),
            Some(role) => crate::auth::ensure_role(role, permission),
        }
    }
}

crate::text_enum!(
    /// What an audit entry records, by its stable name (the audit page and exports show
    /// these; never rename one).
    Action {
        IncidentCreate => "incident.create",
        IncidentUpdate => "incident.update",
        IncidentImport => "incident.import",
        IncidentAccess => "incident.access",
        IncidentAdminAccess => "incident.admin_access",
        ChatCommand => "chat.command",
        AttachmentAdd => "attachment.add",
        AttachmentPurge => "attachment.purge",
        ChatConnect => "chat.connect",
        IncidentLink => "incident.link",
        IncidentUnlink => "incident.unlink",
        IncidentUpdatePost => "incident.update_post",
        TimelineAdd => "timeline.add",
        TimelineEdit => "timeline.edit",
        TimelineMark => "timeline.mark",
        TimelineDelete => "timeline.delete",
        EscalationCreate => "escalation.create",
        EscalationAcknowledged => "escalation.acknowledged",
        EscalationDeclined => "escalation.declined",
        EscalationCancelled => "escalation.cancelled",
        EscalationPending => "escalation.pending",
        EscalationUnknown => "escalation.unknown",
        RootCauseCreate => "root_cause.create",
        RootCauseUpdate => "root_cause.update",
        RootCauseDelete => "root_cause.delete",
        TaskCreate => "task.create",
        TaskUpdate => "task.update",
        TaskDelete => "task.delete",
        TaskComplete => "task.complete",
        TaskReassign => "task.reassign",
        TaskStatus => "task.status",
        PostmortemUpdate => "postmortem.update",
        PostmortemRequestReview => "postmortem.request_review",
        PostmortemPublish => "postmortem.publish",
        PostmortemPublic => "postmortem.public",
        PostmortemReopen => "postmortem.reopen",
        PostmortemRequested => "postmortem.requested",
        PostmortemApproved => "postmortem.approved",
        PostmortemChangesRequested => "postmortem.changes_requested",
        UserCreate => "user.create",
        UserUpdate => "user.update",
        UserEmail => "user.email",
        UserTimeZone => "user.time_zone",
        UserResetPassword => "user.reset_password",
        UserChangePassword => "user.change_password",
        SessionLogin => "session.login",
        SessionLogout => "session.logout",
        TokenCreate => "token.create",
        TokenRevoke => "token.revoke",
        TeamCreate => "team.create",
        TeamUpdate => "team.update",
        TeamDelete => "team.delete",
        ServiceCreate => "service.create",
        ServiceUpdate => "service.update",
        ServiceDelete => "service.delete",
        StatusPageUpdate => "status_page.update",
        StatusMaintenanceSchedule => "status_maintenance.schedule",
        WebhookCreate => "webhook.create",
        WebhookEnable => "webhook.enable",
        WebhookDisable => "webhook.disable",
        WebhookDelete => "webhook.delete",
    }
);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    pub actor_id: Option<UserId>,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub detail: String,
    pub ip: String,
}

/// Appends one entry. Call inside the transaction of the write it describes.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: Action,
    object_type: &str,
    object_id: &str,
    detail: &str,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now()),
            audit_log::actor_id.eq(actor.user_id),
            audit_log::actor.eq(&actor.name),
            audit_log::action.eq(action.as_str()),
            audit_log::object_type.eq(object_type),
            audit_log::object_id.eq(object_id),
            audit_log::detail.eq(detail.chars().take(2000).collect::<String>()),
            audit_log::ip.eq(&actor.ip),
        ))
        .execute(conn)?;
    Ok(())
}

/// A page of the log, newest first, optionally for one object; with the total count.
pub fn page(
    conn: &mut DbConnection,
    object: Option<(&str, &str)>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditEntry>, i64), AppError> {
    let filtered = || {
        let mut q = audit_log::table.into_boxed();
        if let Some((kind, id)) = object {
            q = q
                .filter(audit_log::object_type.eq(kind.to_string()))
                .filter(audit_log::object_id.eq(id.to_string()));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let items = filtered()
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(AuditEntry::as_select())
        .load(conn)?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::Action;

    /// Stored names are stable and distinct, and read back as the same action.
    #[test]
    fn action_names_are_distinct_and_read_back() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a.as_str()), "{} twice", a.as_str());
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
            assert!(a.as_str().contains('.'), "object.verb: {}", a.as_str());
        }
    }
}
