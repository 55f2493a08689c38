//! `/search`: the header's search box. A key jumps to the incident; words answer with the
//! incidents whose record holds them, each with where and a marked snippet.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::query::{Query, QUERY_MAX};
use super::{jump, search, Found};
use crate::access::{Hidden, Reader};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::incidents::web::list::IncidentRow;
use crate::state::AppState;
use crate::time::now;
use crate::web::{page_number, render, see_other, url_encode, Layout, Pager};

const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

struct ResultView {
    row: IncidentRow,
    hits: Vec<super::Hit>,
    more: usize,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    results: Vec<ResultView>,
    pager: Pager,
    error: Option<String>,
    /// Something was searched for (not the empty form).
    searched: bool,
}

/// `GET /search?q=`
pub async fn search_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let text: String = params.q.trim().chars().take(QUERY_MAX).collect();
    let page = page_number(params.page.as_deref())?;
    let query = Query::parse(&text);
    let reader = Reader::of(&user.user);
    if query.key.is_some() {
        // A key the reader may see goes straight there; otherwise it is searched as text,
        // so a hidden incident answers exactly as a missing one.
        let q = query.clone();
        if let Some(key) = state.db.read(move |conn| jump(conn, reader, &q)).await? {
            return Ok(see_other(&format!("/incidents/{key}")));
        }
    }
    let searched = !text.is_empty();
    let (outcome, error) = if query.has_words() {
        let found = state
            .db
            .read(move |conn| {
                let hidden = Hidden::from_reader(conn, reader)?;
                search(conn, &hidden, &query, page, PER_PAGE)
            })
            .await;
        match found {
            Ok(r) => (Some(r), None),
            Err(e @ AppError::Invalid { .. }) => (None, Some(e.public_message())),
            Err(e) => return Err(e),
        }
    } else if searched {
        (None, Some("Type a word to search for: filters and -words narrow a search, they do not make one.".to_string()))
    } else {
        (None, None)
    };
    let t = now();
    let zone = user.user.zone();
    let (results, total) = match outcome {
        Some(r) => (
            r.found
                .into_iter()
                .map(
                    |Found {
                         incident,
                         hits,
                         more,
                     }| ResultView {
                        row: IncidentRow::of(&incident, t, zone),
                        hits,
                        more,
                    },
                )
                .collect(),
            r.total,
        ),
        None => (vec![], 0),
    };
    let title = if searched {
        format!("Search: {text}")
    } else {
        "Search".to_string()
    };
    render(&SearchPage {
        layout: Layout::new(&user, "search", title),
        pager: Pager::new(
            "/search",
            &format!("q={}", url_encode(&text)),
            page,
            PER_PAGE,
            total,
        ),
        q: text,
        results,
        error,
        searched,
    })
}
