//! Admin pages: users (create, change role, disable, reset password) and the audit log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::audit::{self};
use crate::auth::csrf::SessionForm;
use crate::auth::password;
use crate::auth::users::{self, parse_role, NewUser, UserChanges};
use crate::auth::{ensure, CurrentUser, Permission, Role};
use crate::error::AppError;
use crate::ids::UserId;
use crate::state::AppState;
use crate::time::{date_hhmm, rfc3339};
use crate::web::{page_number, render_status, see_other, Layout, Pager};

pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: &'static [Role],
    error: Option<String>,
    notice: Option<String>,
    form: NewUserForm,
    /// SMTP is set up (else the page says e-mail is off).
    mail_on: bool,
}

#[derive(Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<AppError>,
    notice: Option<String>,
    form: NewUserForm,
) -> Result<HttpResponse, AppError> {
    let rows = state.db.read(users::list).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = UsersPage {
        layout: Layout::new(user, "admin", "Users"),
        users: rows
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                username: u.username,
                display_name: u.display_name,
                email: u.email.unwrap_or_default(),
                role: u.role.as_str(),
                disabled: u.disabled,
                created: user.user.zone().date_hhmm(u.created_at),
            })
            .collect(),
        roles: Role::ALL,
        error: error.map(|e| e.public_message()),
        notice,
        form: NewUserForm {
            password: String::new(),
            ..form
        },
        mail_on: state.config.mail.is_some(),
    };
    render_status(status, &page)
}

/// `GET /admin/users`
pub async fn list_users(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Administer)?;
    let notice = query.notice.as_deref().and_then(|n| match n {
        "created" => Some("User created.".to_string()),
        "updated" => Some("User updated.".to_string()),
        "password" => Some("Password reset; their sessions have ended.".to_string()),
        _ => None,
    });
    users_page(
        &state,
        &user,
        None,
        notice,
        NewUserForm {
            role: "responder".into(),
            ..Default::default()
        },
    )
    .await
}

/// `POST /admin/users`
pub async fn create_user(
    state: web::Data<AppState>,
    form: SessionForm<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let submitted = data.clone();
    let result = async {
        let role = parse_role(&submitted.role)?;
        // Hashing is slow: on the blocking pool, before the write.
        let new = web::block(move || {
            NewUser::new(
                &submitted.username,
                &submitted.display_name,
                role,
                &submitted.password,
            )?
            .with_email(&submitted.email)
        })
        .await??;
        state
            .db
            .write(move |conn| users::create(conn, &new, &actor))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/admin/users?notice=created")),
        Err(e) => users_page(&state, &user, Some(e.shown_on_form()?), None, data).await,
    }
}

#[derive(Deserialize)]
pub struct UpdateUserForm {
    role: String,
    #[serde(default)]
    display_name: String,
    /// A checkbox: present when ticked.
    disabled: Option<String>,
    #[serde(default)]
    email: String,
}

/// `POST /admin/users/{id}`: role, display name, disabled.
pub async fn update_user(
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    form: SessionForm<UpdateUserForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = id.into_inner();
    let result = async {
        let changes = UserChanges {
            role: parse_role(&data.role)?,
            disabled: data.disabled.is_some(),
            display_name: data.display_name,
            email: crate::mail::validate_address(&data.email)?,
        };
        state
            .db
            .write(move |conn| users::update(conn, id, &changes, &actor))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/admin/users?notice=updated")),
        Err(e) => {
            let e = e.shown_on_form()?;
            users_page(&state, &user, Some(e), None, NewUserForm::default()).await
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/users/{id}/password`
pub async fn reset_password(
    state: web::Data<AppState>,
    id: web::Path<UserId>,
    form: SessionForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let id = id.into_inner();
    let result = async {
        let hash =
            web::block(move || password::validated_hash(&data.password, "password")).await??;
        state
            .db
            .write(move |conn| users::set_password(conn, id, &hash, &actor))
            .await
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/admin/users?notice=password")),
        Err(e) => {
            let e = e.shown_on_form()?;
            users_page(&state, &user, Some(e), None, NewUserForm::default()).await
        }
    }
}

pub struct AuditRow {
    pub iso: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    rows: Vec<AuditRow>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    page: Option<String>,
}

/// `GET /audit`
pub async fn show_audit(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Administer)?;
    let page = page_number(query.page.as_deref())?;
    const PER_PAGE: i64 = 100;
    let (items, total) = state
        .db
        .read(move |conn| audit::page(conn, None, page, PER_PAGE))
        .await?;
    let view = AuditPage {
        layout: Layout::new(&user, "admin", "Audit log"),
        rows: items
            .into_iter()
            .map(|e| AuditRow {
                iso: rfc3339(e.at),
                at: date_hhmm(e.at),
                actor: e.actor,
                action: e.action,
                object: format!("{} {}", e.object_type, e.object_id),
                detail: e.detail,
                ip: e.ip,
            })
            .collect(),
        pager: Pager::new("/audit", "", page, PER_PAGE, total),
    };
    render_status(StatusCode::OK, &view)
}
