//! Login throttling per (account, address) and per address, with waits that grow with
//! each failure instead of a lock anyone could put on someone else's account; kept in the
//! database so every replica sees the same counts.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// Failures counted over this window.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failed sign-ins to one account from one address before each next try must wait.
pub const FREE_PER_ACCOUNT: i64 = 4;
/// Failed sign-ins from one address, to any account, before each next try must wait.
pub const FREE_PER_ADDRESS: i64 = 30;

/// The wait after `failures` when `free` are allowed: 4 s after the first failure over,
/// doubling with each one more, at most the window.
fn wait_after(failures: i64, free: i64) -> Duration {
    let over = (failures - free).clamp(1, 20) as u32;
    Duration::seconds(2i64 << over).min(WINDOW)
}

/// Starts a sign-in: refuses with 429 while this account from this address, or this
/// address overall, has failed too often lately and its wait has not passed; otherwise
/// records the attempt as a failure until [`succeeded`] says otherwise. Counting before
/// the password is checked, in one write, makes concurrent guesses count one by one. The
/// owner signing in from another address is never held up by someone else's failures.
pub fn begin(conn: &mut DbConnection, username: &str, ip: &str) -> Result<i32, AppError> {
    crate::db::transaction(conn, |conn| {
        let t = now();
        let failures = |conn: &mut DbConnection,
                        by_user: bool|
         -> Result<(i64, Option<NaiveDateTime>), AppError> {
            let mut q = login_attempts::table
                .filter(login_attempts::ip.eq(ip))
                .filter(login_attempts::attempted_at.gt(t - WINDOW))
                .filter(login_attempts::succeeded.eq(false))
                .into_boxed();
            if by_user {
                q = q.filter(login_attempts::username.eq(username));
            }
            Ok(q.select((
                diesel::dsl::count_star(),
                diesel::dsl::max(login_attempts::attempted_at),
            ))
            .first(conn)?)
        };
        for (by_user, free) in [(true, FREE_PER_ACCOUNT), (false, FREE_PER_ADDRESS)] {
            let (count, last) = failures(conn, by_user)?;
            if count > free {
                let ready = last.unwrap_or(t) + wait_after(count, free);
                if ready > t {
                    let seconds = (ready - t).num_seconds().max(1);
                    return Err(AppError::TooManyRequests {
                        message: format!(
                            "Too many failed sign-ins from your address. Try again in {seconds} s."
                        ),
                        retry_after: u32::try_from(seconds).unwrap_or(u32::MAX),
                    });
                }
            }
        }
        Ok(diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::username.eq(username),
                login_attempts::ip.eq(ip),
                login_attempts::attempted_at.eq(t),
                login_attempts::succeeded.eq(false),
            ))
            .returning(login_attempts::id)
            .get_result(conn)?)
    })
}

/// Marks an attempt from [`begin`] as a success (it no longer counts against anyone).
pub fn succeeded(conn: &mut DbConnection, attempt: i32) -> Result<(), AppError> {
    diesel::update(login_attempts::table.find(attempt))
        .set(login_attempts::succeeded.eq(true))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_stop_at_the_window() {
        assert_eq!(wait_after(5, 4), Duration::seconds(4));
        assert_eq!(wait_after(6, 4), Duration::seconds(8));
        assert_eq!(wait_after(9, 4), Duration::seconds(64));
        assert_eq!(wait_after(40, 4), WINDOW);
    }
}
