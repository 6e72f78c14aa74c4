//! Paging and search terms shared by the list queries.

/// A page request: `size` rows starting after `(number - 1) * size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub size: u32,
    pub number: u32,
}

impl Page {
    pub(crate) fn limit_offset(page: Option<Page>) -> (i64, i64) {
        match page {
            Some(p) => (
                i64::from(p.size),
                i64::from(p.size) * (i64::from(p.number) - 1),
            ),
            // SQLite and PostgreSQL both take a very large limit as "all".
            None => (i64::MAX, 0),
        }
    }
}

/// Escapes `%`, `_` and `\` so a search term matches literally inside `LIKE … ESCAPE '\'`.
pub(crate) fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
