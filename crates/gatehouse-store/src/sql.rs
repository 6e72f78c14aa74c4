//! One statement and its values in one call, on either database:
//! `sql::execute(&mut *tx, SQL, (user_id, now))`. The values of the tuple are bound to `$1…$N`
//! in order, exactly as a chain of `.bind()` calls binds them, and a value that fails to encode
//! fails the statement with the error `.bind()` gives, before anything is sent.

use sqlx::error::BoxDynError;
use sqlx::{Arguments, Database, Encode, Executor, FromRow, IntoArguments, Postgres, Sqlite, Type};

use crate::{StoreError, StoreFuture};

/// The values of one statement, bound in order: a tuple of bindable values, or `()`.
pub(crate) trait Params<'q, DB: Database>: Send {
    type Arguments: IntoArguments<'q, DB> + 'q;
    fn into_arguments(self) -> Result<Self::Arguments, BoxDynError>;
}

/// Adds one value, failing as `Query::bind` does.
fn add<'q, DB: Database, T: 'q + Encode<'q, DB> + Type<DB>>(
    arguments: &mut DB::Arguments<'q>,
    value: T,
) -> Result<(), BoxDynError> {
    let number = arguments.len() + 1;
    arguments
        .add(value)
        .map_err(|error| format!("Encoding argument ${number} failed: {error}").into())
}

/// Implements [`Params`] for the tuple of the given names and for each shorter tail of it.
macro_rules! tuple_params {
    () => {
        tuple_params!(@impl);
    };
    ($head:ident $(, $tail:ident)*) => {
        tuple_params!(@impl $head $(, $tail)*);
        tuple_params!($($tail),*);
    };
    (@impl $($value:ident),*) => {
        impl<'q, DB: Database, $($value),*> Params<'q, DB> for ($($value,)*)
        where
            DB::Arguments<'q>: IntoArguments<'q, DB>,
            $($value: 'q + Send + Encode<'q, DB> + Type<DB>,)*
        {
            type Arguments = DB::Arguments<'q>;

            #[allow(non_snake_case, unused_mut)]
            fn into_arguments(self) -> Result<Self::Arguments, BoxDynError> {
                let ($($value,)*) = self;
                let mut arguments = DB::Arguments::<'q>::default();
                $(add::<DB, _>(&mut arguments, $value)?;)*
                Ok(arguments)
            }
        }
    };
}

// The longest statement (an organization's update) binds 22 values.
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V);

/// Values that bind on both databases: what the store's one set of queries takes.
pub(crate) trait Binds<'q>: Params<'q, Sqlite> + Params<'q, Postgres> {}

impl<'q, T: Params<'q, Sqlite> + Params<'q, Postgres>> Binds<'q> for T {}

/// A row type `DB` reads.
pub(crate) trait RowOf<DB: Database>: Send + Unpin + for<'r> FromRow<'r, DB::Row> {}

impl<DB: Database, T: Send + Unpin + for<'r> FromRow<'r, DB::Row>> RowOf<DB> for T {}

/// A row type both databases read.
pub(crate) trait Row: RowOf<Sqlite> + RowOf<Postgres> {}

impl<T: RowOf<Sqlite> + RowOf<Postgres>> Row for T {}

// Each call below turns its values into arguments at once and returns a future that holds only
// those: a future that held the tuple would not be provably `Send` inside the store's trait
// methods (the compiler loses the lifetimes of borrowed values there).

/// Runs a statement; what the database says of it (`rows_affected()`).
pub(crate) fn execute<'q, 'c, DB, E, P>(
    conn: E,
    sql: &'q str,
    params: P,
) -> impl StoreFuture<DB::QueryResult> + use<'q, 'c, DB, E, P>
where
    DB: Database,
    E: Executor<'c, Database = DB>,
    P: Params<'q, DB>,
{
    let arguments = params.into_arguments();
    async move {
        let arguments = arguments.map_err(sqlx::Error::Encode)?;
        Ok(sqlx::query_with(sql, arguments).execute(conn).await?)
    }
}

/// A query function that binds `params` and runs sqlx's method of the same name on `conn`.
macro_rules! fetch_fn {
    ($(#[$doc:meta])* $name:ident -> $output:ty) => {
        $(#[$doc])*
        pub(crate) fn $name<'q, 'c, DB, O, E, P>(
            conn: E,
            sql: &'q str,
            params: P,
        ) -> impl StoreFuture<$output> + use<'q, 'c, DB, O, E, P>
        where
            DB: Database,
            O: RowOf<DB>,
            E: Executor<'c, Database = DB>,
            P: Params<'q, DB>,
        {
            let arguments = params.into_arguments();
            async move {
                let arguments = arguments.map_err(sqlx::Error::Encode)?;
                Ok(sqlx::query_as_with(sql, arguments).$name(conn).await?)
            }
        }
    };
}

fetch_fn!(
    /// The row a query returns, if any.
    fetch_optional -> Option<O>
);

fetch_fn!(
    /// Every row a query returns.
    fetch_all -> Vec<O>
);

/// Every row of a query planned for its values on each run. A statement the driver keeps
/// prepared gets a generic plan from PostgreSQL after five runs, and a generic plan cannot tell a
/// rare search term from a common one: it walks the primary key and reads the whole table
/// (a second at a million users) where the trigram index answers in milliseconds.
pub(crate) fn fetch_all_planned<'q, 'c, DB, O, E, P>(
    conn: E,
    sql: &'q str,
    params: P,
) -> impl StoreFuture<Vec<O>> + use<'q, 'c, DB, O, E, P>
where
    DB: Database + sqlx::database::HasStatementCache,
    O: RowOf<DB>,
    E: Executor<'c, Database = DB>,
    P: Params<'q, DB>,
{
    // The values become arguments at once, so the future holds only those (as `sql` does).
    let arguments = params.into_arguments();
    async move {
        let arguments = arguments.map_err(sqlx::Error::Encode)?;
        Ok(sqlx::query_as_with(sql, arguments)
            .persistent(false)
            .fetch_all(conn)
            .await?)
    }
}

/// The one row a query returns; none is `RowNotFound`, as with sqlx's own `fetch_one` (which
/// reads the same way).
pub(crate) async fn fetch_one<'q, 'c, DB, O, E, P>(
    conn: E,
    sql: &'q str,
    params: P,
) -> Result<O, StoreError>
where
    DB: Database,
    O: RowOf<DB>,
    E: Executor<'c, Database = DB>,
    P: Params<'q, DB>,
{
    fetch_optional(conn, sql, params)
        .await?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

#[cfg(test)]
mod tests {
    use crate::testing::{at, store};
    use crate::Backend;

    #[tokio::test]
    async fn values_bind_by_placeholder_number_not_by_first_appearance() {
        let store = store().await;
        let (text,): (String,) = store
            .fetch_one("SELECT $2 || $1", ("a", "b"))
            .await
            .expect("read");
        assert_eq!(text, "ba");
        let (n, when): (i64, chrono::NaiveDateTime) = store
            .fetch_one("SELECT $1 + $3, $2", (40_i64, at(9), 2_i64))
            .await
            .expect("read");
        assert_eq!((n, when), (42, at(9)));
    }

    #[tokio::test]
    async fn the_memory_store_is_one_migrated_database_for_every_call() {
        let store = store().await;
        assert_eq!(store.backend(), Backend::Sqlite);
        let written = store
            .execute(
                "INSERT INTO server_settings (name, value, updated_at) VALUES ($1, $2, $3)",
                ("k", "v", at(9)),
            )
            .await
            .expect("write");
        assert_eq!(written, 1);
        // The pool's only connection is the database: a later call sees the row.
        let row: Option<(String,)> = store
            .fetch_optional("SELECT value FROM server_settings WHERE name = $1", ("k",))
            .await
            .expect("read");
        assert_eq!(row, Some(("v".to_string(),)));
        assert!(store
            .fetch_one::<(i64,)>("SELECT 1 WHERE 1 = 0", ())
            .await
            .is_err());
    }
}
