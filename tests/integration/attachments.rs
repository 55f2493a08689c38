//! Evidence on the record: uploads by the API and the page, stored once per content;
//! images shown inline only when they are images (re-encoded, their EXIF location gone),
//! SVG and HTML never inline; hostile-file headers; the size limit's 413; a restricted
//! incident's files 404 to outsiders; Markdown references render; two servers on one
//! database serve the same file; an admin's purge keeps the record.

use hindsight::auth::Role;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A small PNG (the image crate encodes it) with an `eXIf` chunk naming a GPS position
/// put in before `IEND`, as a phone's screenshot tool might.
fn png_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 90]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    let iend = png.len() - 12;
    let data = b"MM\0*\0\0\0\x08GPSLatitude 52.5200 N GPSLongitude 13.4050 E";
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut typed = b"eXIf".to_vec();
    typed.extend_from_slice(data);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32fast::hash(&typed).to_be_bytes());
    let mut out = png[..iend].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[iend..]);
    out
}

/// A small JPEG with an `APP1` Exif segment naming a GPS position, as a phone writes it.
fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 15, 40, y as u8 * 15]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    let data = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 52.5200 N GPSLongitude 13.4050 E";
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A log of `n` bytes (more than one stored piece when over 1 MiB).
fn long_log(n: usize) -> Vec<u8> {
    let mut log = Vec::with_capacity(n + 64);
    let mut i = 0;
    while log.len() < n {
        log.extend_from_slice(format!("{i:08} gw-3 502 upstream timed out\n").as_bytes());
        i += 1;
    }
    log.truncate(n);
    log
}

async fn upload(
    api: &Api,
    key: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap(),
    );
    let res = api
        .client
        .post(format!("{}/api/v1/incidents/{key}/attachments", api.base))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    json_of(res).await
}

async fn fetch(api: &Api, id: &Value) -> reqwest::Response {
    api.client
        .get(format!("{}/api/v1/attachments/{id}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn files_are_evidence_served_safely(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Gateway errors"}))
        .await;

    // An image with EXIF location: stored re-encoded, served inline without it.
    let png = png_with_exif();
    assert!(png.windows(4).any(|w| w == b"eXIf"));
    let (status, graph) = upload(&api, "INC-1", "graph.png", "image/png", png.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{graph}");
    assert_eq!(graph["content_type"], "image/png");
    assert_eq!(
        graph["markdown"],
        format!("![graph.png](attachment:{})", graph["id"])
    );
    let res = fetch(&api, &graph["id"]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-type"), "image/png");
    assert!(header(&res, "content-disposition").starts_with("inline;"));
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(header(&res, "content-security-policy"), "sandbox");
    assert!(header(&res, "cache-control").starts_with("private"));
    let etag = header(&res, "etag");
    assert_eq!(etag, format!("\"{}\"", graph["sha256"].as_str().unwrap()));
    let served = res.bytes().await.unwrap();
    assert!(!served.windows(4).any(|w| w == b"eXIf"), "EXIF dropped");
    assert!(!served.windows(11).any(|w| w == b"GPSLatitude"));
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (8, 8));
    // A phone's JPEG: its Exif segment (GPS) gone too.
    let (_, photo) = upload(&api, "INC-1", "rack.jpg", "image/jpeg", jpeg_with_exif()).await;
    let served = fetch(&api, &photo["id"]).await.bytes().await.unwrap();
    assert!(!served.windows(11).any(|w| w == b"GPSLatitude"));
    assert!(!served.windows(6).any(|w| w == b"Exif\0\0"));
    assert_eq!(image::load_from_memory(&served).unwrap().width(), 16);
    // The ETag answers a 304.
    let res = api
        .client
        .get(format!("{}/api/v1/attachments/{}", api.base, graph["id"]))
        .bearer_auth(&api.token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // SVG with a script and an HTML page: downloads, whatever they claim to be.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>".to_vec();
    let (_, a) = upload(&api, "INC-1", "chart.svg", "image/svg+xml", svg).await;
    let (_, b) = upload(
        &api,
        "INC-1",
        "page.html",
        "text/html",
        b"<script>alert(3)</script>".to_vec(),
    )
    .await;
    let (_, c) = upload(
        &api,
        "INC-1",
        "fake.png",
        "image/png",
        b"<html><script>alert(4)</script>".to_vec(),
    )
    .await;
    for file in [&a, &b, &c] {
        assert!(
            file["markdown"].as_str().unwrap().starts_with('['),
            "{file}"
        );
        let res = fetch(&api, &file["id"]).await;
        assert!(
            header(&res, "content-disposition").starts_with("attachment;"),
            "{file}"
        );
        assert_eq!(header(&res, "content-security-policy"), "sandbox");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(&res, "content-type"),
            "application/octet-stream",
            "{file}"
        );
    }

    // The same file twice is stored once.
    let (_, again) = upload(&api, "INC-1", "graph-again.png", "image/png", png).await;
    assert_ne!(again["id"], graph["id"]);
    assert_eq!(again["sha256"], graph["sha256"]);
    assert_eq!(app.count("attachment_blobs"), 5);
    assert_eq!(app.count("attachments"), 6);

    // Referenced from an entry: rendered as the served image; raw HTML still cleaned.
    api.made(
        "/api/v1/incidents/INC-1/timeline",
        json!({"kind": "note", "body": format!("Error rate graph: ![graph](attachment:{}) and [the log](attachment:{})", graph["id"], b["id"])}),
    )
    .await;
    let page = app.login_as(Role::Responder).await;
    let (status, html) = page.get_text("/incidents/INC-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("src=\"/attachments/{}\"", graph["id"])),
        "the image shows"
    );
    assert!(html.contains(&format!("href=\"/attachments/{}\"", b["id"])));
    assert_eq!(
        page.get(&format!("/attachments/{}", graph["id"]))
            .await
            .status(),
        StatusCode::OK
    );

    // The page's upload needs its CSRF token.
    let form = Form::new().part("file", Part::bytes(b"log line".to_vec()).file_name("x.log"));
    assert_eq!(
        page.post_multipart("/incidents/INC-1/attachments", form)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let (_, html) = page.get_text("/incidents/INC-1").await;
    let token = csrf_token(&html).unwrap();
    let form = Form::new().text("csrf_token", token).part(
        "file",
        Part::bytes(b"log line".to_vec())
            .file_name("gw-3.log")
            .mime_str("text/plain")
            .unwrap(),
    );
    let res = page
        .post_multipart("/incidents/INC-1/attachments", form)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    assert_eq!(
        made["markdown"],
        format!("[gw-3.log (8 B)](attachment:{})", made["id"])
    );

    // A viewer may look but not attach; nothing is stored.
    let viewer = Api::new(&app, app.token(Role::Viewer));
    let (status, _) = upload(&viewer, "INC-1", "v.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(fetch(&viewer, &graph["id"]).await.status(), StatusCode::OK);
    assert_eq!(app.count("attachments"), 7);
}
both_backends!(
    files_are_evidence_served_safely,
    files_are_evidence_served_safely
);

/// Files stored whole before the pieces migration are in pieces after it, and back whole
/// when it is reverted: the bytes served are the same all three times.
async fn files_survive_the_pieces_migration_both_ways(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Gateway errors"}))
        .await;
    let big = long_log(PIECES_OF_TWO_AND_A_BIT);
    let (_, full) = upload(&api, "INC-1", "full.log", "text/plain", big.clone()).await;
    let (_, graph) = upload(&api, "INC-1", "g.png", "image/png", png_with_exif()).await;
    let png = fetch(&api, &graph["id"]).await.bytes().await.unwrap();
    let mut conn = app.connection();
    let mut reverted = Vec::new();
    while !reverted
        .last()
        .is_some_and(|m: &String| m.ends_with("000036"))
    {
        reverted.extend(hindsight::db::revert_last_migrations(&mut conn, 1).unwrap());
        assert!(reverted.len() < 10, "the pieces migration is 000036");
    }
    let whole = format!("length(bytes) = {}", big.len());
    assert_eq!(app.count_where("attachment_blobs", &whole), 1);
    hindsight::db::migrate(&mut conn).unwrap();
    assert_eq!(
        app.count("attachment_chunks"),
        2,
        "one piece each, as stored"
    );
    for (id, bytes) in [(&full["id"], &big[..]), (&graph["id"], &png[..])] {
        let res = fetch(&api, id).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
    }
}
both_backends!(
    files_survive_the_pieces_migration_both_ways,
    files_survive_the_pieces_migration_both_ways
);

const PIECES_OF_TWO_AND_A_BIT: usize = 2 * 1024 * 1024 + 4321;

async fn limits_restricted_incidents_and_two_servers(app: TestApp) {
    let small = app.second_server_with(|c| c.max_attachment = 64 * 1024);
    let other = app.second_server();
    app.create_user("boss", Role::Admin);
    let admin = Api::new(&small, app.token_of("boss"));
    let insider = Api::new(&small, app.token(Role::Responder));
    admin
        .made("/api/v1/incidents", json!({"title": "Open"}))
        .await;
    admin
        .made("/api/v1/incidents", json!({"title": "Credential leak"}))
        .await;
    let (status, err) = upload(
        &insider,
        "INC-1",
        "big.log",
        "text/plain",
        vec![b'x'; 64 * 1024 + 1],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("64 KiB"),
        "{err}"
    );
    let (status, err) = upload(&insider, "INC-1", "empty.log", "text/plain", Vec::new()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "file");
    assert_eq!(app.count("attachments"), 0);

    let (status, secret) = upload(
        &admin,
        "INC-2",
        "keys.txt",
        "text/plain",
        b"rotated".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = admin
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-2/access",
            json!({"restricted": true, "users": [], "teams": []}),
        )
        .await;
    assert!(status.is_success());
    // An outsider: the same 404 as a missing file, for reading and for attaching.
    let outsider = Api::new(&small, app.token(Role::Responder));
    let hidden = fetch(&outsider, &secret["id"]).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let missing = fetch(&outsider, &json!(9999)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let (status, _) = upload(&outsider, "INC-2", "x.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = upload(&outsider, "inc%2D2", "x.txt", "text/plain", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for key in ["INC-2", "inc%2D2", "2"] {
        let (status, _) = outsider
            .get(&format!("/api/v1/incidents/{key}/attachments"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the list of {key}");
    }
    let (_, list) = admin.get("/api/v1/incidents/INC-2/attachments").await;
    assert_eq!(list["items"][0]["name"], "keys.txt");

    // Another server on the same database serves the same bytes.
    let (_, open) = upload(
        &insider,
        "INC-1",
        "a.log",
        "text/plain",
        b"line one".to_vec(),
    )
    .await;
    let there = fetch(&Api::new(&other, app.token(Role::Responder)), &open["id"]).await;
    assert_eq!(there.status(), StatusCode::OK);
    assert_eq!(there.bytes().await.unwrap().as_ref(), b"line one");

    // The incident page lists the evidence; only an admin may purge a file: the bytes
    // go, the record that it was there stays (410), audited.
    let responder = small.login_as(Role::Responder).await;
    let (_, page) = responder.get_text("/incidents/INC-1").await;
    assert!(
        page.contains(&format!("href=\"/attachments/{}\"", open["id"])),
        "listed"
    );
    let purge = format!("/attachments/{}/purge", open["id"]);
    assert_eq!(
        responder
            .post("/incidents/INC-1", &purge, &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let boss = Browser::new(&small);
    boss.login("boss", PASSWORD).await;
    let res = boss.post("/incidents/INC-1", &purge, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.get_text("/incidents/INC-1").await;
    assert!(
        page.contains("removed by an admin"),
        "the record stays on the page"
    );
    assert_eq!(
        fetch(&insider, &open["id"]).await.status(),
        StatusCode::GONE
    );
    assert_eq!(app.count("attachments"), 2);
    let (_, list) = insider.get("/api/v1/incidents/INC-1/attachments").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], open["id"]);
    assert!(list["items"][0]["purged_at"].is_string(), "{list}");
    assert_eq!(
        app.count_where("audit_log", "action = 'attachment.purge'"),
        1
    );
}
both_backends!(
    limits_restricted_incidents_and_two_servers,
    limits_restricted_incidents_and_two_servers
);

/// `postmortem.md` and the files of a bundle.
fn unpack(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            (path, content)
        })
        .collect()
}

async fn bundles_carry_the_evidence_both_ways(app: TestApp) {
    let api = Api::new(&app, app.token(Role::Responder));
    api.made("/api/v1/incidents", json!({"title": "Gateway errors"}))
        .await;
    let (_, graph) = upload(
        &api,
        "INC-1",
        "error rate.png",
        "image/png",
        png_with_exif(),
    )
    .await;
    let (_, log) = upload(
        &api,
        "INC-1",
        "gw-3.log",
        "text/plain",
        b"502 upstream\n".to_vec(),
    )
    .await;
    let (_, photo) = upload(&api, "INC-1", "rack.jpg", "image/jpeg", jpeg_with_exif()).await;
    assert_eq!(photo["content_type"], "image/jpeg");
    // Over two pieces: stored in three rows, served whole with its length.
    let big = long_log(PIECES_OF_TWO_AND_A_BIT);
    let (_, full) = upload(&api, "INC-1", "full.log", "text/plain", big.clone()).await;
    let res = fetch(&api, &full["id"]).await;
    assert_eq!(header(&res, "content-length"), big.len().to_string());
    assert_eq!(res.bytes().await.unwrap().to_vec(), big);
    api.made(
        "/api/v1/incidents/INC-1/timeline",
        json!({"kind": "investigation", "body": format!("The graph: ![graph](attachment:{}) and [the log](attachment:{}), ![rack](attachment:{}), [all of it](attachment:{})", graph["id"], log["id"], photo["id"], full["id"])}),
    )
    .await;
    let (status, _) = api
        .send(
            reqwest::Method::PUT,
            "/api/v1/incidents/INC-1/postmortem",
            json!({"version": 0, "summary": format!("Errors spiked: ![graph](attachment:{})", graph["id"])}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The plain Markdown links the files on this server.
    let (_, md) = api.get_text("/api/v1/incidents/INC-1/postmortem.md").await;
    assert!(
        md.contains(&format!("/attachments/{})", graph["id"])),
        "{md}"
    );
    assert!(!md.contains("(attachment:"), "{md}");

    // The bundle: the document with relative links, and the files beside it.
    let res = api
        .client
        .get(format!(
            "{}/api/v1/incidents/INC-1/postmortem.tar.gz",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/gzip");
    let first = res.bytes().await.unwrap().to_vec();
    let files = unpack(&first);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    let sha = |v: &Value| v["sha256"].as_str().unwrap()[..12].to_string();
    let png_path = format!("attachments/{}-error-rate.png", sha(&graph));
    let log_path = format!("attachments/{}-gw-3.log", sha(&log));
    let jpg_path = format!("attachments/{}-rack.jpg", sha(&photo));
    let full_path = format!("attachments/{}-full.log", sha(&full));
    let mut expected = vec![
        png_path.as_str(),
        log_path.as_str(),
        jpg_path.as_str(),
        full_path.as_str(),
    ];
    expected.sort();
    expected.insert(0, "postmortem.md");
    assert_eq!(names, expected);
    let doc = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(doc.contains(&format!("![graph]({png_path})")), "{doc}");
    assert!(doc.contains(&format!("[the log]({log_path})")), "{doc}");
    assert!(!doc.contains("attachment:"));
    let log_file = files.iter().find(|f| f.0 == log_path).unwrap();
    assert_eq!(log_file.1, b"502 upstream\n");
    assert_eq!(files.iter().find(|f| f.0 == full_path).unwrap().1, big);

    // Imported (as the CLI does) and exported again: the same files, the same document
    // but for its key.
    let mut conn = app.connection();
    let incident = hindsight::attachments::bundle::unpack_and_store(
        &mut conn,
        &first,
        hindsight::postmortems::import::Again::Allow,
        20 * 1024 * 1024,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap();
    drop(conn);
    let key = incident.key();
    assert_eq!(key, "INC-2");
    let (_, page) = api.get(&format!("/api/v1/incidents/{key}")).await;
    let body = page["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["body"].as_str().filter(|b| b.starts_with("The graph")))
        .unwrap()
        .to_string();
    assert!(
        body.contains("(attachment:") && !body.contains("attachments/"),
        "{body}"
    );
    let again = api
        .client
        .get(format!(
            "{}/api/v1/incidents/{key}/postmortem.tar.gz",
            api.base
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let second = unpack(&again);
    assert_eq!(second.len(), files.len());
    for (a, b) in files.iter().zip(second.iter()).skip(1) {
        assert_eq!(a, b, "file {} round-trips exactly", a.0);
    }
    // An import keeps the document's author in its audit entry, not as the author.
    let normalized = |d: &[u8]| {
        String::from_utf8(d.to_vec())
            .unwrap()
            .replace("INC-2", "INC-1")
            .lines()
            .filter(|l| !l.starts_with("author:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(normalized(&second[0].1), normalized(&files[0].1));
    // Stored once: the second incident's files are the first's bytes (the JPEG too: it is
    // not re-encoded a second time), in one piece each but the long log's three.
    assert_eq!(app.count("attachment_blobs"), 4);
    assert_eq!(app.count("attachment_chunks"), 6);

    // The command line: import the bundle into a new database, back it up (the files are
    // in the copy), export it as a bundle again.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let file = dir.path().join("in.tar.gz");
    std::fs::write(&file, &first).unwrap();
    assert_eq!(
        crate::binary::cli(&db, &["import", &file.to_string_lossy()], ""),
        "INC-1"
    );
    let copy = dir.path().join("copy.db");
    crate::binary::cli(&db, &["backup", &copy.to_string_lossy()], "");
    let pieces: i64 = {
        use diesel::prelude::*;
        let mut c = diesel::SqliteConnection::establish(&copy.to_string_lossy()).unwrap();
        hindsight::db::schema::attachment_chunks::table
            .count()
            .get_result(&mut c)
            .unwrap()
    };
    assert_eq!(pieces, 6, "the backup holds the files");
    let out = dir.path().join("out.tar.gz");
    crate::binary::cli(
        &db,
        &["export", "INC-1", "--bundle", &out.to_string_lossy()],
        "",
    );
    let third = unpack(&std::fs::read(&out).unwrap());
    assert_eq!(
        third[1..],
        files[1..],
        "the same files from the command line"
    );

    // A bundle that links to a file it lacks is refused whole.
    let broken = {
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        let text = format!("{}\n", doc);
        let mut header = tar::Header::new_ustar();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, "postmortem.md", text.as_bytes())
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    };
    let before = app.count("incidents");
    let mut conn = app.connection();
    let err = hindsight::attachments::bundle::unpack_and_store(
        &mut conn,
        &broken,
        hindsight::postmortems::import::Again::Allow,
        20 * 1024 * 1024,
        &hindsight::audit::Actor::system("test"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("has no attachments/"), "{err}");
    drop(conn);
    assert_eq!(app.count("incidents"), before);
}
both_backends!(
    bundles_carry_the_evidence_both_ways,
    bundles_carry_the_evidence_both_ways
);
