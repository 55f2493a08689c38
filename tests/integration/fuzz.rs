//! Fuzzing the importer against the real app on both databases: 2,000 mutated documents
//! per backend (byte flips, truncation, shuffled lines, NULs, invalid UTF-8, huge numbers,
//! impossible dates, deep nesting) made from the fixtures and a rich export, with a fixed
//! seed so a failure reproduces. Never a panic, never a 5xx, never a partial write: a
//! refused document leaves the database as it was, an accepted one adds one whole incident.

use std::panic::{catch_unwind, AssertUnwindSafe};

use hindsight::audit::Actor;
use hindsight::auth::Role;
use hindsight::postmortems::import;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;

const FIXTURES: [&str; 7] = [
    include_str!("../fixtures/payment-gateway-2023-06-07.txt"),
    include_str!("../fixtures/checkout-failover-2024-03-03.txt"),
    include_str!("../fixtures/search-index-2024-05-10.md"),
    include_str!("../fixtures/templates/sre-book-search-2025-02-11.md"),
    include_str!("../fixtures/templates/gitlab-pricing-2025-05-20.md"),
    include_str!("../fixtures/templates/atlassian-login-2025-08-03.md"),
    include_str!("../fixtures/templates/pagerduty-queue-2025-10-14.md"),
];

/// Documents per backend (the issue asks for at least 2,000); `HINDSIGHT_FUZZ_DOCUMENTS`
/// runs more, `HINDSIGHT_FUZZ_SEED` other ones (the seed is printed on failure).
const DOCUMENTS: usize = 2_000;
const SEED: u64 = 0x005e_ed1d_ea5e;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
/// Every this many documents also go through `POST /api/v1/import`.
const OVER_HTTP_EVERY: usize = 25;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to three mutations of `doc`, as bytes (they may stop being UTF-8).
fn mutate(doc: &str, rng: &mut Rng) -> Vec<u8> {
    let mut bytes = doc.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len());
        match rng.below(9) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.truncate(at),
            2 => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = text.lines().collect();
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                if !lines.is_empty() {
                    lines.swap(a, b);
                }
                bytes = lines.join("\n").into_bytes();
            }
            3 => bytes.insert(at, 0),
            4 => bytes.splice(at..at, [0xff, 0xfe]).for_each(drop),
            5 => bytes
                .splice(
                    at..at,
                    format!("1{}%", "0".repeat(rng.below(400))).into_bytes(),
                )
                .for_each(drop),
            6 => bytes
                .splice(
                    at..at,
                    *b"\n2023-02-30 25:61 UTC: on a day that never was\n",
                )
                .for_each(drop),
            7 => bytes
                .splice(
                    at..at,
                    "\n".to_string()
                        .into_bytes()
                        .into_iter()
                        .chain("> - [ ] ".repeat(200).into_bytes()),
                )
                .for_each(drop),
            _ => {
                // Repeat a slice: long documents, duplicated markers.
                let end = (at + rng.below(2_000)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy).for_each(drop);
            }
        }
    }
    bytes
}

fn counts(app: &TestApp) -> [i64; 5] {
    [
        "incidents",
        "timeline_entries",
        "tasks",
        "root_causes",
        "escalations",
    ]
    .map(|t| app.count(t))
}

async fn mutated_documents_never_break_anything(app: TestApp) {
    // A rich export joins the fixtures: markers, every region kind, escaped text.
    let api = Api::new(&app, app.token(Role::Responder));
    let mut seeds: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    let mut conn = app.connection();
    let rich = import::prepare(FIXTURES[0])
        .and_then(|p| import::store(&mut conn, p, import::Again::Allow, &Actor::system("fuzz")))
        .unwrap();
    let (_, export) = hindsight::postmortems::export::document(
        &mut conn,
        rich.id,
        hindsight::postmortems::export::Template::Default,
        hindsight::time::Zone::UTC,
    )
    .unwrap();
    drop(conn);
    seeds.push(export);

    let seed = setting("HINDSIGHT_FUZZ_SEED", SEED).max(1);
    let documents = setting("HINDSIGHT_FUZZ_DOCUMENTS", DOCUMENTS as u64) as usize;
    eprintln!("fuzz: {documents} documents from seed {seed}");
    let mut rng = Rng(seed);
    let (mut accepted, mut refused, mut over_http) = (0, 0, 0);
    for n in 0..documents {
        let bytes = mutate(&seeds[n % seeds.len()], &mut rng);
        let before = counts(&app);
        if n % OVER_HTTP_EVERY == 0 {
            over_http += 1;
            let res = api
                .client
                .post(format!("{}/api/v1/import", api.base))
                .bearer_auth(&api.token)
                .header("content-type", "text/markdown; charset=utf-8")
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            let status = res.status();
            assert!(
                !status.is_server_error(),
                "document {n}: {status} {}",
                res.text().await.unwrap_or_default()
            );
            let grew = counts(&app)[0] - before[0];
            if status == StatusCode::CREATED {
                assert_eq!(grew, 1, "document {n}: one incident");
                accepted += 1;
            } else {
                assert_eq!(
                    counts(&app),
                    before,
                    "document {n}: refused, and nothing written"
                );
                refused += 1;
            }
            continue;
        }
        let pool = app.pool.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
            let prepared = import::prepare(&text).map_err(|e| e.to_string())?;
            let mut conn = pool.get().unwrap();
            import::store(
                &mut conn,
                prepared,
                import::Again::Allow,
                &Actor::system("fuzz"),
            )
            .map(|_| ())
            .map_err(|e| {
                assert!(
                    !matches!(e, hindsight::error::AppError::Unexpected(_)),
                    "document {n}: an internal error storing: {e}"
                );
                e.to_string()
            })
        }));
        let outcome = outcome.unwrap_or_else(|_| panic!("document {n} made the importer panic"));
        match outcome {
            Ok(()) => {
                assert_eq!(counts(&app)[0] - before[0], 1, "document {n}: one incident");
                accepted += 1;
            }
            Err(_) => {
                assert_eq!(
                    counts(&app),
                    before,
                    "document {n}: refused, and nothing written"
                );
                refused += 1;
            }
        }
    }
    eprintln!(
        "fuzz: {documents} documents (seed {seed}) ({over_http} over HTTP): {accepted} accepted, {refused} refused, 0 panics, 0 5xx, 0 partial writes"
    );
    assert_eq!(accepted + refused, documents);
    assert!(
        refused > 0 && accepted > 0,
        "the mutations exercised both paths"
    );
}
both_backends!(
    mutated_documents_never_break_anything,
    mutated_documents_never_break_anything
);
