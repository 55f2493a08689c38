//! Login throttling per account and per address, kept in the database so every replica
//! sees the same counts.

use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// Failures counted over this window.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failed attempts on one username within the window before it is locked.
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window before it is locked.
pub const PER_ADDRESS: i64 = 30;

/// Refuses with 429 when the account or the address has failed too often recently.
pub fn check(conn: &mut DbConnection, username: &str, ip: &str) -> Result<(), AppError> {
    let since = now() - WINDOW;
    let by_user: i64 = login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::attempted_at.gt(since))
        .filter(login_attempts::succeeded.eq(false))
        .count()
        .get_result(conn)?;
    let by_ip: i64 = login_attempts::table
        .filter(login_attempts::ip.eq(ip))
        .filter(login_attempts::attempted_at.gt(since))
        .filter(login_attempts::succeeded.eq(false))
        .count()
        .get_result(conn)?;
    if by_user >= PER_ACCOUNT || by_ip >= PER_ADDRESS {
        return Err(AppError::TooManyRequests(format!(
            "Too many failed sign-ins. Wait {} minutes and try again.",
            WINDOW.num_minutes()
        )));
    }
    Ok(())
}

pub fn record(
    conn: &mut DbConnection,
    username: &str,
    ip: &str,
    succeeded: bool,
) -> Result<(), AppError> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::username.eq(username),
            login_attempts::ip.eq(ip),
            login_attempts::attempted_at.eq(now()),
            login_attempts::succeeded.eq(succeeded),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets attempts older than a day (run at start-up).
pub fn purge_old(conn: &mut DbConnection) -> Result<usize, AppError> {
    Ok(diesel::delete(
        login_attempts::table.filter(login_attempts::attempted_at.lt(now() - Duration::days(1))),
    )
    .execute(conn)?)
}
