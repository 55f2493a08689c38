//! `/insights`: the monthly figures as inline SVG charts, with the same numbers in a table
//! below (for screen readers, phones and copying into a report).

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Datelike;
use serde::Deserialize;

use super::{load, Month, MONTHS_DEFAULT, MONTHS_MAX};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::{human_duration, now};
use crate::web::{render, Layout};

// Chart geometry is computed here, so the template only places numbers.

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

/// The axis top for values up to `max`: 2, 4, 6, 8 or 10 times a power of ten, so that it
/// and its half (the middle grid line) are round numbers.
fn nice_top(max: f64) -> f64 {
    let max = max.max(1.0);
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0]
        .into_iter()
        .map(|m| m * power)
        .find(|top| *top >= max && (*top / 2.0).fract() == 0.0)
        .unwrap_or(20.0 * power)
}

fn bars(months: &[Month]) -> (Vec<Bar>, Axis) {
    let max = nice_top(months.iter().map(Month::total).max().unwrap_or(0) as f64);
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
    let top = nice_top(max / scale);
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

#[cfg(test)]
mod tests {
    use super::nice_top;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_top(0.0), 2.0);
        assert_eq!(nice_top(3.0), 4.0);
        assert_eq!(nice_top(39.0), 40.0);
        assert_eq!(nice_top(7.2), 8.0);
        assert_eq!(nice_top(130.0), 200.0);
    }
}

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
    breakdown: super::breakdown::Breakdown,
    chart_w: f64,
    chart_h: f64,
    pad_left: f64,
    base_y: f64,
    mid_y: f64,
    top_y: f64,
}

/// The table's rows, newest month first.
pub fn month_rows(months: &[Month]) -> Vec<MonthRow> {
    months
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
        .collect()
}

pub fn show(minutes: Option<f64>) -> String {
    minutes
        .map(|m| human_duration(chrono::Duration::seconds((m * 60.0).round() as i64)))
        .unwrap_or_else(|| "–".into())
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
    let reader = crate::access::Reader::of(&user.user);
    let first = super::period_start(months, today).and_time(chrono::NaiveTime::MIN);
    let ((data, all), breakdown) = state
        .db
        .read(move |conn| {
            Ok((
                load(conn, months, today, reader, None)?,
                super::breakdown::load(conn, first, reader)?,
            ))
        })
        .await?;
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
        rows: month_rows(&data),
        breakdown,
        chart_w: CHART_W,
        chart_h: CHART_H,
        pad_left: PAD_LEFT,
        base_y,
        mid_y: (base_y + PAD_TOP) / 2.0,
        top_y: PAD_TOP,
    };
    render(&page)
}
