//! `/insights`: incidents per month and severity, and the mean times to detect, acknowledge
//! and resolve (MTTD, MTTA, MTTR) per month, as inline SVG charts with the same numbers in a
//! table below (for screen readers, phones and copying into a report).

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::db::schema::incidents;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::Severity;
use crate::state::AppState;
use crate::time::{human_duration, now};
use crate::web::{render, Layout};

const MONTHS_DEFAULT: u32 = 12;
const MONTHS_MAX: u32 = 36;

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
/// (one query; the figures are computed in memory).
pub fn load(
    conn: &mut DbConnection,
    months: u32,
    today: NaiveDate,
) -> Result<(Vec<Month>, [Option<f64>; 3]), AppError> {
    let first = add_months(first_of_month(today), 1 - months as i32);
    let rows: Vec<Row> = incidents::table
        .filter(incidents::started_at.ge(first.and_hms_opt(0, 0, 0).unwrap_or_default()))
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

// ---------------------------------------------------------------------------------------
// Charts: geometry computed here, so the template only places numbers.

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 200.0;
const PAD_LEFT: f64 = 44.0;
const PAD_BOTTOM: f64 = 22.0;
const PAD_TOP: f64 = 10.0;

pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub class: &'static str,
    pub title: String,
}

pub struct Line {
    pub class: &'static str,
    pub label: &'static str,
    pub points: String,
    pub dots: Vec<(String, String, String)>,
}

pub struct Axis {
    pub max_label: String,
    pub mid_label: String,
    pub months: Vec<(String, String)>,
}

fn slot(n: usize) -> f64 {
    (CHART_W - PAD_LEFT) / n.max(1) as f64
}

fn x_labels(months: &[Month]) -> Vec<(String, String)> {
    let w = slot(months.len());
    // At most about twelve labels, whatever the period.
    let every = months.len().div_ceil(12).max(1);
    months
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, m)| {
            // The year only where it changes (and first), short enough for a narrow slot.
            let label = if m.start.month() <= every as u32 || i == 0 {
                m.start.format("%b '%y").to_string()
            } else {
                m.start.format("%b").to_string()
            };
            (format!("{:.1}", PAD_LEFT + w * (i as f64 + 0.5)), label)
        })
        .collect()
}

fn bars(months: &[Month]) -> (Vec<Bar>, Axis) {
    let max = months.iter().map(Month::total).max().unwrap_or(0).max(1) as f64;
    let plot_h = CHART_H - PAD_BOTTOM - PAD_TOP;
    let w = slot(months.len());
    let mut out = Vec::new();
    for (i, m) in months.iter().enumerate() {
        let mut y = CHART_H - PAD_BOTTOM;
        for (s, &count) in m.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let h = count as f64 / max * plot_h;
            y -= h;
            out.push(Bar {
                x: format!("{:.1}", PAD_LEFT + w * i as f64 + w * 0.15),
                y: format!("{y:.1}"),
                w: format!("{:.1}", w * 0.7),
                h: format!("{h:.1}"),
                class: ["bar-sev1", "bar-sev2", "bar-sev3", "bar-sev4"][s],
                title: format!("{}: {count} SEV{}", m.start.format("%b %Y"), s + 1),
            });
        }
    }
    let axis = Axis {
        max_label: format!("{}", max as i64),
        mid_label: if max >= 2.0 {
            format!("{:.0}", max / 2.0)
        } else {
            String::new()
        },
        months: x_labels(months),
    };
    (out, axis)
}

/// A line: its CSS class, its label, and the value it reads from a month.
type Series = (&'static str, &'static str, fn(&Month) -> Option<f64>);

/// Minutes shown in the chart's unit: hours when the largest value is over two hours.
fn lines(months: &[Month]) -> (Vec<Line>, Axis, &'static str) {
    let max = months
        .iter()
        .flat_map(|m| [m.mttd, m.mtta, m.mttr])
        .flatten()
        .fold(0.0f64, f64::max);
    let (unit, scale) = if max > 120.0 {
        ("hours", 60.0)
    } else {
        ("minutes", 1.0)
    };
    let top = (max / scale).max(1.0).ceil();
    let plot_h = CHART_H - PAD_BOTTOM - PAD_TOP;
    let w = slot(months.len());
    let series: [Series; 3] = [
        ("line-mttd", "MTTD", |m| m.mttd),
        ("line-mtta", "MTTA", |m| m.mtta),
        ("line-mttr", "MTTR", |m| m.mttr),
    ];
    let out = series
        .iter()
        .map(|&(class, label, value)| {
            let dots: Vec<(String, String, String)> = months
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let v = value(m)?;
                    let x = PAD_LEFT + w * (i as f64 + 0.5);
                    let y = CHART_H - PAD_BOTTOM - (v / scale) / top * plot_h;
                    let title = format!("{} {}: {}", label, m.start.format("%b %Y"), show(Some(v)));
                    Some((format!("{x:.1}"), format!("{y:.1}"), title))
                })
                .collect();
            Line {
                class,
                label,
                points: dots
                    .iter()
                    .map(|(x, y, _)| format!("{x},{y}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                dots,
            }
        })
        .collect();
    let axis = Axis {
        max_label: format!("{top}"),
        mid_label: format!("{}", top / 2.0),
        months: x_labels(months),
    };
    (out, axis, unit)
}

// ---------------------------------------------------------------------------------------
// The page

#[derive(Deserialize)]
pub struct InsightsQuery {
    #[serde(default)]
    months: String,
}

/// A month as the table shows it.
pub struct MonthRow {
    pub label: String,
    pub counts: [i64; 4],
    pub total: i64,
    pub mttd: String,
    pub mtta: String,
    pub mttr: String,
}

#[derive(Template)]
#[template(path = "insights.html")]
struct InsightsPage {
    layout: Layout,
    months: u32,
    choices: [u32; 3],
    total: i64,
    overall: [String; 3],
    bars: Vec<Bar>,
    bar_axis: Axis,
    lines: Vec<Line>,
    line_axis: Axis,
    unit: &'static str,
    rows: Vec<MonthRow>,
    chart_w: f64,
    chart_h: f64,
    pad_left: f64,
    base_y: f64,
    mid_y: f64,
    top_y: f64,
}

fn show(minutes: Option<f64>) -> String {
    minutes
        .map(|m| human_duration(chrono::Duration::seconds((m * 60.0).round() as i64)))
        .unwrap_or_else(|| "–".into())
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

/// `GET /insights?months=12`
pub async fn show_insights(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<InsightsQuery>,
) -> Result<HttpResponse, AppError> {
    let months = match query.months.trim() {
        "" => MONTHS_DEFAULT,
        raw => raw
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=MONTHS_MAX).contains(m))
            .ok_or_else(|| {
                AppError::invalid(
                    "months",
                    format!("months must be a whole number from 1 to {MONTHS_MAX}"),
                )
            })?,
    };
    let today = now().date();
    let (data, all) = state.db.read(move |conn| load(conn, months, today)).await?;
    let (bars, bar_axis) = bars(&data);
    let (lines, line_axis, unit) = lines(&data);
    let base_y = CHART_H - PAD_BOTTOM;
    let page = InsightsPage {
        layout: Layout::new(&user, "insights", "Insights"),
        months,
        choices: [3, 12, 36],
        total: data.iter().map(Month::total).sum(),
        overall: all.map(show),
        bars,
        bar_axis,
        lines,
        line_axis,
        unit,
        rows: data
            .iter()
            .rev()
            .map(|m| MonthRow {
                label: m.start.format("%Y-%m").to_string(),
                counts: m.counts,
                total: m.total(),
                mttd: show(m.mttd),
                mtta: show(m.mtta),
                mttr: show(m.mttr),
            })
            .collect(),
        chart_w: CHART_W,
        chart_h: CHART_H,
        pad_left: PAD_LEFT,
        base_y,
        mid_y: (base_y + PAD_TOP) / 2.0,
        top_y: PAD_TOP,
    };
    render(&page)
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
