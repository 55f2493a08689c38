//! In a real headless Chromium driven through chromedriver: signing in, the keyboard-first
//! quick add (`n`, then Ctrl+Enter), the live-update banner when someone else logs, the
//! incident page at phone width, the print layout, drafts and confirmations. Skips when
//! Chromium or chromedriver is missing, unless `CI=true` (then they are required).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use hindsight::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver as a child process, killed however the test ends; it holds the browser's
/// turn until then.
struct Driver(Child, Turn);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One browser at a time: two Chromiums beside the rest of the suite on two cores starve
/// each other's renderers into WebDriver timeouts.
static BROWSER_BUSY: AtomicBool = AtomicBool::new(false);

struct Turn;

impl Turn {
    async fn take() -> Turn {
        while BROWSER_BUSY
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        BROWSER_BUSY.store(false, Ordering::Release);
    }
}

/// chromedriver on a port it picks itself and reports (no port is handed between
/// processes, so a parallel test cannot take it first). A start that ends before saying its
/// port is retried twice; its output goes into the failure message.
async fn start_chromedriver() -> (Driver, u16) {
    let turn = Turn::take().await;
    let mut failures = Vec::new();
    for _ in 0..3 {
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            // The browser's clock zone, whatever the machine's (the local-time test needs it).
            .env("TZ", "UTC")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromedriver");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (port, seen) = actix_web::web::block(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let mut seen = String::new();
            let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
                seen.push_str(&line);
                seen.push('\n');
                line.split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse::<u16>().ok())
            });
            // Keep draining, so chromedriver never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            (port, seen)
        })
        .await
        .unwrap();
        match port {
            Some(port) => {
                let mut stderr = child.stderr.take().expect("stderr is piped");
                std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
                return (Driver(child, turn), port);
            }
            None => {
                let out = child.wait_with_output().expect("wait for chromedriver");
                failures.push(format!(
                    "{}: {seen}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    panic!(
        "chromedriver did not report a port:\n{}",
        failures.join("\n")
    );
}

/// A fresh headless browser session, or `None` (skip) when there is no browser here.
async fn browser() -> Option<(Client, Driver, tempfile::TempDir)> {
    let chromium = std::env::var("HINDSIGHT_TEST_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    let present = std::path::Path::new(&chromium).exists()
        && Command::new("chromedriver")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !present {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but {chromium} or chromedriver is missing: browser tests are required in CI (apt-get install chromium chromium-driver)");
        }
        eprintln!("SKIPPED (browser): install chromium and chromium-driver to run it (see README)");
        return None;
    }
    let (driver, port) = start_chromedriver().await;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let client =
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
    Some((client, driver, profile))
}

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}\nfailed in the browser: {e}"))
}

async fn sign_in(c: &Client, app: &TestApp, username: &str, next: &str) {
    c.goto(&app.url(&format!("/login?next={next}")))
        .await
        .unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn keyboard_quick_add_and_live_banner(app: TestApp) {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Checkout 500s", "severity": "SEV1"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    app.create_user("rae", Role::Responder);
    sign_in(&c, &app, "rae", "%2Fincidents%2FINC-1").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qa-body"))
        .await
        .expect("the incident page after sign-in");

    // `n` anywhere on the page focuses the quick-add box.
    assert_ne!(js(&c, "return document.activeElement.id").await, "qa-body");
    let press_n = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: 'n' })
        .then(KeyAction::Up { value: 'n' });
    c.perform_actions(press_n).await.unwrap();
    assert_eq!(js(&c, "return document.activeElement.id").await, "qa-body");
    // Typing then Ctrl+Enter adds the entry without touching the mouse.
    let body = c.find(Locator::Id("qa-body")).await.unwrap();
    body.send_keys(&format!(
        "Rolled back **checkout v42**{}{}",
        char::from(Key::Control),
        char::from(Key::Enter)
    ))
    .await
    .unwrap();
    let entry = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ol[@class='timeline']/li[@id]//strong[text()='checkout v42']",
        ))
        .await
        .expect("the new entry on the reloaded page");
    assert_eq!(entry.text().await.unwrap(), "checkout v42");
    assert_eq!(
        js(&c, "return document.getElementById('qa-body').value").await,
        "",
        "the box is empty again"
    );

    // The live stream is up; someone else opens the page: presence says so.
    let mut tries = 0;
    while js(
        &c,
        "return document.getElementById('incident').getAttribute('data-live')",
    )
    .await
        != "streaming"
    {
        tries += 1;
        assert!(tries < 100, "the live stream opens");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let other = app.login_as(Role::Viewer).await;
    let watching = other
        .client
        .get(app.url("/incidents/INC-1/events"))
        .send()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!(
            "//p[@id='presence' and contains(., '{}')]",
            other.username
        )))
        .await
        .expect("presence names the other viewer");
    drop(watching);

    // Someone else logs while the user is typing: the entry appears in place, the box keeps
    // its text, no reload offered.
    c.find(Locator::Id("qa-body"))
        .await
        .unwrap()
        .send_keys("half-typed note")
        .await
        .unwrap();
    js(
        &c,
        "document.getElementById('qa-body').setAttribute('data-marker', 'same page'); return null",
    )
    .await;
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"body": "DBA joined"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ol[@class='timeline']/li[@id and contains(@class,'arrived')]/p[text()='DBA joined']",
        ))
        .await
        .expect("the other person's entry, without a reload");
    assert_eq!(
        js(&c, "return document.getElementById('qa-body').value").await,
        "half-typed note"
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('qa-body').getAttribute('data-marker')"
        )
        .await,
        "same page",
        "not reloaded"
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelector('#timeline-h .count').textContent"
        )
        .await,
        "3"
    );
    assert_eq!(
        js(&c, "return document.getElementById('live-banner').hidden").await,
        true
    );

    // Without the stream (a browser or proxy without server-sent events) the page polls: a
    // change offers a reload.
    cdp(
        &c,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "delete window.EventSource;"}),
    )
    .await;
    c.refresh().await.unwrap();
    assert_eq!(
        js(
            &c,
            "return document.getElementById('incident').getAttribute('data-live')"
        )
        .await,
        "polling"
    );
    // Nothing new since the page loaded: coming back to the tab checks (data-checked says
    // when a check was answered), and shows nothing.
    js(&c, "window.dispatchEvent(new Event('focus')); return null").await;
    let checked = "return document.getElementById('incident').hasAttribute('data-checked')";
    let mut tries = 0;
    while js(&c, checked).await != true {
        tries += 1;
        assert!(tries < 100, "the page checks its stamp when focused");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        js(&c, "return document.getElementById('live-banner').hidden").await,
        true,
        "nothing changed: no banner"
    );
    let (status, _) = api
        .post(
            "/api/v1/incidents/INC-1/timeline",
            json!({"body": "Cache warmed"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    js(&c, "window.dispatchEvent(new Event('focus')); return null").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#live-banner:not([hidden])"))
        .await
        .expect("the live-update banner");
    c.close().await.unwrap();
}
both_backends!(
    keyboard_quick_add_and_live_banner,
    keyboard_quick_add_and_live_banner
);

/// At phone width (390 px) the incident page and the board fit the screen: nothing wider
/// than the viewport, the quick-add box within reach.
/// Every page at 360 px and 1440 px with realistic data (long titles, 24 tasks with owners
/// and teams, several incidents, a postmortem with a table, code and a link): no sideways
/// scroll. Then the review flow in the browser, by two users, to a published postmortem
/// that shows a rendered table and link.
async fn pages_fit_a_phone(app: TestApp) {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let api = Api::new(&app, app.token(Role::Responder));
    api.made(
        "/api/v1/incidents",
        json!({"title": "A rather long incident title about the payment gateway returning 502s to every checkout", "severity": "SEV2", "services": ["payments", "checkout"]}),
    )
    .await;
    for title in [
        "Search latency above SLO in eu-west",
        "Login errors for SSO users after a certificate rotation",
    ] {
        api.made("/api/v1/incidents", json!({ "title": title }))
            .await;
    }
    for body in [
        "Saw https://grafana.example.com/d/very-long-dashboard-identifier-without-spaces-at-all?from=now-6h&to=now",
        "`SELECT count(*) FROM payments WHERE status = 'failed' AND created_at > now() - interval '1 hour'`",
        "| host | errors |\n|---|---|\n| gw-1 | 1204 |\n| gw-2 | 988 |",
    ] {
        api.made("/api/v1/incidents/INC-1/timeline", json!({ "body": body }))
            .await;
    }
    app.create_user("pia", Role::Admin);
    app.create_user("dana", Role::Responder);
    app.create_user("omar", Role::Responder);
    for n in 0..24 {
        let (status, body) = api
            .post(
                "/api/v1/incidents/INC-1/tasks",
                json!({"title": format!("Follow-up {n}: add a synthetic check for the checkout payment path in every region"), "owner": if n % 2 == 0 { "dana" } else { "omar" }, "team": format!("team-{}", n % 5), "due_on": "2026-01-15"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let summary = "| owner | item |\n|---|---|\n| dana | [runbook](https://runbooks.example.com/gateway) |\n\n```sh\nkubectl rollout undo deploy/gateway\n```";
    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": 0, "summary": summary}),
        )
        .await;
    assert!(status.is_success(), "{body}");

    // The status page, on, with a public update on the long-titled incident.
    let admin = Api::new(&app, app.token(Role::Admin));
    admin
        .changed(
            "/api/v1/status",
            json!({"enabled": true, "components": [{"service": "payments", "state": null}, {"service": "checkout", "state": "maintenance"}]}),
        )
        .await;
    api.made(
        "/api/v1/incidents/INC-1/updates",
        json!({"audience": "public", "impact": "Checkout fails for some customers paying by card; retrying after a minute usually works.", "actions": "We are rolling back the gateway configuration."}),
    )
    .await;
    sign_in(&c, &app, "pia", "%2Fincidents%2FINC-1").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qa-body"))
        .await
        .unwrap();
    let pages = [
        "/",
        "/incidents",
        "/incidents/INC-1",
        "/incidents/INC-1/edit",
        "/incidents/new",
        "/tasks",
        "/tasks?group=owner",
        "/postmortems",
        "/incidents/INC-1/postmortem",
        "/insights",
        "/import",
        "/settings/tokens",
        "/settings/password",
        "/admin/users",
        "/audit",
        "/admin/webhooks",
        "/search?q=synthetic+check",
        "/services",
        "/services/payments",
        "/status",
    ];
    for (width, height) in [(360, 800), (1440, 900)] {
        c.set_window_size(width, height).await.unwrap();
        for path in pages {
            c.goto(&app.url(path)).await.unwrap();
            let overflow = js(
                &c,
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            )
            .await;
            assert_eq!(overflow, 0, "{path} scrolls sideways at {width} px");
            let cut = js(&c, CUT_OFF).await;
            assert_eq!(cut, json!([]), "{path} has content cut off at {width} px");
        }
    }
    // The header's search box at both widths: `/` focuses it, typing and Enter search,
    // and the answer shows the incident with the words marked and linked.
    for (width, height) in [(360, 800), (1440, 900)] {
        c.set_window_size(width, height).await.unwrap();
        c.goto(&app.url("/tasks")).await.unwrap();
        wait_for_text(&c, "Action items").await;
        let slash = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: '/' })
            .then(KeyAction::Up { value: '/' });
        c.perform_actions(slash).await.unwrap();
        assert_eq!(
            js(&c, "return document.activeElement.id").await,
            "nav-q",
            "{width} px"
        );
        c.find(Locator::Id("nav-q"))
            .await
            .unwrap()
            .send_keys(&format!("synthetic check{}", char::from(Key::Enter)))
            .await
            .unwrap();
        wait_for_text(&c, "more matches in").await;
        assert_eq!(c.current_url().await.unwrap().path(), "/search");
        let marked = js(
            &c,
            "return Array.from(document.querySelectorAll('.hits a')).map(function (a) { return [a.getAttribute('href'), a.querySelector('mark') && a.querySelector('mark').textContent]; })",
        )
        .await;
        let hits = marked.as_array().unwrap();
        assert_eq!(hits.len(), 3, "{marked}");
        assert!(
            hits[0][0]
                .as_str()
                .unwrap()
                .starts_with("/incidents/INC-1#t"),
            "{marked}"
        );
        assert_eq!(hits[0][1], "synthetic", "{marked}");
    }
    c.set_window_size(360, 800).await.unwrap();
    c.goto(&app.url("/incidents/INC-1")).await.unwrap();
    let top = js(
        &c,
        "return document.getElementById('qa-body').getBoundingClientRect().top",
    )
    .await;
    assert!(
        top.as_f64().unwrap() < 800.0 * 1.5,
        "quick add is near the top on a phone: {top}"
    );

    // The review flow: the author (pia) asks dana, dana approves, pia publishes.
    let postmortem = app.url("/incidents/INC-1/postmortem");
    c.goto(&postmortem).await.unwrap();
    c.find(Locator::Css("input[name=reviewers]"))
        .await
        .unwrap()
        .send_keys("dana")
        .await
        .unwrap();
    c.find(Locator::Css("button[value=request]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Review requested.").await;
    let disabled = js(
        &c,
        "return document.querySelector('button[value=publish]').disabled",
    )
    .await;
    assert_eq!(disabled, true, "no approval yet");
    sign_out(&c).await;
    sign_in(&c, &app, "dana", "%2F").await;
    wait_for_text(&c, "Reviews waiting for you").await;
    c.goto(&postmortem).await.unwrap();
    c.find(Locator::Css("#your-review button[value=approve]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Approved.").await;
    sign_out(&c).await;
    sign_in(&c, &app, "pia", "%2Fincidents%2FINC-1%2Fpostmortem").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("button[value=publish]:not([disabled])"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Published").await;
    let rendered = js(
        &c,
        "return [!!document.querySelector('.pm-document table td'), !!document.querySelector('.pm-document a[href=\"https://runbooks.example.com/gateway\"]'), !!document.querySelector('.pm-document pre code')]",
    )
    .await;
    assert_eq!(
        rendered,
        json!([true, true, true]),
        "a rendered table, link and code block"
    );
    let overflow = js(
        &c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    assert_eq!(overflow, 0, "the published postmortem fits a phone");
    assert_eq!(js(&c, CUT_OFF).await, json!([]), "nothing of it cut off");

    // A reader whose setting (Kolkata, UTC+5:30) is not the browser's zone (UTC) sees the
    // browser's time beside each entry's, worked out from its day and the zone's rules.
    {
        use diesel::prelude::*;
        use hindsight::db::schema::users;
        diesel::update(users::table.filter(users::username.eq("pia")))
            .set(users::time_zone.eq("Asia/Kolkata"))
            .execute(&mut app.connection())
            .unwrap();
    }
    c.goto(&app.url("/incidents/INC-1")).await.unwrap();
    let pairs = js(
        &c,
        "return Array.from(document.querySelectorAll('.timeline > li[id]')).map(function (li) { var l = li.querySelector('.local'); return [li.firstElementChild.textContent, l ? l.textContent : null]; })",
    )
    .await;
    let pairs = pairs.as_array().unwrap();
    assert!(pairs.len() >= 3, "{pairs:?}");
    for pair in pairs {
        let shown = chrono::NaiveTime::parse_from_str(pair[0].as_str().unwrap(), "%H:%M").unwrap();
        let utc = shown - chrono::Duration::minutes(330);
        assert_eq!(
            pair[1].as_str(),
            Some(format!("({} local)", utc.format("%H:%M")).as_str()),
            "{pairs:?}"
        );
    }
    c.close().await.unwrap();
}

/// Elements reaching past the right edge outside any scrolling box: content that is cut
/// off (a page can hide its overflow and still lose text).
const CUT_OFF: &str = r#"
const w = document.documentElement.clientWidth;
const bad = [];
for (const e of document.querySelectorAll('main *')) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.right <= w + 1 || e.closest('.cards thead, .vh')) continue;
  let p = e.parentElement, scrolls = false;
  while (p && p !== document.body) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll') { scrolls = true; break; }
    p = p.parentElement;
  }
  if (!scrolls) bad.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));
}
return bad.slice(0, 5);
"#;

/// Waits until the page shows `text`; a page still loading (no body yet, or a script run
/// during navigation) is simply not there yet.
async fn wait_for_text(c: &Client, text: &str) {
    let script = format!(
        "return !!document.body && document.body.innerText.includes({})",
        json!(text)
    );
    let started = Instant::now();
    loop {
        if let Ok(found) = c.execute(&script, vec![]).await {
            if found == true {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never showed {text:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_out(c: &Client) {
    let signed_out = js(
        c,
        // Submitted after the script has answered: a navigation that starts while the
        // script is still running fails it with "document unloaded" (seen in CI under load).
        "var f = document.querySelector('form[action=\"/logout\"]'); setTimeout(function () { f.submit(); }, 0); return !!f",
    )
    .await;
    assert_eq!(signed_out, true, "no sign-out form on the page");
    let started = Instant::now();
    while !c.current_url().await.unwrap().path().starts_with("/login") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not signed out"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
both_backends!(pages_fit_a_phone, pages_fit_a_phone);

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`): print media,
/// a time zone for the page.
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.0.to_string()))
    }
}

async fn cdp(c: &Client, cmd: &str, params: serde_json::Value) -> serde_json::Value {
    c.issue_cmd(Cdp(json!({"cmd": cmd, "params": params})))
        .await
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// The page as Chromium prints it to PDF (`Page.printToPDF`), read back as text with
/// poppler's `pdftotext`; `None` (skip) when that is not installed, unless `CI=true`.
async fn printed_text(c: &Client) -> Option<String> {
    if std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_err()
    {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but pdftotext is missing: apt-get install poppler-utils");
        }
        eprintln!(
            "skipping the PDF check: pdftotext is not installed (apt-get install poppler-utils)"
        );
        return None;
    }
    let pdf = cdp(c, "Page.printToPDF", json!({"printBackground": false})).await;
    let data = pdf["data"]
        .as_str()
        .expect("printToPDF answers base64 data");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("printed.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a responder does not want to lose and a manager wants on paper: printing keeps the
/// whole timeline (no fixed-height box, no forms or navigation); unsent quick-add text
/// survives a reload and is cleared once the entry is added; deleting an entry asks first;
/// the time-zone picker offers the browser's zone first.
async fn print_drafts_and_confirmations(app: TestApp) {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let api = Api::new(&app, app.token(Role::Responder));
    let (status, _) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "Long night", "started_at": "2026-01-10T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for n in 1..=40 {
        api.made(
            "/api/v1/incidents/INC-1/timeline",
            json!({"kind": "action", "body": format!("Step {n} of the night"), "occurred_at": format!("2026-01-10T00:{n:02}:00Z")}),
        )
        .await;
    }
    app.create_user("rory", Role::Responder);
    sign_in(&c, &app, "rory", "/incidents/INC-1/postmortem").await;
    wait_for_text(&c, "Step 40 of the night").await;

    // On paper: no navigation or forms, and no box cuts the timeline short.
    cdp(&c, "Emulation.setEmulatedMedia", json!({"media": "print"})).await;
    let printed = js(
        &c,
        "var list = document.querySelector('.mini-timeline'); \
         var hidden = function (s) { var e = document.querySelector(s); return !e || getComputedStyle(e).display === 'none'; }; \
         return { clipped: list.scrollHeight > list.clientHeight + 1, \
                  nav: hidden('.top'), forms: Array.prototype.every.call(document.querySelectorAll('form'), function (f) { return getComputedStyle(f).display === 'none'; }) };",
    )
    .await;
    assert_eq!(
        printed,
        json!({"clipped": false, "nav": true, "forms": true}),
        "print layout"
    );
    // Printed for real: the whole timeline is on paper, the last entry included.
    if let Some(text) = printed_text(&c).await {
        for step in ["Step 1 of the night", "Step 40 of the night"] {
            assert!(text.contains(step), "{step} is not in the PDF:\n{text}");
        }
        assert!(!text.contains("Sign out"), "no navigation on paper");
    }
    cdp(&c, "Emulation.setEmulatedMedia", json!({"media": ""})).await;
    let on_screen = js(
        &c,
        "var l = document.querySelector('.mini-timeline'); return l.scrollHeight > l.clientHeight + 1;",
    )
    .await;
    assert_eq!(
        on_screen, true,
        "on screen the long timeline scrolls in its box"
    );

    // A postmortem section written but not saved survives a reload.
    c.find(Locator::Css(".pm-form textarea[name=summary]"))
        .await
        .unwrap()
        .send_keys("The config change was not reviewed")
        .await
        .unwrap();
    c.goto(&app.url("/incidents/INC-1/postmortem"))
        .await
        .unwrap();
    wait_for_text(&c, "Restored what you wrote here").await;
    let kept = js(
        &c,
        "return document.querySelector('.pm-form textarea[name=summary]').value",
    )
    .await;
    assert_eq!(kept, "The config change was not reviewed");

    // Unsent text survives a reload, and goes once the entry is added.
    c.goto(&app.url("/incidents/INC-1")).await.unwrap();
    c.find(Locator::Id("qa-body"))
        .await
        .unwrap()
        .send_keys("Half-written: gw-3 restarted")
        .await
        .unwrap();
    c.goto(&app.url("/incidents/INC-1")).await.unwrap();
    wait_for_text(&c, "Restored your unsent text").await;
    let restored = js(&c, "return document.getElementById('qa-body').value").await;
    assert_eq!(restored, "Half-written: gw-3 restarted");
    js(
        &c,
        "var f = document.getElementById('quick-add'); setTimeout(function () { f.requestSubmit(); }, 0); return true",
    )
    .await;
    let started = Instant::now();
    while !c
        .current_url()
        .await
        .unwrap()
        .fragment()
        .unwrap_or("")
        .starts_with('e')
    {
        assert!(started.elapsed() < Duration::from_secs(10), "not added");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    c.goto(&app.url("/incidents/INC-1")).await.unwrap();
    let after = js(&c, "return document.getElementById('qa-body').value").await;
    assert_eq!(after, "", "the draft is gone once the entry is in");

    // Deleting asks first; dismissed, nothing is deleted.
    let (_, timeline) = api.get("/api/v1/incidents/INC-1/timeline").await;
    let entry = timeline["items"][1]["id"].as_i64().unwrap();
    c.goto(&app.url(&format!("/incidents/INC-1/timeline/{entry}/edit")))
        .await
        .unwrap();
    js(
        &c,
        "var b = document.querySelector('.danger-zone button'); setTimeout(function () { b.click(); }, 0); return true",
    )
    .await;
    let started = Instant::now();
    let asked = loop {
        if let Ok(text) = c.get_alert_text().await {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no confirmation"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(asked.contains("Delete this entry?"), "{asked}");
    c.dismiss_alert().await.unwrap();
    let (_, again) = api.get("/api/v1/incidents/INC-1/timeline").await;
    assert_eq!(again["total"], timeline["total"], "nothing deleted");

    // The browser's own zone is offered first.
    cdp(
        &c,
        "Emulation.setTimezoneOverride",
        json!({"timezoneId": "Europe/Berlin"}),
    )
    .await;
    c.goto(&app.url("/settings/time-zone")).await.unwrap();
    let first = js(
        &c,
        "return document.getElementById('time-zone').options[0].textContent",
    )
    .await;
    assert_eq!(first, "Europe/Berlin (this browser's zone)");
}
both_backends!(
    print_drafts_and_confirmations,
    print_drafts_and_confirmations
);

/// A screenshot pasted into the quick-add box is uploaded, its reference goes in at the
/// cursor, and the added entry shows the image (served to the signed-in reader).
async fn a_pasted_screenshot_becomes_evidence(app: TestApp) {
    let Some((c, _driver, _profile)) = browser().await else {
        return;
    };
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Gateway errors"}))
        .await;
    app.create_user("pia", Role::Responder);
    sign_in(&c, &app, "pia", "%2Fincidents%2FINC-1").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("qa-body"))
        .await
        .expect("the incident page after sign-in");
    // What Ctrl+V of a screenshot delivers: a paste event carrying a PNG file.
    js(
        &c,
        "var box = document.getElementById('qa-body'); box.focus(); box.value = 'Error rate at 40%: ';
         var canvas = document.createElement('canvas'); canvas.width = 6; canvas.height = 4;
         var g = canvas.getContext('2d'); g.fillStyle = '#c00'; g.fillRect(0, 0, 6, 4);
         var bin = atob(canvas.toDataURL('image/png').split(',')[1]);
         var bytes = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
         var dt = new DataTransfer(); dt.items.add(new File([bytes], 'screenshot.png', {type: 'image/png'}));
         box.setSelectionRange(box.value.length, box.value.length);
         box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
         return true;",
    )
    .await;
    let mut value = String::new();
    for _ in 0..100 {
        value = js(&c, "return document.getElementById('qa-body').value")
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if value.contains("(attachment:") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        value.starts_with("Error rate at 40%: \n![screenshot.png](attachment:"),
        "{value}"
    );
    assert_eq!(app.count("attachments"), 1);
    c.find(Locator::Css("#quick-add button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let img = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("ol.timeline img[src^='/attachments/']"))
        .await
        .expect("the entry shows the image");
    // It loaded (served to this session), at its own size.
    for _ in 0..50 {
        if js(&c, "var i = document.querySelector(\"ol.timeline img[src^='/attachments/']\"); return i.complete && i.naturalWidth").await == json!(6) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        js(&c, "var i = document.querySelector(\"ol.timeline img[src^='/attachments/']\"); return i.naturalWidth").await,
        json!(6)
    );
    assert!(img.attr("alt").await.unwrap().is_some());
}
both_backends!(
    a_pasted_screenshot_becomes_evidence,
    a_pasted_screenshot_becomes_evidence
);
