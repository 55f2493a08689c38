//! Time helpers: everything is stored as UTC `NaiveDateTime` truncated to microseconds
//! (PostgreSQL's precision) and shown as RFC 3339 with `Z`.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, SubsecRound,
    Timelike, Utc,
};

/// Now, in UTC, at the precision both backends keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// `2023-06-07T10:00:00Z`
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `HH:MM` in UTC. Written out by hand: chrono's `format` parses its pattern on every call,
/// which the profile of a 1,000-entry page showed as its largest cost.
pub fn hhmm(t: NaiveDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `2023-06-07 10:00` in UTC.
pub fn date_hhmm(t: NaiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Parses an RFC 3339 time with any offset into UTC.
pub fn parse_rfc3339(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).naive_utc().trunc_subsecs(6))
}

/// Parses what a person types into a time field, in UTC: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
/// `YYYY-MM-DDTHH:MM` (a datetime-local input), or `HH:MM` alone, which means the most
/// recent such time that is not in the future.
pub fn parse_user_time(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let text = text.trim().trim_end_matches(" UTC").trim_end_matches('Z');
    if let Some(t) = parse_rfc3339(text) {
        return Some(t);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.trunc_subsecs(6));
        }
    }
    for format in ["%H:%M:%S", "%H:%M"] {
        if let Ok(time) = NaiveTime::parse_from_str(text, format) {
            let today = now.date().and_time(time);
            return Some(if today > now + Duration::minutes(1) {
                today - Duration::days(1)
            } else {
                today
            });
        }
    }
    None
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// A length of time written out: `4h 0m`, `45m`, `2d 3h 10m`, `30s`.
pub fn human_duration(d: Duration) -> String {
    let total = d.num_seconds().max(0);
    let (days, hours, minutes) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60);
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 || total == 0 {
        format!("{minutes}m")
    } else {
        format!("{total}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn parses_typed_times() {
        let now = at("2023-06-07 10:30");
        assert_eq!(parse_user_time("10:05", now), Some(at("2023-06-07 10:05")));
        // A clock time later than now means yesterday.
        assert_eq!(parse_user_time("23:50", now), Some(at("2023-06-06 23:50")));
        assert_eq!(
            parse_user_time("2023-06-01 08:00", now),
            Some(at("2023-06-01 08:00"))
        );
        assert_eq!(
            parse_user_time("2023-06-01T08:00", now),
            Some(at("2023-06-01 08:00"))
        );
        assert_eq!(
            parse_user_time("2023-06-01T10:00:00+02:00", now),
            Some(at("2023-06-01 08:00"))
        );
        assert_eq!(parse_user_time("yesterday", now), None);
    }

    #[test]
    fn writes_durations() {
        assert_eq!(human_duration(Duration::hours(4)), "4h 0m");
        assert_eq!(human_duration(Duration::minutes(45)), "45m");
        assert_eq!(human_duration(Duration::minutes(60 * 51 + 10)), "2d 3h 10m");
        assert_eq!(rfc3339(at("2023-06-07 10:00")), "2023-06-07T10:00:00Z");
    }
}
