//! Schema changes keep what is stored: a SQLite database seeded under the previous schema
//! is copied, the copy is opened by the server's store (which migrates it), and the two
//! are compared row by row; the migrated copy still refuses what the schema refused.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use helpline::domain::QueueId;
use helpline::store::Store;
use helpline::store::conversations::{QueueFilter, queue_listing, waiting_in_order};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

/// The last migration before the one that made messages `WITHOUT ROWID` and took the
/// turn out of the conversations' indexes.
const BEFORE_LEAN_WRITES: i64 = 20;

const CONVERSATIONS: usize = 1500;
const QUEUES: [&str; 3] = ["q-one", "q-two", "q-three"];
const STATUSES: [&str; 4] = ["waiting", "active", "awaiting_requester", "closed"];

async fn pool(path: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true).foreign_keys(true);
    SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap()
}

/// A database at the schema of migration `BEFORE_LEAN_WRITES`, with conversations of
/// every status in several queues and messages of every kind (client keys or none,
/// masked or not, internal notes, helpers' names, text that is not ASCII).
async fn seeded_before(path: &Path) -> SqlitePool {
    let db = pool(path).await;
    let mut migrator = Migrator::new(Path::new("migrations/sqlite")).await.unwrap();
    migrator.migrations =
        migrator.migrations.iter().filter(|m| m.version <= BEFORE_LEAN_WRITES).cloned().collect();
    migrator.run(&db).await.unwrap();
    sqlx::query("INSERT INTO helpers (id, name, created_at) VALUES ('h1', 'Helper One', 0)")
        .execute(&db)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    for i in 0..CONVERSATIONS {
        let status = STATUSES[i % 4];
        let closed = status == "closed";
        let owner = (status == "active" || status == "awaiting_requester").then_some("h1");
        sqlx::query(
            "INSERT INTO conversations (id, token_hash, site, queue, lang, topic, channel, status, urgent, owner_id, \
             preview, last_seq, created_at, waiting_since, closed_at, updated_at) \
             VALUES ($1, $2, 'wiki', $3, 'en', 'harassment', 'chat', $4, $5, $6, 'preview', 3, $7, $8, $9, $7)",
        )
        .bind(format!("c{i:05}"))
        .bind(format!("hash{i}"))
        .bind(QUEUES[i % 3])
        .bind(status)
        .bind(i64::from(i % 7 == 0))
        .bind(owner)
        .bind(1_000 + i as i64)
        .bind(1_000 + (i as i64 * 7919) % 5_000)
        .bind(closed.then_some(9_000 + i as i64))
        .execute(&mut *tx)
        .await
        .unwrap();
        for seq in 1..=3_i64 {
            let helper = seq == 2;
            sqlx::query(
                "INSERT INTO messages (conversation_id, seq, author_role, author_id, author_name, internal, text, \
                 masked_text, client_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(format!("c{i:05}"))
            .bind(seq)
            .bind(if helper { "helper" } else { "requester" })
            .bind(helper.then_some("h1"))
            .bind(helper.then_some("Helper One"))
            .bind(i64::from(helper && i % 5 == 0))
            .bind(format!("message {seq} of {i}: «ça va?» — שלום 🙂"))
            .bind((seq == 1 && i % 3 == 0).then(|| format!("masked {i}")))
            .bind((!helper).then(|| format!("key-{i}-{seq}")))
            .bind(2_000 + i as i64 * 3 + seq)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    db
}

/// Every message as text, in key order.
async fn all_messages(db: &SqlitePool) -> Vec<String> {
    sqlx::query(
        "SELECT conversation_id, seq, author_role, author_id, author_name, internal, text, masked_text, \
         client_key, created_at FROM messages ORDER BY conversation_id, seq",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        format!(
            "{}|{}|{}|{:?}|{:?}|{}|{}|{:?}|{:?}|{}",
            r.get::<String, _>(0),
            r.get::<i64, _>(1),
            r.get::<String, _>(2),
            r.get::<Option<String>, _>(3),
            r.get::<Option<String>, _>(4),
            r.get::<i64, _>(5),
            r.get::<String, _>(6),
            r.get::<Option<String>, _>(7),
            r.get::<Option<String>, _>(8),
            r.get::<i64, _>(9)
        )
    })
    .collect()
}

/// What the queue listings and the waiting lines show, per queue.
async fn listings(store_url: &str) -> Vec<String> {
    let store = Store::connect(store_url, "full").await.unwrap();
    let mut conn = store.read.acquire().await.unwrap();
    let mut shown = Vec::new();
    for queue in QUEUES {
        let queues = [QueueId::from(queue)];
        let items = queue_listing(&mut conn, &QueueFilter::open_in(&queues, 10_000)).await.unwrap();
        shown.push(format!(
            "{queue} open: {:?}",
            items.iter().map(|i| (i.id.as_str().to_string(), i.status)).collect::<Vec<_>>()
        ));
        let line = waiting_in_order(&mut conn, &QueueId::from(queue)).await.unwrap();
        shown.push(format!("{queue} waiting: {line:?}"));
    }
    drop(conn);
    store.close().await;
    shown
}

#[tokio::test]
async fn lean_writes_migration_keeps_every_message_and_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let original_path = dir.path().join("before.db");
    let copy_path = dir.path().join("copy.db");
    let original = seeded_before(&original_path).await;
    let before = all_messages(&original).await;
    assert_eq!(before.len(), CONVERSATIONS * 3);
    sqlx::query("VACUUM INTO $1").bind(copy_path.to_str().unwrap()).execute(&original).await.unwrap();

    // What the listings show under the old schema (the store's queries, run on a second
    // copy opened without migrating: the original must stay as it was).
    let old_shown = {
        let db = pool(&original_path).await;
        let mut shown = Vec::new();
        for queue in QUEUES {
            let open: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, status FROM conversations WHERE queue = $1 AND status <> 'closed' \
                 ORDER BY CASE WHEN status = 'waiting' THEN 0 ELSE 1 END, urgent DESC, waiting_since, id",
            )
            .bind(queue)
            .fetch_all(&db)
            .await
            .unwrap();
            shown.push(open);
        }
        shown
    };

    // The server's store opens the copy, which applies the pending migrations.
    let url = format!("sqlite://{}", copy_path.display());
    let shown = listings(&url).await;
    let migrated = pool(&copy_path).await;

    assert_eq!(all_messages(&migrated).await, before, "every message is kept, byte for byte");
    assert_eq!(all_messages(&original).await, before, "the original is untouched");
    let table: String =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'")
            .fetch_one(&migrated)
            .await
            .unwrap();
    assert!(table.contains("WITHOUT ROWID"), "{table}");
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('messages', 'conversations')",
    )
    .fetch_all(&migrated)
    .await
    .unwrap();
    assert!(indexes.contains(&"messages_by_client_key".to_string()), "{indexes:?}");
    assert!(indexes.contains(&"conversations_open".to_string()), "{indexes:?}");
    assert!(!indexes.contains(&"conversations_by_queue".to_string()), "{indexes:?}");

    // The listings show the same conversations in the same order as before.
    for (i, queue) in QUEUES.iter().enumerate() {
        let expected: Vec<(String, String)> = old_shown[i].clone();
        let open_line = shown.iter().find(|s| s.starts_with(&format!("{queue} open: "))).unwrap();
        let expected_line = format!(
            "{queue} open: {:?}",
            expected
                .iter()
                .map(|(id, status)| (id.clone(), helpline::domain::Status::parse(status).unwrap()))
                .collect::<Vec<_>>()
        );
        assert_eq!(open_line, &expected_line);
        let waiting: Vec<&str> =
            expected.iter().filter(|(_, s)| s == "waiting").map(|(id, _)| id.as_str()).collect();
        let waiting_line = shown.iter().find(|s| s.starts_with(&format!("{queue} waiting: "))).unwrap();
        assert_eq!(
            waiting_line,
            &format!(
                "{queue} waiting: {:?}",
                waiting.iter().map(|id| helpline::domain::ConversationId::from(*id)).collect::<Vec<_>>()
            )
        );
        assert!(expected.iter().any(|(_, s)| s == "waiting") && expected.iter().any(|(_, s)| s != "waiting"));
    }

    // What the schema refused, it still refuses.
    let insert = |conversation: &'static str, seq: i64, key: Option<&'static str>| {
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, author_role, text, client_key, created_at) \
             VALUES ($1, $2, 'requester', 'again', $3, 0)",
        )
        .bind(conversation)
        .bind(seq)
        .bind(key)
    };
    assert!(insert("c00000", 1, None).execute(&migrated).await.is_err(), "a seq is stored once");
    assert!(
        insert("c00000", 9, Some("key-0-1")).execute(&migrated).await.is_err(),
        "a client key is stored once"
    );
    assert!(
        insert("c-nowhere", 1, None).execute(&migrated).await.is_err(),
        "no message without its conversation"
    );
    insert("c00000", 4, Some("key-0-4")).execute(&migrated).await.unwrap();
    assert_eq!(all_messages(&migrated).await.len(), before.len() + 1, "a failed insert stores nothing");
    sqlx::query("DELETE FROM conversations WHERE id = 'c00001'").execute(&migrated).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE conversation_id = 'c00001'")
        .fetch_one(&migrated)
        .await
        .unwrap();
    assert_eq!(left, 0, "deleting a conversation deletes its messages");
}
