//! The admin user search through the trigram index (migration 0020) and the user list's keyset
//! cursor: `GET /api/v1/users?search=…&after=…`.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::api_users::auth_id;
use crate::harness::{backend_tests, call, token_with, TestApp};

/// Adds a user straight to the database; `n` makes its authId.
async fn add_user(app: &TestApp, n: usize, first: &str, last: &str, email: &str) {
    let sql = format!(
        "INSERT INTO users (auth_id, email, first_name, last_name) VALUES ('{}', $1, '{}', '{}')",
        auth_id(n),
        first.replace('\'', "''"),
        last.replace('\'', "''")
    );
    app.isolation.execute(&sql, email).await;
}

/// The emails a search finds, in list order, after checking the count agrees with them.
async fn found(app: &TestApp, token: &str, search: &str) -> Vec<String> {
    let query = serde_urlencoded::to_string([("search", search)]).unwrap();
    let (status, body) = call(app, "GET", &format!("/api/v1/users?{query}"), token, None).await;
    assert_eq!(status, 200, "{search}: {body}");
    let emails: Vec<String> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(body["count"], json!(emails.len()), "{search}: {body}");
    assert_eq!(body["countIsEstimate"], false, "{search}");
    emails
}

async fn people(app: &TestApp) {
    add_user(app, 1, "Ada", "Lovelace", "ada.lovelace@analytical.example").await;
    add_user(app, 2, "Grace", "Hopper", "grace@navy.example").await;
    add_user(app, 3, "Alan", "Turing", "alan.turing@bletchley.example").await;
    add_user(app, 4, "Flann", "O'Brien", "o'brien_50%@pub.example").await;
    add_user(app, 5, "Quote", "\"Marks\"", "quotes@pub.example").await;
}

/// The authIds of every page of `path` (which ends in `page_size=…`): the first page by number,
/// then by cursor.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..100 {
        let url = match &next {
            Some(cursor) => format!("{path}&after={cursor}"),
            None => format!("{path}&page_number=1"),
        };
        let (status, body) = call(app, "GET", &url, token, None).await;
        assert_eq!(status, 200, "{url}: {body}");
        for user in body["users"].as_array().unwrap() {
            seen.push(user["authId"].as_str().unwrap().to_owned());
        }
        match &body["nextCursor"] {
            Value::String(cursor) => next = Some(cursor.clone()),
            Value::Null => return seen,
            other => panic!("nextCursor {other}"),
        }
    }
    panic!("the pages never ended");
}

backend_tests! {
    async fn users_are_found_by_email_prefix_fragment_and_name(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        people(&app).await;
        assert_eq!(found(&app, &reader, "ada.love").await, ["ada.lovelace@analytical.example"]);
        assert_eq!(found(&app, &reader, "LETCHLEY").await, ["alan.turing@bletchley.example"]);
        assert_eq!(found(&app, &reader, "navy.ex").await, ["grace@navy.example"]);
        assert_eq!(found(&app, &reader, "Grace Hopper").await, ["grace@navy.example"]);
        // The words of one user, but not as they stand in the text searched.
        assert_eq!(found(&app, &reader, "lovelace grace").await, Vec::<String>::new());
        // "first last email": the last name runs into the email's first characters.
        assert_eq!(found(&app, &reader, "turing alan.t").await, ["alan.turing@bletchley.example"]);
        assert_eq!(found(&app, &reader, "  hopper ").await, ["grace@navy.example"]);
        assert_eq!(found(&app, &reader, ".example").await.len(), 5);
        // With page_size and page_number, as Melody pages it.
        let (_, body) = call(&app, "GET", "/api/v1/users?search=example&page_size=2&page_number=2", &reader, None).await;
        assert_eq!(body["count"], 5);
        assert_eq!(body["users"][0]["authId"], auth_id(3));
        assert_eq!(body["users"].as_array().unwrap().len(), 2);
    }

    async fn one_or_two_characters_still_search(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        people(&app).await;
        assert_eq!(found(&app, &reader, "y").await.len(), 3);
        assert_eq!(found(&app, &reader, "VY").await, ["grace@navy.example"]);
        assert_eq!(found(&app, &reader, "HO").await, ["grace@navy.example"]);
        assert_eq!(found(&app, &reader, "q").await, ["quotes@pub.example"]);
    }

    async fn wildcards_and_quotes_in_a_search_match_themselves(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        people(&app).await;
        assert_eq!(found(&app, &reader, "%").await, ["o'brien_50%@pub.example"]);
        assert_eq!(found(&app, &reader, "_").await, ["o'brien_50%@pub.example"]);
        assert_eq!(found(&app, &reader, "n_50%").await, ["o'brien_50%@pub.example"]);
        assert_eq!(found(&app, &reader, "o'b").await, ["o'brien_50%@pub.example"]);
        assert_eq!(found(&app, &reader, "\"marks\"").await, ["quotes@pub.example"]);
        assert_eq!(found(&app, &reader, "\"").await, ["quotes@pub.example"]);
        // As patterns these would match Ada and Alan; taken literally they match nobody.
        assert_eq!(found(&app, &reader, "a_a").await, Vec::<String>::new());
        assert_eq!(found(&app, &reader, "a%g").await, Vec::<String>::new());
        assert_eq!(found(&app, &reader, "\\").await, Vec::<String>::new());
        // A NUL (found by fuzzing: FTS5 read it as the end of the phrase and failed with 500)
        // is in no name or email, short or long, on any page.
        for term in ["\0", "ada\0", "ada\0lovelace"] {
            assert_eq!(found(&app, &reader, term).await, Vec::<String>::new(), "{term:?}");
        }
        let (status, body) = call(&app, "GET", "/api/v1/users?search=ada%00x&page_size=5&page_number=2", &reader, None).await;
        assert_eq!((status, &body["users"]), (200, &json!([])), "{body}");
    }

    async fn the_index_follows_renames_and_deletions(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        let writer = token_with(&app, &root, &["read_user", "write_user"]).await;
        people(&app).await;
        let ada = format!("/api/v1/users/{}", auth_id(1));
        let (status, body) = call(&app, "PUT", &ada, &writer, Some(json!({"lastName": "Byron"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(found(&app, &reader, "Ada Byron").await, ["ada.lovelace@analytical.example"]);
        assert_eq!(found(&app, &reader, "Ada Lovelace").await, Vec::<String>::new());
        // Still found by the email, which did not change.
        assert_eq!(found(&app, &reader, "lovelace").await, ["ada.lovelace@analytical.example"]);

        let grace = format!("/api/v1/users/{}", auth_id(2));
        let (status, _) = call(&app, "DELETE", &grace, &writer, None).await;
        assert_eq!(status, 204);
        for search in ["grace", "Hopper", "navy", "gr", "y"] {
            assert!(!found(&app, &reader, search).await.contains(&"grace@navy.example".to_owned()), "{search}");
        }
        let (_, body) = call(&app, "GET", "/api/v1/users", &reader, None).await;
        assert_eq!(body["count"], 4);
    }

    async fn cursor_pages_walk_every_user_exactly_once(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        for n in 0..23 {
            let email = if n % 3 == 0 { format!("thirds{n}@example.com") } else { format!("user{n}@example.com") };
            add_user(&app, n, &format!("First{n}"), &format!("Last{n}"), &email).await;
        }
        let all = walk(&app, &reader, "/api/v1/users?page_size=5").await;
        let expected: Vec<String> = (0..23).map(auth_id).collect();
        assert_eq!(all, expected);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 23);
        // A page as long as what is left still gives a cursor; the empty page after it ends.
        let exact = walk(&app, &reader, "/api/v1/users?page_size=23").await;
        assert_eq!(exact, expected);
        // With a search, only the matches, still once each.
        let thirds = walk(&app, &reader, "/api/v1/users?search=THIRDS&page_size=2").await;
        let expected: Vec<String> = (0..23).filter(|n| n % 3 == 0).map(auth_id).collect();
        assert_eq!(thirds, expected);

        // page_number answers a cursor too, to go on from a numbered page.
        let (_, body) = call(&app, "GET", "/api/v1/users?page_size=10&page_number=2", &reader, None).await;
        assert_eq!(body["count"], 23);
        assert_eq!(body["countIsEstimate"], false);
        let cursor = body["nextCursor"].as_str().unwrap().to_owned();
        let (_, body) = call(&app, "GET", &format!("/api/v1/users?page_size=10&after={cursor}"), &reader, None).await;
        let rest: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["authId"].as_str().unwrap()).collect();
        assert_eq!(rest, [auth_id(20), auth_id(21), auth_id(22)]);
        assert_eq!(body["nextCursor"], Value::Null);
        // Every user at once has no next page; `page_size` alone is every user too, as in Melody.
        for path in ["/api/v1/users", "/api/v1/users?page_size=5"] {
            let (_, body) = call(&app, "GET", path, &reader, None).await;
            assert_eq!(body["users"].as_array().unwrap().len(), 23, "{path}");
            assert_eq!(body["nextCursor"], Value::Null, "{path}");
        }
    }

    async fn a_malformed_or_contradictory_cursor_is_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let root = app.admin_token("root").await;
        let reader = token_with(&app, &root, &["read_user"]).await;
        people(&app).await;
        let (_, body) = call(&app, "GET", "/api/v1/users?page_size=2&page_number=1", &reader, None).await;
        let cursor = body["nextCursor"].as_str().unwrap().to_owned();
        let before = app.isolation.table_counts().await;
        let refused = [
            ("/api/v1/users?page_size=2&after=not-a-cursor".to_owned(), "after must be the nextCursor of an earlier page of this list"),
            ("/api/v1/users?page_size=2&after=".to_owned(), "after must be the nextCursor of an earlier page of this list"),
            ("/api/v1/users?page_size=2&after=42".to_owned(), "after must be the nextCursor of an earlier page of this list"),
            (format!("/api/v1/users?page_size=2&page_number=1&after={cursor}"), "after and page_number cannot be combined"),
            (format!("/api/v1/users?after={cursor}"), "after needs page_size"),
            (format!("/api/v1/users?page_size=0&after={cursor}"), "page_size must be a whole number of at least 1"),
        ];
        for (path, message) in refused {
            let (status, body) = call(&app, "GET", &path, &reader, None).await;
            assert_eq!(status, 400, "{path}: {body}");
            let description = body["error_description"].as_str().unwrap_or_default();
            assert!(description.starts_with(message), "{path}: {body}");
        }
        assert_eq!(app.isolation.table_counts().await, before);
        let (status, body) = call(&app, "GET", &format!("/api/v1/users?page_size=2&after={cursor}"), &reader, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["users"][0]["authId"], auth_id(3));
    }
}
