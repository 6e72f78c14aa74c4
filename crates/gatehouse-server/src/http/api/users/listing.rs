//! `GET /api/v1/users`'s query and answer: Melody's `page_size`/`page_number` and `search`, plus
//! a keyset cursor (`after`) for deep pages and a count that says when it is an estimate.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::ids::UserId;
use gatehouse_store::{Page, UserList, UserPage};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::http::api::views::{user_views, UserView};
use crate::http::error::ApiError;
use crate::state::AppState;

/// What a cursor says before the id, so that no other number passes for one.
const CURSOR_PREFIX: &str = "user:";

/// Paging and search of the user list. `page_size` with `page_number` gives Melody's numbered
/// pages, and without both every user, as Melody answers; `page_size` with `after` (the
/// `nextCursor` of an earlier page, numbered or not) the page after that cursor, as fast at the
/// millionth user as at the first.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Rows per page (≥ 1): with `page_number`, that page; with `after`, the page after the
    /// cursor; alone, ignored (every user, as Melody answers).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_size: Option<u32>,
    /// Page to return, from 1; with `page_size`. Not with `after`.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_number: Option<u32>,
    /// The `nextCursor` of the previous page: returns the `page_size` users that follow it.
    /// Not with `page_number`.
    #[param(value_type = Option<String>)]
    pub after: Option<UserId>,
    /// Matches first name, last name or email (case-insensitive substring).
    pub search: Option<String>,
}

impl UserListQuery {
    pub fn page(&self) -> UserPage {
        match (self.page_size, self.page_number, self.after) {
            (Some(size), Some(number), _) => UserPage::Number(Page { size, number }),
            (Some(size), None, Some(after)) => UserPage::After {
                after: Some(after),
                size,
            },
            _ => UserPage::All,
        }
    }
}

fn positive(name: &str, raw: Option<&String>) -> Result<Option<u32>, ApiError> {
    raw.map(|v| {
        v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_request(format!("{name} must be a whole number of at least 1"))
        })
    })
    .transpose()
}

/// The cursor of the page that follows the user `id`.
pub fn cursor(id: UserId) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

fn parse_cursor(raw: &str) -> Option<UserId> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let id: i64 = text.strip_prefix(CURSOR_PREFIX)?.parse().ok()?;
    (id >= 1).then(|| UserId::new(id))
}

impl<S: Send + Sync> FromRequestParts<S> for UserListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The query string could not be read".into()))?;
        let page_size = positive("page_size", raw.get("page_size"))?;
        let page_number = positive("page_number", raw.get("page_number"))?;
        let after = raw
            .get("after")
            .map(|v| {
                parse_cursor(v).ok_or_else(|| {
                    ApiError::bad_request(
                        "after must be the nextCursor of an earlier page of this list".into(),
                    )
                })
            })
            .transpose()?;
        if after.is_some() {
            if page_number.is_some() {
                return Err(ApiError::bad_request(
                    "after and page_number cannot be combined: give page_size with after to \
                     continue from a cursor, or page_size with page_number for a numbered page"
                        .into(),
                ));
            }
            if page_size.is_none() {
                return Err(ApiError::bad_request(
                    "after needs page_size: how many users to return after the cursor".into(),
                ));
            }
        }
        Ok(Self {
            page_size,
            page_number,
            after,
            search: raw.get("search").cloned(),
        })
    }
}

/// `{users, count, countIsEstimate, nextCursor}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListBody {
    pub users: Vec<UserView>,
    /// Every matching user, not only this page: exact up to 10,000, an estimate above
    /// (see `countIsEstimate`).
    pub count: i64,
    /// True when `count` is an estimate rather than an exact count (above 10,000 matches,
    /// counting them one by one would cost more than the page).
    pub count_is_estimate: bool,
    /// Pass as `after` (with `page_size`) for the next page; null when this page is the last or
    /// the list was not paged.
    pub next_cursor: Option<String>,
}

impl UserListBody {
    pub fn new(state: &AppState, found: UserList) -> Self {
        Self {
            users: user_views(state, &found.users),
            count: found.count,
            count_is_estimate: found.count_is_estimate,
            next_cursor: found.next_after.map(cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_its_user_and_nothing_else_does() {
        let id = UserId::new(1_000_000);
        assert_eq!(parse_cursor(&cursor(id)), Some(id));
        for bad in [
            "",
            "42",
            "dXNlcjo",
            "dXNlcjotMQ",
            "dXNlcjp4",
            "!!!",
            "dXNlcjow",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
