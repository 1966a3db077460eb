//! `helpline seed`: fills a database with many realistic conversations, for benchmarks
//! and for trying the console at scale. Most are closed (spread over the last 60 days,
//! with reply times and outcomes); 150 wait in the queue and 50 are open with the given
//! helper. Messages are short and invented. Never run it on a database people use.

use std::time::Instant;

use sqlx::AnyConnection;

use super::{Store, placeholders};
use crate::domain::{HelperId, Message, Role};
use crate::secrets;

const WAITING: u64 = 150;
const OPEN: u64 = 50;
const PER_TRANSACTION: u64 = 2000;
const ROWS_PER_STATEMENT: usize = 50;
const COLUMNS: usize = 22;
use crate::domain::time::DAY_MS;

pub struct Seeded {
    pub conversations: u64,
    pub messages: u64,
    pub seconds: f64,
}

struct Row {
    id: crate::domain::ConversationId,
    token_hash: String,
    lang: &'static str,
    topic: &'static str,
    status: &'static str,
    outcome: Option<&'static str>,
    urgent: bool,
    owner: Option<String>,
    preview: String,
    created_at: i64,
    first_reply_at: Option<i64>,
    closed_at: Option<i64>,
    messages: Vec<Message>,
}

fn pick<T: Copy>(items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rand::random::<u32>() % total;
    for (item, weight) in items {
        if roll < *weight {
            return *item;
        }
        roll -= weight;
    }
    items[0].0
}

fn row(i: u64, site_topics: &[&'static str], owner: &HelperId, owner_name: &str, now: i64) -> Row {
    let id = crate::domain::ConversationId::new(secrets::new_id());
    let lang = pick(&[("en", 80), ("de", 10), ("he", 10)]);
    let topic = site_topics[usize::try_from(i).unwrap_or(0) % site_topics.len()];
    let preview =
        format!("Seeded request {i}: someone keeps reverting my edits and leaves insults on my talk page.");
    let random_ms = |range: i64| i64::from(rand::random::<u32>()) % range.max(1);
    let (status, outcome, created_at, first_reply_at, closed_at, owned) = if i < WAITING {
        ("waiting", None, now - random_ms(2 * 3_600_000), None, None, false)
    } else if i < WAITING + OPEN {
        let created = now - random_ms(3_600_000);
        ("active", None, created, Some(created + 30_000 + random_ms(600_000)), None, true)
    } else {
        let created = now - random_ms(60 * DAY_MS);
        let replied = created + 30_000 + random_ms(1_200_000);
        let outcome = pick(&[
            ("resolved", 60),
            ("redirected", 15),
            ("no_response", 15),
            ("withdrawn", 5),
            ("moved_to_talk_page", 5),
        ]);
        (
            "closed",
            Some(outcome),
            created,
            Some(replied),
            Some(replied + 300_000 + random_ms(3_600_000)),
            false,
        )
    };
    let mut messages = vec![Message {
        conversation_id: id.clone(),
        seq: 1,
        author_role: Role::Requester,
        author_id: None,
        author_name: None,
        internal: false,
        text: preview.clone(),
        masked_text: None,
        client_key: None,
        created_at,
    }];
    if let Some(replied) = first_reply_at {
        messages.push(Message {
            conversation_id: id.clone(),
            seq: 2,
            author_role: Role::Helper,
            author_id: Some(owner.clone()),
            author_name: Some(owner_name.to_string()),
            internal: false,
            text: "Thank you for writing. I have read it and I am looking at the pages now.".into(),
            masked_text: None,
            client_key: None,
            created_at: replied,
        });
    }
    Row {
        id,
        token_hash: secrets::hash_token(&secrets::new_id()),
        lang,
        topic,
        status,
        outcome,
        urgent: i < WAITING && i.is_multiple_of(20),
        owner: owned.then(|| owner.to_string()),
        preview,
        created_at,
        first_reply_at,
        closed_at,
        messages,
    }
}

/// Adds `count` conversations to `site` and `queue`; the open ones belong to `owner_id`.
pub async fn seed(
    store: &Store,
    site: &str,
    queue: &str,
    topics: &[&'static str],
    owner_id: &HelperId,
    owner_name: &str,
    count: u64,
) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let now = crate::clock::system_ms();
    let mut messages = 0;
    let mut i = 0;
    while i < count {
        let batch: Vec<Row> =
            (i..count.min(i + PER_TRANSACTION)).map(|n| row(n, topics, owner_id, owner_name, now)).collect();
        let mut tx = store.write.begin().await?;
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            insert_rows(&mut tx, site, queue, chunk).await?;
        }
        let batch_messages: Vec<&Message> = batch.iter().flat_map(|r| r.messages.iter()).collect();
        messages += batch_messages.len() as u64;
        super::messages::insert_messages(&mut tx, &batch_messages).await?;
        tx.commit().await?;
        i += PER_TRANSACTION;
    }
    Ok(Seeded { conversations: count, messages, seconds: started.elapsed().as_secs_f64() })
}

async fn insert_rows(conn: &mut AnyConnection, site: &str, queue: &str, rows: &[Row]) -> sqlx::Result<()> {
    let mut sql = String::from(
        "INSERT INTO conversations (id, token_hash, site, queue, lang, topic, channel, status, outcome, urgent, \
         owner_id, last_owner_id, preview, last_seq, requester_read_seq, helper_read_seq, created_at, \
         waiting_since, first_reply_at, closed_at, updated_at, username_temporary) VALUES ",
    );
    for n in 0..rows.len() {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&placeholders(conn, n * COLUMNS + 1, COLUMNS));
        sql.push(')');
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for r in rows {
        let last_seq = r.messages.len() as i64;
        query = query
            .bind(r.id.as_str().to_string())
            .bind(r.token_hash.clone())
            .bind(site.to_string())
            .bind(queue.to_string())
            .bind(r.lang)
            .bind(r.topic)
            .bind("chat")
            .bind(r.status)
            .bind(r.outcome)
            .bind(i64::from(r.urgent))
            .bind(r.owner.clone())
            .bind(r.owner.clone())
            .bind(r.preview.clone())
            .bind(last_seq)
            .bind(last_seq)
            .bind(last_seq)
            .bind(r.created_at)
            .bind(r.created_at)
            .bind(r.first_reply_at)
            .bind(r.closed_at)
            .bind(r.closed_at.unwrap_or(r.created_at))
            .bind(0_i64);
    }
    query.execute(conn).await?;
    Ok(())
}
