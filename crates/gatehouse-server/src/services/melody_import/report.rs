//! What an import did, per Melody table: read, imported, already present, skipped (by reason)
//! and values left out of imported rows.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableReport {
    pub table: &'static str,
    /// False when the source has no such table (a Melody release from before it existed).
    pub present_in_source: bool,
    pub read: u64,
    pub imported: u64,
    pub already_present: u64,
    /// Reason → how many rows were skipped for it.
    pub skipped: BTreeMap<String, u64>,
    /// Note → how many rows it applies to (values left out of imported rows, rows mapped onto
    /// Gatehouse's own).
    pub notes: BTreeMap<String, u64>,
    /// Columns the import reads that the source lacks.
    pub absent_columns: Vec<&'static str>,
}

impl TableReport {
    pub fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    pub fn note(&mut self, note: impl Into<String>) {
        *self.notes.entry(note.into()).or_default() += 1;
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The import was rolled back: this is what it would have done.
    pub dry_run: bool,
    pub tables: Vec<TableReport>,
}

impl ImportReport {
    pub fn imported_total(&self) -> u64 {
        self.tables.iter().map(|t| t.imported).sum()
    }

    /// The report as an operator reads it on a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let heading = if self.dry_run {
            "Melody import (dry run: nothing was written)"
        } else {
            "Melody import"
        };
        let _ = writeln!(out, "{heading}");
        let _ = writeln!(
            out,
            "{:<22} {:>6} {:>9} {:>16} {:>8}",
            "table", "read", "imported", "already present", "skipped"
        );
        for t in &self.tables {
            if !t.present_in_source {
                let _ = writeln!(out, "{:<22} (not in the source)", t.table);
                continue;
            }
            let _ = writeln!(
                out,
                "{:<22} {:>6} {:>9} {:>16} {:>8}",
                t.table,
                t.read,
                t.imported,
                t.already_present,
                t.skipped_total()
            );
        }
        let details: Vec<&TableReport> = self
            .tables
            .iter()
            .filter(|t| {
                !t.skipped.is_empty() || !t.notes.is_empty() || !t.absent_columns.is_empty()
            })
            .collect();
        if !details.is_empty() {
            let _ = writeln!(out, "\nDetails:");
        }
        for t in details {
            for (reason, n) in &t.skipped {
                let _ = writeln!(out, "  {}: {n} skipped: {reason}", t.table);
            }
            for (note, n) in &t.notes {
                let _ = writeln!(out, "  {}: {n} noted: {note}", t.table);
            }
            if !t.absent_columns.is_empty() {
                let _ = writeln!(
                    out,
                    "  {}: columns not in the source (defaults used): {}",
                    t.table,
                    t.absent_columns.join(", ")
                );
            }
        }
        let total = self.imported_total();
        let _ = writeln!(
            out,
            "\n{}",
            match (self.dry_run, total) {
                (true, 0) => "Nothing new would be imported.".to_owned(),
                (true, n) => format!("{n} rows would be imported."),
                (false, 0) => "Nothing new to import: everything is already present.".to_owned(),
                (false, n) => format!("{n} rows imported."),
            }
        );
        out
    }
}
