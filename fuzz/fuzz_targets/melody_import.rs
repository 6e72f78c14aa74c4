//! A Melody database row, any table, any column text: the import maps it or says why it is
//! skipped, never panics.
#![no_main]

use std::sync::OnceLock;

use gatehouse_core::melody::{map_row, timestamp, IdMap, SourceRow, SOURCE_TABLES};
use libfuzzer_sys::fuzz_target;

/// Ids 1 to 3 of every table are known, so link rows resolve and reach their own checks; app 3
/// is one of Melody's admin-panel apps.
fn known_ids() -> &'static IdMap {
    static IDS: OnceLock<IdMap> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = IdMap::default();
        for table in SOURCE_TABLES {
            for id in 1..=3 {
                ids.insert(table, id, id + 100);
            }
        }
        ids.mark_admin_app(3);
        ids.add_source_auth_id("1b7a3c2e-0000-4000-8000-000000000001");
        ids
    })
}

// The input, as text: the table's name on the first line, then `column=value` lines; a column
// not given is NULL.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (name, rest) = text.split_once('\n').unwrap_or((text, ""));
    let Some(table) = SOURCE_TABLES.iter().find(|t| t.name == name) else {
        return;
    };
    let given: Vec<(&str, &str)> = rest.lines().filter_map(|l| l.split_once('=')).collect();
    let row = SourceRow::new(table.columns.iter().map(|column| {
        let value = given
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.to_string());
        (*column, value)
    }));
    let _ = map_row(*table, &row, known_ids());
    for (_, value) in &given {
        if let Some(normal) = timestamp(value) {
            assert_eq!(normal.len(), 19);
            assert_eq!(timestamp(&normal).as_deref(), Some(normal.as_str()));
        }
    }
});
