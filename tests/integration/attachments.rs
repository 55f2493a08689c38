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
    assert_eq!(app.count("attachment_blobs"), 4);
    assert_eq!(app.count("attachments"), 5);

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
    assert_eq!(app.count("attachments"), 6);
}
both_backends!(
    files_are_evidence_served_safely,
    files_are_evidence_served_safely
);

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

    // An admin's purge: the file goes, the record of it stays (410), audited.
    let mut conn = app.connection();
    let u = hindsight::auth::users::find_by_username(&mut conn, "boss")
        .unwrap()
        .unwrap();
    hindsight::attachments::purge(
        &mut conn,
        hindsight::ids::AttachmentId(open["id"].as_i64().unwrap() as i32),
        &hindsight::audit::Actor::user(&u, "test"),
    )
    .unwrap();
    drop(conn);
    assert_eq!(
        fetch(&insider, &open["id"]).await.status(),
        StatusCode::GONE
    );
    assert_eq!(app.count("attachments"), 2);
    assert_eq!(
        app.count_where("audit_log", "action = 'attachment.purge'"),
        1
    );
}
both_backends!(
    limits_restricted_incidents_and_two_servers,
    limits_restricted_incidents_and_two_servers
);
