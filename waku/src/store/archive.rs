//! The message archive behind a store node: SQLite, bounded by count and age, answering store queries a page at a time.

use super::{Query, Selection, StoreQueryResponse, StoreStatus, WakuMessageKeyValue};
use crate::message::{MessageHash, WakuMessage};
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::path::Path;
use std::time::Duration;

/// How much an archive keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Most messages kept; the oldest go first.
    pub max_messages: usize,
    /// Messages stored longer ago than this go.
    pub max_age: Duration,
    /// Most bytes of messages (as encoded) kept; the oldest go first. An
    /// archive in memory takes about three times this with its indexes.
    pub max_bytes: usize,
}

impl Default for Retention {
    /// 100 000 messages, 7 days, 32 MiB.
    fn default() -> Self {
        Retention {
            max_messages: 100_000,
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 32 << 20,
        }
    }
}

/// Why the archive failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// SQLite said no.
    #[error("the message archive failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Messages a store node relayed, by hash, sorted by timestamp then hash.
#[derive(Debug)]
pub struct Archive {
    db: Connection,
    retention: Retention,
    inserts_since_prune: usize,
}

/// Prune after this many inserts (and on open).
const PRUNE_EVERY: usize = 256;

impl Archive {
    /// Opens (or creates) the archive in the SQLite file at `path`.
    pub fn open(path: &Path, retention: Retention) -> Result<Archive, ArchiveError> {
        Self::with(Connection::open(path)?, retention)
    }

    /// An archive in memory, gone when dropped.
    pub fn in_memory(retention: Retention) -> Result<Archive, ArchiveError> {
        Self::with(Connection::open_in_memory()?, retention)
    }

    fn with(db: Connection, retention: Retention) -> Result<Archive, ArchiveError> {
        // WAL without a sync per commit: a crash may lose the last messages,
        // never the file.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                 hash BLOB PRIMARY KEY,
                 pubsub_topic TEXT NOT NULL,
                 content_topic TEXT NOT NULL,
                 timestamp INTEGER NOT NULL,
                 message BLOB NOT NULL,
                 stored_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS messages_by_time ON messages (timestamp, hash);
             CREATE INDEX IF NOT EXISTS messages_by_topic
                 ON messages (pubsub_topic, content_topic, timestamp, hash);
             CREATE INDEX IF NOT EXISTS messages_by_age ON messages (stored_at);",
        )?;
        let mut archive = Archive {
            db,
            retention,
            inserts_since_prune: 0,
        };
        archive.prune(now_ns())?;
        Ok(archive)
    }

    /// Keeps a message relayed on `pubsub_topic`, stored at `now_ns`.
    /// Ephemeral messages and messages without a timestamp are not kept;
    /// returns whether this one was (a repeat is kept once).
    pub fn insert(
        &mut self,
        pubsub_topic: &str,
        message: &WakuMessage,
        hash: MessageHash,
        now_ns: i64,
    ) -> Result<bool, ArchiveError> {
        let Some(timestamp) = message.timestamp else {
            return Ok(false);
        };
        if message.ephemeral == Some(true) {
            return Ok(false);
        }
        let added = self.db.execute(
            "INSERT OR IGNORE INTO messages
                 (hash, pubsub_topic, content_topic, timestamp, message, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &hash.0[..],
                pubsub_topic,
                message.content_topic,
                timestamp,
                message.encode_to_vec(),
                now_ns
            ],
        )? == 1;
        self.inserts_since_prune += 1;
        if self.inserts_since_prune >= PRUNE_EVERY {
            self.prune(now_ns)?;
        }
        Ok(added)
    }

    /// Drops what retention no longer allows.
    pub fn prune(&mut self, now_ns: i64) -> Result<(), ArchiveError> {
        self.inserts_since_prune = 0;
        let max_age = i64::try_from(self.retention.max_age.as_nanos()).unwrap_or(i64::MAX);
        self.db.execute(
            "DELETE FROM messages WHERE stored_at < ?1",
            params![now_ns.saturating_sub(max_age)],
        )?;
        let count: i64 = self
            .db
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
        let max = i64::try_from(self.retention.max_messages).unwrap_or(i64::MAX);
        if count > max {
            self.drop_oldest(count - max)?;
        }
        // Over the byte budget: drop the oldest, as many as the average size
        // says, until under it.
        let max_bytes = i64::try_from(self.retention.max_bytes).unwrap_or(i64::MAX);
        loop {
            let (count, bytes): (i64, i64) = self.db.query_row(
                "SELECT COUNT(*), COALESCE(SUM(length(message)), 0) FROM messages",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if bytes <= max_bytes || count == 0 {
                return Ok(());
            }
            let average = (bytes / count).max(1);
            self.drop_oldest(((bytes - max_bytes) / average).max(1))?;
        }
    }

    fn drop_oldest(&mut self, n: i64) -> Result<(), ArchiveError> {
        self.db.execute(
            "DELETE FROM messages WHERE hash IN
                 (SELECT hash FROM messages ORDER BY timestamp, hash LIMIT ?1)",
            params![n],
        )?;
        Ok(())
    }

    /// How many messages are kept.
    pub fn len(&self) -> Result<usize, ArchiveError> {
        let n: i64 = self
            .db
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> Result<bool, ArchiveError> {
        Ok(self.len()? == 0)
    }

    /// Answers `query` for the request `request_id`: a page, oldest first,
    /// and a cursor when more match. A cursor that is not a message this
    /// query selects is refused (400).
    pub fn answer(
        &self,
        request_id: &str,
        query: &Query,
    ) -> Result<StoreQueryResponse, ArchiveError> {
        let (filter, mut args) = where_clause(&query.selection);
        let cursor = match query.cursor {
            None => None,
            Some(cursor) => {
                let mut cursor_args = args.clone();
                cursor_args.push(Arg::Blob(cursor.0.to_vec()));
                let found: Option<i64> = self
                    .db
                    .query_row(
                        &format!("SELECT timestamp FROM messages WHERE {filter} AND hash = ?"),
                        params_from_iter(cursor_args.iter()),
                        |r| r.get(0),
                    )
                    .optional()?;
                match found {
                    Some(ts) => Some((ts, cursor)),
                    None => {
                        return Ok(StoreQueryResponse::failure(
                            request_id,
                            StoreStatus::BAD_REQUEST,
                            "the pagination cursor is not a message this query selects",
                        ));
                    }
                }
            }
        };
        let (order, after) = if query.forward {
            ("ASC", ">")
        } else {
            ("DESC", "<")
        };
        let mut sql = format!("SELECT hash, pubsub_topic, message FROM messages WHERE {filter}");
        if let Some((ts, hash)) = cursor {
            sql.push_str(&format!(" AND (timestamp, hash) {after} (?, ?)"));
            args.push(Arg::Int(ts));
            args.push(Arg::Blob(hash.0.to_vec()));
        }
        sql.push_str(&format!(
            " ORDER BY timestamp {order}, hash {order} LIMIT ?"
        ));
        args.push(Arg::Int(i64::try_from(query.limit + 1).unwrap_or(i64::MAX)));
        let mut statement = self.db.prepare(&sql)?;
        let mut rows: Vec<(Vec<u8>, String, Vec<u8>)> = statement
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let more = rows.len() > query.limit;
        rows.truncate(query.limit);
        // The last row read is where the next page starts, in either
        // direction; the page itself goes out oldest first.
        let next = if more {
            rows.last().map(|(hash, _, _)| hash.clone())
        } else {
            None
        };
        if !query.forward {
            rows.reverse();
        }
        let messages = rows
            .into_iter()
            .map(|(hash, pubsub_topic, bytes)| {
                let (message, pubsub_topic) = if query.include_data {
                    // Written by `insert` from a valid message; a row that
                    // no longer decodes is returned without its data.
                    (
                        WakuMessage::decode(bytes.as_slice()).ok(),
                        Some(pubsub_topic),
                    )
                } else {
                    (None, None)
                };
                WakuMessageKeyValue {
                    message_hash: Some(hash),
                    pubsub_topic: message.as_ref().and(pubsub_topic),
                    message,
                }
            })
            .collect();
        Ok(StoreQueryResponse {
            request_id: request_id.to_owned(),
            status_code: Some(StoreStatus::OK),
            status_desc: None,
            messages,
            pagination_cursor: next,
        })
    }
}

#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(i) => i.to_sql(),
            Arg::Text(t) => t.to_sql(),
            Arg::Blob(b) => b.to_sql(),
        }
    }
}

/// The `WHERE` condition a selection stands for, with its arguments.
fn where_clause(selection: &Selection) -> (String, Vec<Arg>) {
    let mut parts = vec!["1 = 1".to_owned()];
    let mut args = Vec::new();
    match selection {
        Selection::Content { topics, start, end } => {
            if let Some((pubsub, contents)) = topics {
                parts.push("pubsub_topic = ?".into());
                args.push(Arg::Text(pubsub.clone()));
                parts.push(format!(
                    "content_topic IN ({})",
                    vec!["?"; contents.len()].join(", ")
                ));
                args.extend(contents.iter().cloned().map(Arg::Text));
            }
            if let Some(start) = start {
                parts.push("timestamp >= ?".into());
                args.push(Arg::Int(*start));
            }
            if let Some(end) = end {
                parts.push("timestamp < ?".into());
                args.push(Arg::Int(*end));
            }
        }
        Selection::Hashes(hashes) => {
            parts.push(format!("hash IN ({})", vec!["?"; hashes.len()].join(", ")));
            args.extend(hashes.iter().map(|h| Arg::Blob(h.0.to_vec())));
        }
    }
    (parts.join(" AND "), args)
}

/// Now, Unix nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Query, StoreQueryRequest};

    const SHARD: &str = "/waku/2/rs/66/0";
    const A: &str = "/nodepair/1/a/proto";
    const B: &str = "/nodepair/1/b/proto";

    fn message(topic: &str, ts: i64) -> WakuMessage {
        WakuMessage {
            timestamp: Some(ts),
            ..WakuMessage::new(topic, format!("at {ts}").into_bytes())
        }
    }

    /// An archive holding A at 10, 20, …, 100 and B at 15, 25, …, 55.
    fn filled() -> Archive {
        let mut archive = Archive::in_memory(Retention::default()).unwrap();
        for ts in (10..=100).step_by(10) {
            let m = message(A, ts);
            archive.insert(SHARD, &m, m.hash(SHARD), now_ns()).unwrap();
        }
        for ts in (15..=55).step_by(10) {
            let m = message(B, ts);
            archive.insert(SHARD, &m, m.hash(SHARD), now_ns()).unwrap();
        }
        archive
    }

    fn ask(topics: &[&str], forward: bool, limit: u64) -> StoreQueryRequest {
        StoreQueryRequest {
            request_id: "q".into(),
            include_data: true,
            pubsub_topic: Some(SHARD.into()),
            content_topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            pagination_forward: forward,
            pagination_limit: Some(limit),
            ..Default::default()
        }
    }

    fn times(r: &StoreQueryResponse) -> Vec<i64> {
        r.messages
            .iter()
            .map(|m| m.message.as_ref().unwrap().timestamp.unwrap())
            .collect()
    }

    /// Pages through `request` to the end; every page's timestamps.
    fn all_pages(archive: &Archive, mut request: StoreQueryRequest) -> Vec<Vec<i64>> {
        let mut pages = Vec::new();
        loop {
            let r = archive
                .answer("q", &Query::parse(&request).unwrap())
                .unwrap();
            assert_eq!(r.status_code, Some(200), "{:?}", r.status_desc);
            pages.push(times(&r));
            match r.pagination_cursor {
                Some(c) => request.pagination_cursor = Some(c),
                None => return pages,
            }
        }
    }

    #[test]
    fn forward_pages_go_oldest_first_and_end_without_a_cursor() {
        let pages = all_pages(&filled(), ask(&[A], true, 4));
        assert_eq!(
            pages,
            [vec![10, 20, 30, 40], vec![50, 60, 70, 80], vec![90, 100]]
        );
    }

    #[test]
    fn backward_pages_start_from_the_newest_and_each_reads_oldest_first() {
        let pages = all_pages(&filled(), ask(&[A], false, 4));
        assert_eq!(
            pages,
            [vec![70, 80, 90, 100], vec![30, 40, 50, 60], vec![10, 20]]
        );
    }

    #[test]
    fn time_ranges_include_the_start_and_exclude_the_end() {
        let mut r = ask(&[A, B], true, 100);
        r.time_start = Some(20);
        r.time_end = Some(50);
        let page = filled().answer("q", &Query::parse(&r).unwrap()).unwrap();
        assert_eq!(times(&page), [20, 25, 30, 35, 40, 45]);
    }

    #[test]
    fn hashes_only_unless_data_is_asked_and_lookups_by_hash() {
        let archive = filled();
        let mut r = ask(&[B], true, 100);
        r.include_data = false;
        let page = archive.answer("q", &Query::parse(&r).unwrap()).unwrap();
        assert_eq!(page.messages.len(), 5);
        assert!(
            page.messages
                .iter()
                .all(|m| m.message.is_none() && m.pubsub_topic.is_none())
        );
        let wanted = message(B, 35).hash(SHARD);
        let missing = message(B, 36).hash(SHARD);
        let lookup = StoreQueryRequest {
            message_hashes: vec![wanted.0.to_vec(), missing.0.to_vec()],
            ..Default::default()
        };
        let found = archive
            .answer("q", &Query::parse(&lookup).unwrap())
            .unwrap();
        assert_eq!(found.messages.len(), 1, "only the one present");
        assert_eq!(
            found.messages[0].message_hash.as_deref(),
            Some(&wanted.0[..])
        );
    }

    #[test]
    fn a_cursor_from_another_query_is_refused() {
        let archive = filled();
        let first = archive
            .answer("q", &Query::parse(&ask(&[B], true, 2)).unwrap())
            .unwrap();
        let cursor = first.pagination_cursor.unwrap();
        let mut other = ask(&[A], true, 2);
        other.pagination_cursor = Some(cursor);
        let refused = archive.answer("q", &Query::parse(&other).unwrap()).unwrap();
        assert_eq!(refused.status_code, Some(400));
        assert!(
            refused
                .status_desc
                .unwrap()
                .contains("not a message this query selects")
        );
        assert!(refused.messages.is_empty());
    }

    #[test]
    fn ephemeral_untimed_and_repeated_messages_are_not_kept_twice() {
        let mut archive = Archive::in_memory(Retention::default()).unwrap();
        let mut ephemeral = message(A, 1);
        ephemeral.ephemeral = Some(true);
        assert!(
            !archive
                .insert(SHARD, &ephemeral, ephemeral.hash(SHARD), 0)
                .unwrap()
        );
        let untimed = WakuMessage::new(A, b"x".to_vec());
        assert!(
            !archive
                .insert(SHARD, &untimed, untimed.hash(SHARD), 0)
                .unwrap()
        );
        let m = message(A, 2);
        assert!(archive.insert(SHARD, &m, m.hash(SHARD), 0).unwrap());
        assert!(!archive.insert(SHARD, &m, m.hash(SHARD), 0).unwrap());
        assert_eq!(archive.len().unwrap(), 1);
    }

    #[test]
    fn retention_drops_the_oldest_and_the_expired() {
        let retention = Retention {
            max_messages: 3,
            max_age: Duration::from_secs(60),
            max_bytes: usize::MAX,
        };
        let mut archive = Archive::in_memory(retention).unwrap();
        let second = 1_000_000_000i64;
        for ts in 1..=5 {
            let m = message(A, ts);
            archive
                .insert(SHARD, &m, m.hash(SHARD), ts * second)
                .unwrap();
        }
        archive.prune(5 * second).unwrap();
        let all = archive
            .answer("q", &Query::parse(&ask(&[A], true, 100)).unwrap())
            .unwrap();
        assert_eq!(times(&all), [3, 4, 5], "the oldest went first");
        // A minute later, everything stored before then is gone.
        archive.prune(65 * second).unwrap();
        assert_eq!(archive.len().unwrap(), 1);
    }

    #[test]
    fn retention_keeps_to_its_byte_budget_dropping_the_oldest() {
        let one = message(A, 10).encode_to_vec().len();
        let retention = Retention {
            max_messages: 1000,
            max_age: Duration::from_secs(3600),
            max_bytes: one * 10,
        };
        let mut archive = Archive::in_memory(retention).unwrap();
        for ts in 10..=49 {
            let m = message(A, ts);
            archive.insert(SHARD, &m, m.hash(SHARD), ts).unwrap();
        }
        archive.prune(50).unwrap();
        let all = archive
            .answer("q", &Query::parse(&ask(&[A], true, 100)).unwrap())
            .unwrap();
        assert_eq!(times(&all), (40..=49).collect::<Vec<_>>(), "the newest ten");
    }

    #[test]
    fn a_file_archive_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        {
            let mut archive = Archive::open(&path, Retention::default()).unwrap();
            let m = message(A, now_ns());
            archive.insert(SHARD, &m, m.hash(SHARD), now_ns()).unwrap();
        }
        assert_eq!(
            Archive::open(&path, Retention::default())
                .unwrap()
                .len()
                .unwrap(),
            1
        );
    }
}
