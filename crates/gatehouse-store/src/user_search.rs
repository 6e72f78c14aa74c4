//! The user list and the admin search over it, fast at a million users: a search of three
//! characters or more narrows the rows through the trigram index of migration 0020 (SQLite FTS5,
//! PostgreSQL pg_trgm); keyset paging (`id > after`) costs the same at any depth; and the total
//! is counted exactly only up to [`COUNT_EXACT_UP_TO`].

use gatehouse_core::ids::UserId;

use crate::listing::{like_pattern, Page};
use crate::sql::{fetch_all_planned, Binds, Row};
use crate::users::{user_columns_u, UserRecord};
use crate::{on_pool, Database, Store, StoreError, StoreFuture};

/// Totals up to this many users are counted row by row; above it the list says its count is an
/// estimate.
pub const COUNT_EXACT_UP_TO: i64 = 10_000;

/// How many matches a search counts before it estimates.
const COUNT_CAP: i64 = COUNT_EXACT_UP_TO + 1;

/// Which users of the list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserPage {
    /// Every match.
    All,
    /// The `number`th page of `size` (Melody's paging: the database skips the pages before).
    Number(Page),
    /// The `size` matches that follow the user `after` in id order (from the first when `None`):
    /// the same cost at any depth.
    After { after: Option<UserId>, size: u32 },
}

/// One page of the user list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserList {
    /// Oldest first.
    pub users: Vec<UserRecord>,
    /// How many users match in all: exact up to [`COUNT_EXACT_UP_TO`], an estimate above.
    pub count: i64,
    pub count_is_estimate: bool,
    /// The `after` of the next page, when this page is full (there may be more).
    pub next_after: Option<UserId>,
}

pub trait UserSearchStore {
    /// Live users matching `search` (a case-insensitive substring of "first last email"), in id
    /// order, as `page` picks them.
    fn search_users(&self, search: Option<&str>, page: UserPage) -> impl StoreFuture<UserList>;
}

/// The expression a search matches, as PostgreSQL's trigram index holds it (migration 0020):
/// any change here must be made there too, or the index stops being used.
macro_rules! search_text {
    () => {
        "LOWER(COALESCE(u.first_name, '') || ' ' || COALESCE(u.last_name, '') || ' ' || \
         COALESCE(u.email, ''))"
    };
}

/// The rows of a page: `$1` limit, `$2` the id to start after, `$3` offset.
const ROWS: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    " FROM users u WHERE u.deleted_at IS NULL AND u.id > $2 ORDER BY u.id LIMIT $1 OFFSET $3"
);

/// The rows of a page of a search read row by row (PostgreSQL's planner picks its trigram index
/// for `$4`, the `LIKE` pattern; SQLite uses this only for one or two characters).
const SCAN_ROWS: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    " FROM users u WHERE u.deleted_at IS NULL AND u.id > $2 AND ",
    search_text!(),
    " LIKE $4 ESCAPE '\\' ORDER BY u.id LIMIT $1 OFFSET $3"
);

/// SQLite: the candidates from the FTS5 trigram table (`$5`, a phrase), each rechecked against
/// its row so the answer is exactly the substring match's. FTS5 hands rowids over in order, so
/// a page stops reading at its last row.
const FTS_ROWS: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    " FROM users_search s JOIN users u ON u.id = s.rowid WHERE s.search_text MATCH $5 \
     AND s.rowid > $2 AND u.deleted_at IS NULL AND ",
    search_text!(),
    " LIKE $4 ESCAPE '\\' ORDER BY s.rowid LIMIT $1 OFFSET $3"
);

/// Counts up to `$1` matches, and the id of the last one counted: `$2` the pattern.
const SCAN_COUNT: &str = concat!(
    "SELECT COUNT(*), COALESCE(MAX(m.id), 0) FROM (SELECT u.id FROM users u \
     WHERE u.deleted_at IS NULL AND ",
    search_text!(),
    " LIKE $2 ESCAPE '\\' ORDER BY u.id LIMIT $1) m"
);

/// [`SCAN_COUNT`] through SQLite's trigram table (`$3`, a phrase).
const FTS_COUNT: &str = concat!(
    "SELECT COUNT(*), COALESCE(MAX(m.id), 0) FROM (SELECT u.id FROM users_search s \
     JOIN users u ON u.id = s.rowid WHERE s.search_text MATCH $3 AND u.deleted_at IS NULL AND ",
    search_text!(),
    " LIKE $2 ESCAPE '\\' ORDER BY s.rowid LIMIT $1) m"
);

/// A page within the first [`COUNT_EXACT_UP_TO`] matches and their count, reading the matches
/// once: `$1` how many to count, `$2` the pattern, `$3` limit, `$4` offset (each row carries the
/// count and the last id counted, as [`SCAN_COUNT`] gives them).
const SCAN_PAGE_COUNTED: &str = concat!(
    "WITH m AS MATERIALIZED (SELECT u.id FROM users u WHERE u.deleted_at IS NULL AND ",
    search_text!(),
    " LIKE $2 ESCAPE '\\' ORDER BY u.id LIMIT $1) SELECT ",
    user_columns_u!(),
    ", (SELECT COUNT(*) FROM m) AS match_count, (SELECT COALESCE(MAX(id), 0) FROM m) \
     AS last_match FROM users u WHERE u.id IN (SELECT id FROM m ORDER BY id LIMIT $3 OFFSET $4) \
     ORDER BY u.id"
);

/// [`SCAN_PAGE_COUNTED`] through SQLite's trigram table (`$5`, a phrase).
const FTS_PAGE_COUNTED: &str = concat!(
    "WITH m AS MATERIALIZED (SELECT u.id FROM users_search s JOIN users u ON u.id = s.rowid \
     WHERE s.search_text MATCH $5 AND u.deleted_at IS NULL AND ",
    search_text!(),
    " LIKE $2 ESCAPE '\\' ORDER BY s.rowid LIMIT $1) SELECT ",
    user_columns_u!(),
    ", (SELECT COUNT(*) FROM m) AS match_count, (SELECT COALESCE(MAX(id), 0) FROM m) \
     AS last_match FROM users u WHERE u.id IN (SELECT id FROM m ORDER BY id LIMIT $3 OFFSET $4) \
     ORDER BY u.id"
);

/// A row of [`SCAN_PAGE_COUNTED`].
#[derive(sqlx::FromRow)]
struct CountedUser {
    #[sqlx(flatten)]
    user: UserRecord,
    match_count: i64,
    last_match: i64,
}

/// Live users as migration 0018's triggers count them.
const LIVE_USERS: &str = "SELECT count FROM user_counts WHERE name = 'users'";
const COUNT_LIVE: &str = "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL";
const LAST_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM users";

/// A search term as the queries take it.
struct Term {
    /// For `LIKE … ESCAPE '\'`.
    pattern: String,
    /// For SQLite's trigram table: a phrase of the term, when it is long enough to have trigrams.
    phrase: Option<String>,
}

impl Term {
    fn parse(search: Option<&str>) -> Option<Self> {
        let term = search.map(str::trim).filter(|s| !s.is_empty())?;
        let lowered = term.to_lowercase();
        let phrase =
            (lowered.chars().count() >= 3).then(|| format!("\"{}\"", lowered.replace('"', "\"\"")));
        Some(Self {
            pattern: like_pattern(term),
            phrase,
        })
    }
}

impl Store {
    /// [`fetch_all_planned`] on the store's pool.
    async fn search_rows<'q, O: Row>(
        &self,
        sql: &'q str,
        params: impl Binds<'q>,
    ) -> Result<Vec<O>, StoreError> {
        on_pool!(self, |pool| fetch_all_planned(pool, sql, params).await)
    }

    /// The one row of a search's count, planned as [`Store::search_rows`] plans.
    async fn search_count<'q>(
        &self,
        sql: &'q str,
        params: impl Binds<'q>,
    ) -> Result<(i64, i64), StoreError> {
        let rows: Vec<(i64, i64)> = self.search_rows(sql, params).await?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The FTS5 phrase to narrow a search by: SQLite only (PostgreSQL's planner finds its index
    /// from the `LIKE` itself), and only for a term with trigrams.
    fn fts_phrase<'t>(&self, term: &'t Term) -> Option<&'t str> {
        match self.db {
            Database::Sqlite(_) => term.phrase.as_deref(),
            Database::Postgres(_) => None,
        }
    }

    /// How many live users match `term`: exact up to [`COUNT_EXACT_UP_TO`]; above it the live
    /// total (no search), or the matches among the first ids extrapolated to every id.
    async fn count_users(&self, term: Option<&Term>) -> Result<(i64, bool), StoreError> {
        let Some(term) = term else {
            let live: Option<(i64,)> = self.fetch_optional(LIVE_USERS, ()).await?;
            return match live {
                Some((n,)) if n > COUNT_EXACT_UP_TO => Ok((n, true)),
                _ => {
                    let (n,): (i64,) = self.fetch_one(COUNT_LIVE, ()).await?;
                    Ok((n, false))
                }
            };
        };
        let (counted, last_counted) = match self.fts_phrase(term) {
            Some(phrase) => {
                self.search_count(FTS_COUNT, (COUNT_CAP, &term.pattern, phrase))
                    .await?
            }
            None => {
                self.search_count(SCAN_COUNT, (COUNT_CAP, &term.pattern))
                    .await?
            }
        };
        self.estimate(counted, last_counted).await
    }

    /// The count of a search from the first `counted` (at most [`COUNT_CAP`]) matches, the last
    /// of them `last_counted`: exact below the cap; at it, `cap` matches among the ids up to
    /// `last_counted` make as many again per as many ids up to the last.
    async fn estimate(&self, counted: i64, last_counted: i64) -> Result<(i64, bool), StoreError> {
        if counted < COUNT_CAP || last_counted <= 0 {
            return Ok((counted, false));
        }
        let (last_id,): (i64,) = self.fetch_one(LAST_ID, ()).await?;
        let estimate = i128::from(COUNT_CAP) * i128::from(last_id) / i128::from(last_counted);
        Ok((i64::try_from(estimate).unwrap_or(i64::MAX), true))
    }

    /// A search's page that lies within its first [`COUNT_CAP`] matches, and its count, from one
    /// reading of the matches (the index is the cost of a search; reading it twice, for the page
    /// and for the count, doubles it). `None` when the page is empty: the count is then asked
    /// for on its own.
    async fn counted_page(
        &self,
        term: &Term,
        limit: i64,
        offset: i64,
    ) -> Result<Option<(Vec<UserRecord>, i64, bool)>, StoreError> {
        let rows: Vec<CountedUser> = match self.fts_phrase(term) {
            Some(phrase) => {
                let values = (COUNT_CAP, &term.pattern, limit, offset, phrase);
                self.search_rows(FTS_PAGE_COUNTED, values).await?
            }
            None => {
                let values = (COUNT_CAP, &term.pattern, limit, offset);
                self.search_rows(SCAN_PAGE_COUNTED, values).await?
            }
        };
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let (count, is_estimate) = self.estimate(first.match_count, first.last_match).await?;
        let users = rows.into_iter().map(|r| r.user).collect();
        Ok(Some((users, count, is_estimate)))
    }
}

impl UserSearchStore for Store {
    async fn search_users(
        &self,
        search: Option<&str>,
        page: UserPage,
    ) -> Result<UserList, StoreError> {
        // No name or email holds a NUL, and neither database takes one inside a search (FTS5
        // reads it as the string's end, PostgreSQL refuses it in text): nothing matches.
        if search.is_some_and(|s| s.contains('\0')) {
            return Ok(UserList {
                users: Vec::new(),
                count: 0,
                count_is_estimate: false,
                next_after: None,
            });
        }
        let term = Term::parse(search);
        let (limit, after, offset) = match page {
            UserPage::All => (i64::MAX, 0, 0),
            UserPage::Number(page) => {
                let (limit, offset) = Page::limit_offset(Some(page));
                (limit, 0, offset)
            }
            UserPage::After { after, size } => (i64::from(size), after.map_or(0, UserId::get), 0),
        };
        // The usual search, its first pages: the page and the count from one reading.
        if let Some(term) = &term {
            let within = limit
                .checked_add(offset)
                .is_some_and(|end| end <= COUNT_CAP);
            if after == 0 && within {
                if let Some((users, count, count_is_estimate)) =
                    self.counted_page(term, limit, offset).await?
                {
                    let full = i64::try_from(users.len()).ok() == Some(limit);
                    let next_after = users.last().filter(|_| full).map(|u| u.id);
                    return Ok(UserList {
                        users,
                        count,
                        count_is_estimate,
                        next_after,
                    });
                }
            }
        }
        let users: Vec<UserRecord> = match &term {
            None => self.fetch_all(ROWS, (limit, after, offset)).await?,
            Some(term) => match self.fts_phrase(term) {
                Some(phrase) => {
                    self.search_rows(FTS_ROWS, (limit, after, offset, &term.pattern, phrase))
                        .await?
                }
                None => {
                    self.search_rows(SCAN_ROWS, (limit, after, offset, &term.pattern))
                        .await?
                }
            },
        };
        let (count, count_is_estimate) = self.count_users(term.as_ref()).await?;
        let full = page != UserPage::All && i64::try_from(users.len()).ok() == Some(limit);
        let next_after = users.last().filter(|_| full).map(|u| u.id);
        Ok(UserList {
            users,
            count,
            count_is_estimate,
            next_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{store, user};
    use crate::{UserChanges, UserStore};

    async fn named(store: &Store, email: &str, first: &str, last: &str) -> UserRecord {
        let found = user(store, email).await;
        let names = UserChanges {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            ..UserChanges::default()
        };
        store
            .update_user(found.id, &names, None)
            .await
            .expect("name");
        found
    }

    async fn emails(store: &Store, search: &str) -> Vec<String> {
        let found = store
            .search_users(Some(search), UserPage::All)
            .await
            .expect("search");
        assert_eq!(found.count, i64::try_from(found.users.len()).expect("len"));
        assert!(!found.count_is_estimate);
        found.users.into_iter().filter_map(|u| u.email).collect()
    }

    #[tokio::test]
    async fn a_search_matches_a_case_insensitive_substring_of_name_and_email() {
        let store = store().await;
        named(&store, "ada@example.com", "Ada", "Lovelace").await;
        named(&store, "grace@navy.mil", "Grace", "Hopper").await;
        named(&store, "o'brien_1%@example.com", "Flann", "O\"Brien").await;
        assert_eq!(emails(&store, "LOVE").await, ["ada@example.com"]);
        assert_eq!(emails(&store, "ada lov").await, ["ada@example.com"]);
        assert_eq!(emails(&store, "navy").await, ["grace@navy.mil"]);
        assert_eq!(emails(&store, "example.com").await.len(), 2);
        // One or two characters have no trigram: the rows are read instead.
        assert_eq!(emails(&store, "y").await, ["grace@navy.mil"]);
        assert_eq!(emails(&store, "ho").await, ["grace@navy.mil"]);
        // Wildcards and quotes match themselves.
        assert_eq!(emails(&store, "_1%").await, ["o'brien_1%@example.com"]);
        assert_eq!(emails(&store, "%").await, ["o'brien_1%@example.com"]);
        assert_eq!(emails(&store, "o\"b").await, ["o'brien_1%@example.com"]);
        assert_eq!(emails(&store, "o'b").await, ["o'brien_1%@example.com"]);
        assert!(emails(&store, "a_a").await.is_empty());
    }

    #[tokio::test]
    async fn the_index_follows_renames_and_deletions() {
        let store = store().await;
        let ada = named(&store, "ada@example.com", "Ada", "Lovelace").await;
        let renamed = UserChanges {
            last_name: Some("Byron".into()),
            ..UserChanges::default()
        };
        store
            .update_user(ada.id, &renamed, None)
            .await
            .expect("rename");
        assert!(emails(&store, "lovelace").await.is_empty());
        assert_eq!(emails(&store, "byron").await, ["ada@example.com"]);
        store.delete_user(ada.id).await.expect("delete");
        assert!(emails(&store, "byron").await.is_empty());
        assert!(emails(&store, "ada").await.is_empty());
    }

    #[tokio::test]
    async fn keyset_pages_walk_every_match_once() {
        let store = store().await;
        for n in 0..7 {
            user(&store, &format!("walker{n}@example.com")).await;
        }
        user(&store, "other@example.com").await;
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .search_users(Some("walker"), UserPage::After { after, size: 3 })
                .await
                .expect("page");
            assert_eq!(page.count, 7);
            seen.extend(page.users.iter().filter_map(|u| u.email.clone()));
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let expected: Vec<String> = (0..7).map(|n| format!("walker{n}@example.com")).collect();
        assert_eq!(seen, expected);
    }
}
