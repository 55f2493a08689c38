//! The real binary: migrate, user and token creation, clear errors, graceful shutdown.

use crate::binary::{self, ChildServer};

fn hindsight(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    binary::run(db, args, stdin.unwrap_or(""))
}

#[test]
fn users_tokens_and_errors_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());

    let out = hindsight(&db, &["migrate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hindsight(&db, &["migrate"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("up to date"));

    let out = hindsight(
        &db,
        &[
            "user",
            "create",
            "--username",
            "Mara",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("longenough1\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a given password is not echoed");

    // Without --password-stdin a password is generated and printed alone.
    let out = hindsight(
        &db,
        &["user", "create", "--username", "sam", "--role", "viewer"],
        None,
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 24);

    let out = hindsight(
        &db,
        &["token", "create", "--username", "mara", "--name", "ci"],
        None,
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.starts_with("hs_") && token.trim().len() == 67 && token.lines().count() == 1);
    let out = hindsight(
        &db,
        &[
            "token",
            "create",
            "--username",
            "mara",
            "--name",
            "am",
            "--scope",
            "alerts",
        ],
        None,
    );
    assert!(out.status.success());
    {
        let url = hindsight::db::DbUrl::parse(&db).unwrap();
        let mut conn = hindsight::db::connect_one(&url).unwrap();
        let scopes: Vec<String> = hindsight::auth::tokens::list(&mut conn, None)
            .unwrap()
            .into_iter()
            .map(|(t, _)| format!("{} {}", t.name, t.scope))
            .collect();
        assert_eq!(scopes, ["am alerts", "ci full"]);
    }

    // Errors: one line on stderr, non-zero exit, nothing created.
    for (args, needle) in [
        (
            vec![
                "user",
                "create",
                "--username",
                "mara",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "taken",
        ),
        (
            vec![
                "user",
                "create",
                "--username",
                "x",
                "--role",
                "boss",
                "--password-stdin",
            ],
            "Role must be one of",
        ),
        (
            vec![
                "user",
                "create",
                "--username",
                "y",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "at least 8",
        ),
        (
            vec!["token", "create", "--username", "ghost"],
            "no user named",
        ),
        (
            vec!["token", "create", "--username", "mara", "--scope", "all"],
            "--scope: expected full or alerts",
        ),
    ] {
        let input = if needle == "at least 8" {
            "short\n"
        } else {
            "longenough1\n"
        };
        let out = hindsight(&db, &args, Some(input));
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let out = hindsight("mysql://nope", &["migrate"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme `mysql` is not supported"));
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    // The server binds port 0 and reports its port: nothing else can take it meanwhile.
    let server = ChildServer::start(&db);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_ok(),
        "server listens on the port it reported"
    );
    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "exit 0 after SIGTERM ({status}); log:\n{log}"
    );
    assert!(
        log.contains("/setup?token="),
        "first run logs the setup link"
    );
    assert!(!log.contains('\u{1b}'), "no colour codes off a terminal");
}

#[test]
fn sigterm_right_after_start_up_still_exits_cleanly() {
    // SIGTERM the moment the port is reported, several times: no start-up window kills it.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    for _ in 0..5 {
        let (status, log) = ChildServer::start(&db).terminate();
        assert!(
            status.success(),
            "exit 0 after SIGTERM ({status}); log:\n{log}"
        );
    }
}

#[test]
fn cli_refuses_empty_names_unbounded_input_and_an_empty_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let fails_with = |out: std::process::Output, needle: &str| {
        assert!(!out.status.success(), "{needle}: exit {}", out.status);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    };
    fails_with(
        hindsight(&db, &["backup", ""], None),
        "needs the name of a new file",
    );
    fails_with(hindsight(&db, &["import", ""], None), "needs a file name");
    // An endless input is cut off at the import limit, not read into memory.
    fails_with(
        hindsight(&db, &["import", "/dev/zero"], None),
        "larger than 8 MiB",
    );
    // The same document twice: refused naming the first, unless --duplicate.
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/payment-gateway-2023-06-07.txt"
    );
    let out = hindsight(&db, &["import", seed], None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "INC-1");
    fails_with(
        hindsight(&db, &["import", seed], None),
        "imported before, as INC-1; pass --duplicate",
    );
    let out = hindsight(&db, &["import", seed, "--duplicate"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "INC-2");
    // Export in a zone: summer in Berlin is CEST, and the front matter names the zone.
    let out = hindsight(&db, &["export", "INC-1", "--zone", "Europe/Berlin"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = String::from_utf8_lossy(&out.stdout);
    assert!(doc.contains("zone: \"Europe/Berlin\""), "{doc}");
    assert!(
        doc.contains("**Duration:** 2023-06-07 12:00 – 16:00 CEST (4h 0m)"),
        "{doc}"
    );
    assert!(doc.contains("All times Europe/Berlin."), "{doc}");
    fails_with(
        hindsight(&db, &["export", "INC-1", "--zone", "Europe/Berlln"], None),
        "“Europe/Berlln” is not a time zone name",
    );
    // Set but empty is refused, and creates no ./hindsight.db.
    let out = std::process::Command::new(binary::BIN)
        .arg("migrate")
        .env("DATABASE_URL", "")
        .current_dir(dir.path())
        .output()
        .unwrap();
    fails_with(out, "DATABASE_URL is empty");
    assert!(!dir.path().join("hindsight.db").exists());
}

#[test]
fn the_service_catalog_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("services.db").display());
    let ok = |args: &[&str]| {
        let out = hindsight(&db, args, None);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&["team", "create", "Payments on-call"]);
    ok(&[
        "service",
        "add",
        "payments",
        "--tier",
        "1",
        "--team",
        "payments on-call",
        "--runbook",
        "https://wiki.example.com/payments",
    ]);
    ok(&["service", "add", "search"]);
    ok(&[
        "service",
        "set",
        "search",
        "--tier",
        "3",
        "--rename",
        "site search",
    ]);
    assert_eq!(
        ok(&["service", "list"]),
        "payments\t1\tPayments on-call\thttps://wiki.example.com/payments\n\
         site search\t3\t\t\n"
    );
    for (args, says) in [
        (
            vec!["service", "add", "ledger", "--tier", "5"],
            "tier must be 1 to 4",
        ),
        (vec!["service", "add", "PAYMENTS"], "already a service"),
        (
            vec!["service", "set", "nope", "--tier", "2"],
            "service `nope` not found",
        ),
        (
            vec!["service", "add", "x", "--runbook", "ftp://files"],
            "http:// or https://",
        ),
    ] {
        let out = hindsight(&db, &args, None);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    ok(&["service", "remove", "site search"]);
    assert_eq!(
        ok(&["service", "list"]).lines().count(),
        1,
        "removed; the failed adds made nothing"
    );
}

#[test]
fn a_directory_of_postmortems_imports_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("history.db").display());
    let docs = dir.path().join("postmortems");
    std::fs::create_dir(&docs).unwrap();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates");
    for name in [
        "sre-book-search-2025-02-11.md",
        "pagerduty-queue-2025-10-14.md",
    ] {
        std::fs::copy(fixtures.join(name), docs.join(name)).unwrap();
    }
    std::fs::write(docs.join("b-notes.txt"), "Just some notes.\n").unwrap();
    std::fs::write(docs.join("ignored.png"), "not a document").unwrap();
    let gitlab = fixtures.join("gitlab-pricing-2025-05-20.md");
    let dir_arg = docs.display().to_string();
    let out = hindsight(&db, &["import", &dir_arg, gitlab.to_str().unwrap()], None);
    assert!(!out.status.success(), "one file failed");
    let report = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = report.lines().collect();
    let name = |f: &str| format!("{}", docs.join(f).display());
    assert_eq!(
        lines,
        [
            format!("{}\terror: line 1: expected a postmortem section title such as `Issue Summary`, `Timeline` or `Root Cause and Resolution`", name("b-notes.txt")),
            format!("{}\tINC-1", name("pagerduty-queue-2025-10-14.md")),
            format!("{}\tINC-2", name("sre-book-search-2025-02-11.md")),
            format!("{}\tINC-3", gitlab.display()),
        ]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 4 documents were not imported"));
    // Again: each one caught as imported before, nothing made twice.
    let out = hindsight(&db, &["import", &dir_arg], None);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        report.matches("imported before, as INC-").count(),
        2,
        "{report}"
    );
    // One file alone prints its key, as before.
    let out = hindsight(
        &db,
        &["import", "--duplicate", gitlab.to_str().unwrap()],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "INC-4\n");
}
