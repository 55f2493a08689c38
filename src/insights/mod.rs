//! Monthly figures for `/insights`: incidents per month and severity, and the mean times to
//! detect, acknowledge and resolve (MTTD, MTTA, MTTR), from one query.

pub mod breakdown;
pub mod web;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{incident_services, incidents};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::Severity;

/// The period shown unless asked otherwise, and the longest, in months.
pub const MONTHS_DEFAULT: u32 = 12;
pub const MONTHS_MAX: u32 = 36;

/// One month's figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Month {
    pub start: NaiveDate,
    /// Incidents started in the month, by severity (SEV1 first).
    pub counts: [i64; 4],
    /// Mean minutes, over the incidents of the month where both ends are known.
    pub mttd: Option<f64>,
    pub mtta: Option<f64>,
    pub mttr: Option<f64>,
}

impl Month {
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }
}

type Row = (
    NaiveDateTime,
    Severity,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

/// The last `months` months up to `today`'s, oldest first, and the period's overall means
/// (one query; the figures are computed in memory). Restricted incidents `reader` may not
/// see are not counted at all. `service` (an id) narrows it to one service's incidents.
pub fn load(
    conn: &mut DbConnection,
    months: u32,
    today: NaiveDate,
    reader: crate::access::Reader,
    service: Option<i32>,
) -> Result<(Vec<Month>, [Option<f64>; 3]), AppError> {
    let first = period_start(months, today);
    let mut query = incidents::table.into_boxed();
    if let Some(service) = service {
        query = query.filter(
            incidents::id.eq_any(
                incident_services::table
                    .filter(incident_services::service_id.eq(service))
                    .select(incident_services::incident_id),
            ),
        );
    }
    let rows: Vec<Row> = query
        .filter(crate::visible_incidents!(reader))
        // A duplicate is counted once, as the incident it duplicates.
        .filter(incidents::duplicate_of.is_null())
        .filter(incidents::started_at.ge(first.and_time(chrono::NaiveTime::MIN)))
        .select((
            incidents::started_at,
            incidents::severity,
            incidents::detected_at,
            incidents::acknowledged_at,
            incidents::resolved_at,
        ))
        .load(conn)?;
    Ok((summarize(&rows, first, months), overall(&rows)))
}

/// The first day of a period of `months` months that ends with `today`'s.
pub fn period_start(months: u32, today: NaiveDate) -> NaiveDate {
    add_months(first_of_month(today), 1 - months as i32)
}

fn summarize(rows: &[Row], first: NaiveDate, months: u32) -> Vec<Month> {
    #[derive(Default)]
    struct Sums {
        detect: (f64, u32),
        ack: (f64, u32),
        resolve: (f64, u32),
    }
    let mut out: Vec<Month> = (0..months)
        .map(|i| Month {
            start: add_months(first, i as i32),
            ..Default::default()
        })
        .collect();
    let mut sums: Vec<Sums> = (0..months).map(|_| Sums::default()).collect();
    let add = |sum: &mut (f64, u32), from: Option<NaiveDateTime>, to: Option<NaiveDateTime>| {
        if let (Some(a), Some(b)) = (from, to) {
            if b >= a {
                sum.0 += (b - a).num_seconds() as f64 / 60.0;
                sum.1 += 1;
            }
        }
    };
    for &(started, severity, detected, acked, resolved) in rows {
        let d = started.date();
        let index = (d.year() - first.year()) * 12 + d.month0() as i32 - first.month0() as i32;
        let Some(i) = usize::try_from(index).ok().filter(|i| *i < out.len()) else {
            continue;
        };
        let sev = match severity {
            Severity::Sev1 => 0,
            Severity::Sev2 => 1,
            Severity::Sev3 => 2,
            Severity::Sev4 => 3,
        };
        out[i].counts[sev] += 1;
        add(&mut sums[i].detect, Some(started), detected);
        add(&mut sums[i].ack, detected, acked);
        add(&mut sums[i].resolve, Some(started), resolved);
    }
    let mean = |(total, n): (f64, u32)| (n > 0).then(|| total / n as f64);
    for (month, sum) in out.iter_mut().zip(sums) {
        month.mttd = mean(sum.detect);
        month.mtta = mean(sum.ack);
        month.mttr = mean(sum.resolve);
    }
    out
}

/// Means over the whole period (each incident with both ends known counts once).
fn overall(rows: &[Row]) -> [Option<f64>; 3] {
    let mean = |pairs: Vec<(NaiveDateTime, NaiveDateTime)>| {
        let v: Vec<f64> = pairs
            .into_iter()
            .filter(|(a, b)| b >= a)
            .map(|(a, b)| (b - a).num_seconds() as f64 / 60.0)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    [
        mean(rows.iter().filter_map(|r| Some((r.0, r.2?))).collect()),
        mean(rows.iter().filter_map(|r| Some((r.2?, r.3?))).collect()),
        mean(rows.iter().filter_map(|r| Some((r.0, r.4?))).collect()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn months_count_by_severity_and_average_the_times() {
        let rows: Vec<Row> = vec![
            (
                t("2026-10-03 10:00"),
                Severity::Sev1,
                Some(t("2026-10-03 10:10")),
                Some(t("2026-10-03 10:15")),
                Some(t("2026-10-03 12:00")),
            ),
            (
                t("2026-10-20 08:00"),
                Severity::Sev1,
                Some(t("2026-10-20 08:30")),
                None,
                Some(t("2026-10-20 09:00")),
            ),
            (t("2026-11-01 00:00"), Severity::Sev3, None, None, None),
            // Before the window: left out.
            (t("2026-08-31 23:59"), Severity::Sev2, None, None, None),
        ];
        let first = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let m = summarize(&rows, first, 3);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].total(), 0);
        assert_eq!(m[1].counts, [2, 0, 0, 0]);
        assert_eq!(m[1].mttd, Some(20.0), "(10 + 30) / 2");
        assert_eq!(m[1].mtta, Some(5.0), "only where both ends are known");
        assert_eq!(m[1].mttr, Some(90.0), "(120 + 60) / 2");
        assert_eq!(m[2].counts, [0, 0, 1, 0]);
        assert_eq!(m[2].mttr, None);
        assert_eq!(m[2].start, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(
            add_months(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), -1),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
    }
}
