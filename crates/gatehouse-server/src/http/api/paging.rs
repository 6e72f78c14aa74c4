//! `page_size` / `page_number` / `search` query parameters of list endpoints.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use gatehouse_store::{Page, UserRecord};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::http::error::ApiError;

/// Paging and search as list endpoints take them: both `page_size` and `page_number` (≥ 1) to
/// get one page, neither for everything.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Rows per page (≥ 1); with `page_number`.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_size: Option<u32>,
    /// Page to return, from 1; with `page_size`.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_number: Option<u32>,
    /// Matches first name, last name or email (case-insensitive substring).
    pub search: Option<String>,
    /// Only groups of this organization (org groups list).
    pub org_id: Option<i64>,
}

impl ListQuery {
    pub fn page(&self) -> Option<Page> {
        match (self.page_size, self.page_number) {
            (Some(size), Some(number)) => Some(Page { size, number }),
            _ => None,
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

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The query string could not be read".into()))?;
        let org_id = raw
            .get("org_id")
            .map(|v| {
                v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::bad_request("org_id must be a positive integer".into())
                })
            })
            .transpose()?;
        Ok(Self {
            page_size: positive("page_size", raw.get("page_size"))?,
            page_number: positive("page_number", raw.get("page_number"))?,
            search: raw.get("search").cloned(),
            org_id,
        })
    }
}

/// `{users, count}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersPage {
    pub users: Vec<super::views::UserView>,
    /// Every matching user, not only this page.
    pub count: i64,
}

impl UsersPage {
    /// One page of users and the count of every match, as the services return them.
    pub fn new(state: &crate::state::AppState, (users, count): (Vec<UserRecord>, i64)) -> Self {
        Self {
            users: super::views::user_views(state, &users),
            count,
        }
    }
}
