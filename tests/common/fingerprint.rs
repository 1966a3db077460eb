//! "Nothing changed": every row of every table of the server's database, as one text per
//! table, to compare before and after requests that must have been refused.

use std::collections::BTreeMap;

use super::{Backend, TestApp};

/// Tables a refused request may still touch, and why. None today: a refused request
/// leaves every table as it was (rate limits live in memory).
const MAY_CHANGE: &[&str] = &[];

/// Every table's rows, in a stable order.
pub async fn of(app: &TestApp) -> BTreeMap<String, String> {
    let leak = |sql: String| -> &'static str { Box::leak(sql.into_boxed_str()) };
    let mut tables = BTreeMap::new();
    match app.backend {
        Backend::Sqlite => {
            let names: Vec<(String,)> = app
                .stored(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
                    &[],
                )
                .await;
            for (table,) in names.into_iter().filter(|(t,)| !MAY_CHANGE.contains(&t.as_str())) {
                let columns: Vec<(String,)> =
                    app.stored("SELECT name FROM pragma_table_info(?) ORDER BY cid", &[&table]).await;
                let row =
                    columns.iter().map(|(c,)| format!("quote(\"{c}\")")).collect::<Vec<_>>().join("||','||");
                let sql = format!(
                    "SELECT COALESCE(group_concat(r, '|'), '') FROM (SELECT {row} AS r FROM \"{table}\" ORDER BY 1)"
                );
                let rows: Vec<(String,)> = app.stored(leak(sql), &[]).await;
                tables.insert(table, rows.into_iter().next().map(|r| r.0).unwrap_or_default());
            }
        }
        Backend::Postgres => {
            let names: Vec<(String,)> = app
                .stored(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND table_name NOT LIKE '_sqlx%' ORDER BY 1",
                    &[],
                )
                .await;
            for (table,) in names.into_iter().filter(|(t,)| !MAY_CHANGE.contains(&t.as_str())) {
                let sql = format!(
                    "SELECT COALESCE(string_agg(t::text, '|' ORDER BY t::text), '') FROM \"{table}\" t"
                );
                let rows: Vec<(String,)> = app.stored(leak(sql), &[]).await;
                tables.insert(table, rows.into_iter().next().map(|r| r.0).unwrap_or_default());
            }
        }
    }
    assert!(tables.len() > 10, "the database's tables: {:?}", tables.keys());
    tables
}

/// Fails naming the tables that differ.
pub fn assert_same(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, what: &str) {
    let changed: Vec<&String> = before.keys().filter(|t| before.get(*t) != after.get(*t)).collect();
    assert!(changed.is_empty(), "{what} changed the tables {changed:?}");
}
