//! The real `hindsight` binary as a child process: one-shot commands, and a server that binds
//! port 0 itself and reports the port it got (no test hands out a port another may take).
//! Shared by the integration tests and the benchmark (`#[path]` modules).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_hindsight");

/// Runs `hindsight ARGS` on database `db` with `stdin` as input, whatever its exit.
pub fn run(db: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hindsight");
    let mut input = child.stdin.take().expect("stdin is piped");
    // A command that does not read its input closes the pipe early: that is not an error here.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("wait for hindsight")
}

/// Runs `hindsight ARGS`, panics unless it succeeds, and returns its trimmed stdout.
pub fn cli(db: &str, args: &[&str], stdin: &str) -> String {
    let out = run(db, args, stdin);
    assert!(
        out.status.success(),
        "hindsight {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .trim()
        .to_string()
}

/// `hindsight serve` as a child process, killed when dropped (a failing test leaves none).
pub struct ChildServer {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl ChildServer {
    /// Serves `db` on a port of the server's choosing; returns once the server has said which.
    pub fn start(db: &str) -> ChildServer {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", db)
            // Warnings only (the setup link): logging every request would slow the server.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hindsight serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = mpsc::channel();
        // The `listening on` line comes on stdout; then keep draining, so the pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
            }
        });
        let reader = {
            let log = Arc::clone(&log);
            // Drains stderr for the server's whole life, so a chatty server never blocks.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        // Start-up migrates first: a cold PostgreSQL on a loaded machine can take a while.
        let port = port_rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hindsight serve did not report its address; its log:\n{}",
                    log.lock().unwrap_or_else(|e| e.into_inner())
                )
            });
        ChildServer {
            child,
            port,
            log,
            reader: Some(reader),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits: the exit status and everything the server logged.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM");
        let status = self.child.wait().expect("wait for hindsight");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (status, log)
    }

    /// SIGKILL: the server gets no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The port in the server's `listening on http://127.0.0.1:PORT` line.
fn listening_port(line: &str) -> Option<u16> {
    let (_, address) = line.split_once("listening on http://")?;
    let port: String = address
        .rsplit_once(':')?
        .1
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    port.parse().ok()
}
