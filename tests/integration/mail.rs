//! E-mail notifications through a real SMTP server on loopback (aiosmtpd, started by the
//! test): with two servers on one database each message arrives exactly once, as plain text
//! and HTML linking to the base URL, to the people who chose e-mail, and no one else.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hindsight::auth::Role;
use hindsight::mail::MailConfig;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// The SMTP sink (tests/support/smtp_sink.py): killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    /// Starts the sink; `None` (skip) when Python's aiosmtpd is missing, unless `CI=true`.
    pub fn start() -> Option<SmtpSink> {
        let has = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: the e-mail tests need Python's aiosmtpd (pip install aiosmtpd)"
            );
            eprintln!("skipping: the e-mail tests need Python's aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink said {line:?}"));
        Some(SmtpSink { child, port, dir })
    }

    pub fn config(&self) -> MailConfig {
        MailConfig::parse(
            &format!("smtp://127.0.0.1:{}?tls=none", self.port),
            Some("hindsight <hindsight@example.test>"),
        )
        .unwrap()
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
    }

    /// The messages received, once `n` have arrived and the outbox has nothing left to send
    /// (every row sent and unclaimed: a duplicate would have had to be sent by then).
    pub async fn exactly(&self, app: &TestApp, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let settled = app.count_where(
                "mail_outbox",
                "status = 'pending' OR locked_until IS NOT NULL",
            ) == 0;
            if self.files().len() >= n && settled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got: Vec<String> = self
            .files()
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(got.len(), n, "messages: {got:#?}");
        got
    }
}

async fn each_mail_arrives_once_from_two_servers(app: TestApp) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    // Two servers with mail on, over the same database.
    let a = app.second_server_with(|c| {
        c.mail = Some(sink.config());
        c.base_url = "https://hindsight.example.test".into();
    });
    let b = app.second_server_with(|c| {
        c.mail = Some(sink.config());
        c.base_url = "https://hindsight.example.test".into();
    });
    for name in ["ann", "rex", "otto"] {
        app.create_user(name, Role::Responder);
    }
    let admin = Api::new(&a, app.token(Role::Admin));
    admin
        .made(
            "/api/v1/teams",
            json!({"name": "DBA", "members": ["ann", "rex"]}),
        )
        .await;
    // Ann wants escalations in both places and tasks by e-mail only; Rex has no address
    // (so only his inbox); Otto wants everything in his inbox only.
    let mut conn = app.connection();
    for (name, email, prefs) in [
        (
            "ann",
            "ann@example.test",
            vec![("escalated", "both"), ("task_assigned", "email")],
        ),
        ("rex", "", vec![("escalated", "both")]),
        ("otto", "otto@example.test", vec![]),
    ] {
        let u = hindsight::auth::users::find_by_username(&mut conn, name)
            .unwrap()
            .unwrap();
        let actor = hindsight::audit::Actor::system("test");
        hindsight::auth::users::set_email(&mut conn, u.id, email, &actor).unwrap();
        let choices: Vec<_> = prefs
            .into_iter()
            .map(|(k, c)| (k.parse().unwrap(), c.parse().unwrap()))
            .collect();
        hindsight::notifications::prefs::set(&mut conn, u.id, &choices).unwrap();
    }
    drop(conn);

    let api_a = Api::new(&a, app.token(Role::Responder));
    let api_b = Api::new(&b, app.token(Role::Responder));
    api_a
        .made("/api/v1/incidents", json!({"title": "Checkout <errors>"}))
        .await;
    let (status, _) = api_a
        .post(
            "/api/v1/incidents/INC-1/escalations",
            json!({"targets": ["DBA", "otto"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api_b
        .post(
            "/api/v1/incidents/INC-1/tasks",
            json!({"title": "Add a lag alert", "owner": "ann"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let mails = sink.exactly(&app, 2).await;
    assert!(mails
        .iter()
        .all(|m| m.starts_with("X-Rcpt-To: ann@example.test\r\n")));
    let escalation = mails
        .iter()
        .find(|m| m.contains("escalated INC-1"))
        .expect("the escalation mail");
    assert!(escalation.contains("From: hindsight <hindsight@example.test>"));
    assert!(escalation.contains("Content-Type: multipart/alternative"));
    assert!(escalation.contains("text/plain") && escalation.contains("text/html"));
    assert!(escalation.contains("https://hindsight.example.test/incidents/INC-1#escalations"));
    assert!(
        escalation.contains("Checkout &#60;errors&#62;"),
        "user text is escaped in the HTML part: {escalation}"
    );
    assert!(mails.iter().any(|m| m.contains("gave you a task on INC-1")));

    // The inboxes: Ann has the escalation (both) but not the task (e-mail only); Rex and
    // Otto have theirs in the inbox and no mail.
    let count = |name: &str| {
        let mut conn = app.connection();
        let u = hindsight::auth::users::find_by_username(&mut conn, name)
            .unwrap()
            .unwrap();
        hindsight::notifications::inbox(&mut conn, hindsight::access::Reader::of(&u), 50)
            .unwrap()
            .0
            .len()
    };
    assert_eq!((count("ann"), count("rex"), count("otto")), (1, 1, 1));
    let mut conn = app.connection();
    {
        use diesel::prelude::*;
        use hindsight::db::schema::mail_outbox;
        let states: Vec<String> = mail_outbox::table
            .select(mail_outbox::status)
            .load(&mut conn)
            .unwrap();
        assert_eq!(states, ["sent", "sent"]);
    }
    // The admin page says mail is on here, off on a server without SMTP settings.
    let admin_a = Browser::new(&a);
    let admin_app = app.login_as(Role::Admin).await;
    admin_a.login(&admin_app.username, PASSWORD).await;
    let (_, page) = admin_a.get_text("/admin/users").await;
    assert!(!page.contains("id=\"mail-off\""));
    let (_, page) = admin_app.get_text("/admin/users").await;
    assert!(page.contains("id=\"mail-off\""));
}
both_backends!(
    each_mail_arrives_once_from_two_servers,
    each_mail_arrives_once_from_two_servers
);

#[test]
fn smtp_settings_are_checked() {
    let from = Some("hs@example.test");
    assert!(MailConfig::parse("smtps://u:p@mail.example.test", from).is_ok());
    assert!(MailConfig::parse("smtp://mail.example.test:587", from).is_ok());
    assert!(MailConfig::parse("smtp://localhost:25?tls=none", from).is_ok());
    let err = MailConfig::parse("http://mail.example.test", from).unwrap_err();
    assert!(err.contains("smtps://"), "{err}");
    let err = MailConfig::parse("smtps://mail.example.test", None).unwrap_err();
    assert!(err.contains("HINDSIGHT_MAIL_FROM is required"));
    let err = MailConfig::parse("smtps://mail.example.test", Some("nope")).unwrap_err();
    assert!(err.contains("not an address"));
    // The password never shows in logs.
    let c = MailConfig::parse("smtps://u:secret@mail.example.test", from).unwrap();
    assert!(!format!("{c:?}").contains("secret"));
}
