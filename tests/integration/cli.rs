//! The real binary: migrate, user and token creation, clear errors, graceful shutdown.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hindsight");

fn hindsight(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hindsight");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "server listens");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit 0 after SIGTERM");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("/setup?token="),
        "first run logs the setup link"
    );
}
