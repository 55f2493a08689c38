//! `/insights`: counts per month and severity and mean times, for every signed-in role.

use chrono::{Datelike, Duration, Utc};
use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

async fn insights_count_and_average_by_month(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    // Two this month (SEV1 and SEV3), one last month (SEV2), one long ago (outside).
    let this_month = Utc::now().date_naive().with_day(1).unwrap();
    let last_month = (this_month - Duration::days(1)).with_day(1).unwrap();
    let at = |d: chrono::NaiveDate, h: u32, m: u32| format!("{d}T{h:02}:{m:02}:00Z");
    for (title, sev, day, detect_min, resolve_min) in [
        ("A", "SEV1", this_month, 10, 120),
        ("B", "SEV3", this_month, 30, 60),
        ("C", "SEV2", last_month, 5, 300),
        ("D", "SEV1", this_month - Duration::days(800), 1, 1),
    ] {
        let start = day.and_hms_opt(1, 0, 0).unwrap();
        let (code, body) = api
            .post(
                "/api/v1/incidents",
                json!({
                    "title": title, "severity": sev, "status": "resolved",
                    "started_at": at(day, 1, 0),
                    "detected_at": format!("{}Z", (start + Duration::minutes(detect_min)).format("%Y-%m-%dT%H:%M:%S")),
                    "resolved_at": format!("{}Z", (start + Duration::minutes(resolve_min)).format("%Y-%m-%dT%H:%M:%S")),
                }),
            )
            .await;
        assert_eq!(code, StatusCode::CREATED, "{body}");
    }
    let viewer = app.login_as(Role::Viewer).await;
    let (status, html) = viewer.get_text("/insights").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<strong class=\"mono\">3</strong> incidents"),
        "the last 12 months only"
    );
    let row = |month: chrono::NaiveDate| {
        let label = month.format("%Y-%m").to_string();
        let start = html
            .find(&format!(">{label}</th>"))
            .unwrap_or_else(|| panic!("{label} row"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    let now_row = row(this_month);
    assert!(now_row.contains("<td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num hide-phone\">1</td><td class=\"num hide-phone\">0</td>"), "{now_row}");
    assert!(now_row.contains("20m"), "MTTD (10 + 30) / 2: {now_row}");
    assert!(now_row.contains("1h 30m"), "MTTR (120 + 60) / 2: {now_row}");
    let last_row = row(last_month);
    assert!(last_row.contains("5h"), "{last_row}");
    assert!(html.contains("<rect class=\"bar-sev1\""), "a chart bar");
    assert!(html.contains("<polyline class=\"line-mttr\""));

    let (_, long) = viewer.get_text("/insights?months=36").await;
    assert!(long.contains("<strong class=\"mono\">4</strong> incidents"));
    for bad in ["0", "37", "twelve"] {
        let (status, body) = viewer.get_text(&format!("/insights?months={bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(body.contains("months must be"), "{bad}");
    }
    let anonymous = Browser::new(&app);
    let res = anonymous.get("/insights").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Finsights");
}
both_backends!(
    insights_count_and_average_by_month,
    insights_count_and_average_by_month
);

/// Time in dead ends: from the first dead end to the diagnosis mark, or without one to
/// mitigation; an incident without a dead end is not listed.
async fn insights_show_time_in_dead_ends(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    let start = (Utc::now() - Duration::days(20))
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .unwrap();
    let t = |min: i64| {
        format!(
            "{}Z",
            (start + Duration::minutes(min)).format("%Y-%m-%dT%H:%M:%S")
        )
    };
    for (title, mitigated) in [
        ("Dead ends then a diagnosis", None),
        ("Dead end, then mitigated", Some(t(65))),
        ("Straight to the fix", None),
    ] {
        let mut body = json!({"title": title, "severity": "SEV2", "started_at": t(0)});
        if let Some(m) = mitigated {
            body["mitigated_at"] = json!(m);
        }
        api.made("/api/v1/incidents", body).await;
    }
    for (key, kind, at, marker) in [
        ("INC-1", "misleading", 20, None),
        ("INC-1", "misleading", 10, None),
        ("INC-1", "investigation", 50, Some("diagnosis")),
        ("INC-2", "misleading", 5, None),
        ("INC-3", "investigation", 5, Some("diagnosis")),
    ] {
        api.made(
            &format!("/api/v1/incidents/{key}/timeline"),
            json!({"kind": kind, "occurred_at": t(at), "body": "Checked it.", "marker": marker}),
        )
        .await;
    }
    let reader = hindsight::access::Reader {
        user_id: hindsight::ids::UserId(1),
        admin: true,
    };
    let b = hindsight::insights::breakdown::load(
        &mut app.connection(),
        start - Duration::days(1),
        reader,
    )
    .unwrap();
    let got: Vec<(String, i64, Option<f64>, &str)> = b
        .dead_ends
        .iter()
        .map(|d| (d.key.to_string(), d.dead_ends, d.minutes, d.until))
        .collect();
    assert_eq!(
        got,
        [
            ("INC-2".to_string(), 1, Some(60.0), "mitigation"),
            ("INC-1".to_string(), 2, Some(40.0), "diagnosis"),
        ]
    );
    let viewer = app.login_as(Role::Viewer).await;
    let (_, html) = viewer.get_text("/insights").await;
    assert!(html.contains("Time in dead ends"), "{html}");
    assert!(
        html.contains("<a href=\"/incidents/INC-1\">INC-1</a>"),
        "{html}"
    );
}
both_backends!(
    insights_show_time_in_dead_ends,
    insights_show_time_in_dead_ends
);
