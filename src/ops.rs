//! Operations: request ids and access logs, Prometheus metrics, `/healthz`, `/metrics`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use tracing::Instrument;

use crate::error::AppError;
use crate::state::AppState;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives each request an id (logged and returned as `X-Request-Id`), logs it once, and
/// counts it under its route pattern (never the raw path, which would explode labels).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = crate::auth::random_token(8);
    let method = req.method().to_string();
    // The path only: query strings may carry tokens (setup links).
    let path = req.path().to_string();
    let client = crate::auth::extract::client_ip(req.request());
    let span = tracing::info_span!("request", request_id = %id, %method, %path, %client);
    let metrics = req.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "served"
        );
    });
    if let Some(state) = metrics {
        state.metrics.observe(method, route, status, elapsed);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    Ok(res)
}

/// Error pages of signed-in readers keep their header (Inbox, Declare, their menu): a page
/// error (not the API's, and not a 503, which must render without the database) is drawn
/// again with the reader's layout. The session is usually already loaded for the request.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    let redraw = (status.is_client_error() || status == StatusCode::INTERNAL_SERVER_ERROR)
        && !res.request().path().starts_with("/api/");
    let Some(crate::layout::ErrorText(message)) = redraw
        .then(|| {
            res.response()
                .extensions()
                .get::<crate::layout::ErrorText>()
                .cloned()
        })
        .flatten()
    else {
        return Ok(res);
    };
    let Ok(Some(user)) = crate::auth::CurrentUser::load(res.request()).await else {
        return Ok(res);
    };
    let layout =
        crate::layout::Layout::new(&user, "error", status.canonical_reason().unwrap_or("Error"));
    let (req, old) = res.into_parts();
    let mut page = crate::layout::error_page_with(status, &message, Some(layout));
    for (name, value) in old.headers() {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            page.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, page))
}

/// `HEAD` answers as `GET` would, without the body (load balancers and uptime checks send
/// it): the request is routed, authorized and handled as a `GET`, and the body dropped.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != actix_web::http::Method::HEAD {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    req.head_mut().method = actix_web::http::Method::GET;
    let res = next.call(req).await?;
    Ok(res.map_body(|head, _| {
        head.headers_mut().remove(header::CONTENT_LENGTH);
        BoxBody::new(())
    }))
}

/// Refuses, in the route's format and before any handler reads a filter, a URL longer than
/// `limits::URL_BYTES` (414) and a query string holding a control character that text may
/// not contain (400, see `crate::text`).
pub async fn check_url(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let length = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if length > crate::limits::URL_BYTES {
        return Err(crate::extract::reject(
            req.request(),
            AppError::UriTooLong(format!(
                "The URL is {length} bytes long; the limit is {}. Shorten the search or filters.",
                crate::limits::describe(crate::limits::URL_BYTES)
            )),
        ));
    }
    let query = req.query_string();
    if query.contains('%') {
        let decoded = percent_encoding::percent_decode_str(query).decode_utf8_lossy();
        if let Some((_, c)) = crate::text::refused_char(&decoded) {
            return Err(crate::extract::reject(
                req.request(),
                AppError::BadRequest(format!(
                    "The query string contains the control character U+{:04X}; remove it.",
                    c as u32
                )),
            ));
        }
    }
    next.call(req).await
}

/// Gives the whole request body a deadline (`Config::body_timeout`, 30 s): past it, the
/// body stream fails with a time-out that extractors answer with 408. The head has its own,
/// shorter limit (`client_request_timeout`); without this, a client trickling a body a byte
/// at a time held a connection (and a worker's attention) as long as it liked.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        if let Some(state) = req.app_data::<web::Data<AppState>>() {
            let deadline = state.config.body_timeout;
            let inner = req.take_payload();
            let timed = Deadline {
                inner,
                timer: Box::pin(actix_web::rt::time::sleep(deadline)),
            };
            req.set_payload(actix_web::dev::Payload::from(Box::pin(timed) as BodyStream));
        }
    }
    next.call(req).await
}

type BodyStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>>,
>;

/// A body stream that fails once its timer fires.
struct Deadline {
    inner: actix_web::dev::Payload,
    timer: std::pin::Pin<Box<actix_web::rt::time::Sleep>>,
}

impl futures_util::Stream for Deadline {
    type Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        if self.timer.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, BODY_DEADLINE_PASSED),
            ))));
        }
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The message of a body that missed its deadline (multipart errors carry only text).
pub const BODY_DEADLINE_PASSED: &str = "the request body did not arrive in time";

/// A multipart upload that could not be read: 408 past the body deadline, else 400.
pub fn multipart_error(e: actix_multipart::MultipartError) -> AppError {
    if e.to_string().contains(BODY_DEADLINE_PASSED) {
        AppError::Timeout("The upload did not arrive in time.".into())
    } else {
        AppError::BadRequest(format!("Could not read the upload: {e}"))
    }
}

/// Answers conditional GETs: a 200 to a GET gets an `ETag` (a hash of the body), and a
/// request whose `If-None-Match` matches gets `304 Not Modified` without the body.
pub async fn conditional(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let is_get = req.method() == actix_web::http::Method::GET;
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = next.call(req).await?;
    // Streams (live updates) are never buffered to be hashed.
    let streaming = matches!(
        res.response().body().size(),
        actix_web::body::BodySize::Stream
    );
    // A handler that set its own ETag (the status page's, made once per revision) answered
    // `If-None-Match` itself: its body is not copied and hashed again.
    let tagged = res.headers().contains_key(header::ETAG);
    if !is_get || res.status() != StatusCode::OK || streaming || tagged {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(ServiceResponse::new(
                req,
                HttpResponse::InternalServerError().finish(),
            ))
        }
    };
    // CRC-32 (SIMD, already built for gzip) and the length: an ETag needs no collision
    // resistance against attackers (it only lets a client skip a download it already has),
    // and SipHash over a 250 KiB page was a tenth of the page's cost in the profile.
    let etag = format!("\"{:08x}-{:x}\"", crc32fast::hash(&bytes), bytes.len());
    let matches =
        if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, value);
    }
    if matches {
        let mut not_modified = HttpResponse::NotModified();
        for (name, value) in res.headers() {
            if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                not_modified.insert_header((name.clone(), value.clone()));
            }
        }
        return Ok(ServiceResponse::new(req, not_modified.finish()));
    }
    Ok(ServiceResponse::new(req, res.set_body(BoxBody::new(bytes))))
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.config.database_url.backend_name();
    let ok = state
        .db
        .read(|conn| {
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await;
    match ok {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": backend})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "unavailable", "database": backend}))
        }
    }
}

/// `GET /metrics` in Prometheus text format; with `HINDSIGHT_METRICS_TOKEN` set, only for
/// `Authorization: Bearer <that token>` (compared in constant time).
pub async fn metrics(req: actix_web::HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(expected) = &state.config.metrics_token {
        let given = crate::auth::extract::bearer(&req).unwrap_or("");
        if !crate::auth::secrets_match(given, expected) {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .content_type("text/plain; charset=utf-8")
                .body("Send the metrics token as `Authorization: Bearer <token>`.\n");
        }
    }
    let pool = state.db.pool().state();
    match state
        .metrics
        .encode(pool.connections, pool.idle_connections)
    {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
