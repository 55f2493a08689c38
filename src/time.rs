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

/// `2023-06-07 10:00 UTC`: a time in a message from below the web layer, which pages show
/// in the reader's zone (`web::in_zone` recognises this form).
pub fn in_words(t: NaiveDateTime) -> String {
    format!("{} UTC", date_hhmm(t))
}

/// `2023-06-07T10:00:00Z`, to the second: what documents carry.
pub fn rfc3339_secs(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 time with any offset into UTC.
pub fn parse_rfc3339(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).naive_utc().trunc_subsecs(6))
}

/// How far ahead of the server's clock a typed `HH:MM` may be and still mean today.
pub const CLOCK_AHEAD_MINUTES: i64 = 15;

fn clock_ahead() -> Duration {
    Duration::minutes(CLOCK_AHEAD_MINUTES)
}

/// A time a person gave is in the future beyond what clock drift explains.
pub fn too_far_ahead(t: NaiveDateTime, now: NaiveDateTime) -> bool {
    t > now + clock_ahead()
}

/// Parses what a person types into a time field, in UTC: RFC 3339, `YYYY-MM-DD HH:MM[:SS]`,
/// `YYYY-MM-DDTHH:MM` (a datetime-local input), or `HH:MM` alone, which means the most
/// recent such time, allowing up to [`CLOCK_AHEAD`] ahead of now (clocks drift, people
/// type the minute they are about to act): at 23:34, `23:39` is today and `23:55` yesterday.
pub fn parse_user_time(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    parse_user_time_in(text, now, Zone::UTC)
}

/// [`parse_user_time`] for a person in `zone`: what they type is their wall-clock time
/// (an RFC 3339 time with an offset says its own); the result is UTC.
pub fn parse_user_time_in(text: &str, now: NaiveDateTime, zone: Zone) -> Option<NaiveDateTime> {
    if let Some(t) = parse_rfc3339(text) {
        return Some(t);
    }
    let local = parse_wall_clock(text, zone.local(now))?;
    Some(zone.to_utc(local))
}

/// A time a person promises (when the next update comes), typed in `zone`. Unlike
/// [`parse_user_time_in`], which reads when something happened, a clock time alone means
/// its next occurrence after `now`: at 14:00, `14:30` is today and `13:50` tomorrow.
pub fn parse_promised_time_in(text: &str, now: NaiveDateTime, zone: Zone) -> Option<NaiveDateTime> {
    let t = parse_user_time_in(text, now, zone)?;
    let clock_only = ["%H:%M:%S", "%H:%M"].iter().any(|f| {
        NaiveTime::parse_from_str(
            text.trim().trim_end_matches(" UTC").trim_end_matches('Z'),
            f,
        )
        .is_ok()
    });
    if !clock_only {
        return Some(t);
    }
    // On the wall clock, so that a day across a DST change is still the same time.
    let mut local = zone.local(t);
    while zone.to_utc(local) <= now {
        local += Duration::days(1);
    }
    Some(zone.to_utc(local))
}

/// A typed wall-clock time, `now` being the wall clock's now.
fn parse_wall_clock(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let text = text.trim().trim_end_matches(" UTC").trim_end_matches('Z');
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
            // The latest of tomorrow's, today's and yesterday's that is not too far ahead.
            let today = now.date().and_time(time);
            return [1, 0, -1]
                .into_iter()
                .map(|days| today + Duration::days(days))
                .find(|t| !too_far_ahead(*t, now));
        }
    }
    None
}

/// The longest text a time field takes (`YYYY-MM-DD HH:MM` with room for spaces and a
/// zone); longer never parses.
pub const TYPED_MAX: usize = 25;

/// A user's time zone: pages show times in it and read typed times in it. Storage, the
/// API, exports and the audit log stay UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zone(pub chrono_tz::Tz);

impl Zone {
    pub const UTC: Zone = Zone(chrono_tz::Tz::UTC);

    /// An IANA name (`Europe/Berlin`), as the settings store it.
    pub fn parse(name: &str) -> Option<Zone> {
        name.trim().parse::<chrono_tz::Tz>().ok().map(Zone)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Every zone a user can pick, by name.
    pub fn all() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// `t` (UTC) as this zone's wall-clock time.
    pub fn local(self, t: NaiveDateTime) -> NaiveDateTime {
        if self == Zone::UTC {
            return t;
        }
        t.and_utc().with_timezone(&self.0).naive_local()
    }

    /// A wall-clock time here as UTC: the earlier of two readings when clocks go back; a
    /// time in the hour skipped when they go forward is read with the offset before it.
    pub fn to_utc(self, local: NaiveDateTime) -> NaiveDateTime {
        use chrono::offset::LocalResult;
        use chrono::TimeZone;
        if self == Zone::UTC {
            return local;
        }
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.naive_utc(),
            LocalResult::None => self.to_utc(local + Duration::hours(1)),
        }
    }

    /// The zone's abbreviation at `t` (`CET`, `CEST`, `UTC`; `+0530` where it has none).
    pub fn abbreviation(self, t: NaiveDateTime) -> String {
        if self == Zone::UTC {
            return "UTC".into();
        }
        t.and_utc().with_timezone(&self.0).format("%Z").to_string()
    }

    /// `2023-06-07 12:00 CEST`: the time here with the abbreviation of its own instant, as
    /// pages write a time in a sentence.
    pub fn in_words(self, t: NaiveDateTime) -> String {
        format!("{} {}", self.date_hhmm(t), self.abbreviation(t))
    }

    /// `HH:MM` here.
    pub fn hhmm(self, t: NaiveDateTime) -> String {
        hhmm(self.local(t))
    }

    /// `2023-06-07 10:00` here.
    pub fn date_hhmm(self, t: NaiveDateTime) -> String {
        date_hhmm(self.local(t))
    }
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

    #[test]
    fn promised_clock_times_are_the_next_ones() {
        let now = NaiveDateTime::parse_from_str("2026-12-06 14:00", "%Y-%m-%d %H:%M").unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            parse_promised_time_in("14:30", now, Zone::UTC),
            Some(at("2026-12-06 14:30"))
        );
        assert_eq!(
            parse_promised_time_in("13:50", now, Zone::UTC),
            Some(at("2026-12-07 13:50"))
        );
        assert_eq!(
            parse_promised_time_in("2026-12-06 13:50", now, Zone::UTC),
            Some(at("2026-12-06 13:50")),
            "a date is taken as written (and refused later if past)"
        );
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn parses_typed_times() {
        let now = at("2023-06-07 10:30");
        assert_eq!(parse_user_time("10:05", now), Some(at("2023-06-07 10:05")));
        // A clock time more than 15 minutes ahead means yesterday; up to 15, today.
        assert_eq!(parse_user_time("23:50", now), Some(at("2023-06-06 23:50")));
        assert_eq!(parse_user_time("10:45", now), Some(at("2023-06-07 10:45")));
        assert_eq!(parse_user_time("10:46", now), Some(at("2023-06-06 10:46")));
        let late = at("2023-06-07 23:34");
        assert_eq!(parse_user_time("23:39", late), Some(at("2023-06-07 23:39")));
        // Just after midnight, 23:55 is last night.
        let early = at("2023-06-08 00:05");
        assert_eq!(
            parse_user_time("23:55", early),
            Some(at("2023-06-07 23:55"))
        );
        // Just before midnight, 00:05 (10 minutes ahead) is tomorrow's.
        assert_eq!(
            parse_user_time("00:05", at("2023-06-07 23:55")),
            Some(at("2023-06-08 00:05"))
        );
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
        assert_eq!(
            parse_user_time("2023-06-01T08:00:00.5Z", now),
            Some(at("2023-06-01 08:00") + Duration::milliseconds(500))
        );
    }

    #[test]
    fn reads_and_shows_times_in_a_zone() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // Summer: CEST is UTC+2. 10:00 typed in Berlin is 08:00 UTC, and shows back as 10:00.
        let now = at("2023-06-07 12:00");
        let t = parse_user_time_in("10:00", now, berlin).unwrap();
        assert_eq!(t, at("2023-06-07 08:00"));
        assert_eq!(berlin.hhmm(t), "10:00");
        assert_eq!(berlin.abbreviation(t), "CEST");
        assert_eq!(
            parse_user_time_in("2023-01-10 09:30", now, berlin),
            Some(at("2023-01-10 08:30")),
            "winter: CET is UTC+1"
        );
        // An explicit offset says its own zone.
        assert_eq!(
            parse_user_time_in("2023-06-07T10:00:00Z", now, berlin),
            Some(at("2023-06-07 10:00"))
        );
        // Just after midnight in Berlin (22:05 UTC), 23:55 means last night, local.
        let late = at("2023-06-07 22:05");
        assert_eq!(
            parse_user_time_in("23:55", late, berlin),
            Some(at("2023-06-07 21:55"))
        );
        // The skipped hour (clocks forward at 02:00 CET): 02:30 is read as CET.
        assert_eq!(
            berlin.to_utc(at("2023-03-26 02:30")),
            at("2023-03-26 01:30")
        );
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(
            Zone::UTC.date_hhmm(at("2023-06-07 10:00")),
            "2023-06-07 10:00"
        );
    }

    #[test]
    fn writes_durations() {
        assert_eq!(human_duration(Duration::hours(4)), "4h 0m");
        assert_eq!(human_duration(Duration::minutes(45)), "45m");
        assert_eq!(human_duration(Duration::minutes(60 * 51 + 10)), "2d 3h 10m");
        assert_eq!(rfc3339(at("2023-06-07 10:00")), "2023-06-07T10:00:00Z");
    }
}
