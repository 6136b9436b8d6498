//! Captured request bodies stored as content-addressed chunks, so what a request repeats from
//! the one before it is not written again.
//!
//! Codex resends the whole conversation every turn: instructions, tools and every earlier
//! item come back byte for byte, with the new items appended to `input`. Stored whole, a
//! session of N turns writes O(N²) bytes, and the log writer's WAL and checkpoint work grows
//! with it. Here a body is cut where its content says (a gear rolling hash over the last 64
//! bytes, as in FastCDC: cut points depend only on nearby bytes, so an insertion moves the
//! cuts around it and no others), each piece is stored once under the hash of its text in
//! `body_chunks`, and the row keeps the list of hashes (`request_bodies.request_chunks`, a
//! JSON array). A new turn writes its new items and the one or two pieces around them.
//!
//! Pieces are never updated, only inserted (`ON CONFLICT DO NOTHING`) and collected by
//! [`sweep`] after a prune deleted the rows that used them. Bodies below [`INLINE_BELOW`]
//! stay inline in `request_bodies.request`, as do rows written before this existed.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::db::{Dialect, Sql, Value, query_map};
use crate::error::{Error, Result};

/// Bodies shorter than this are stored inline: a piece's row and hash would cost more than
/// the bytes.
pub const INLINE_BELOW: usize = 4096;

/// No cut before this many bytes of a piece.
const MIN: usize = 512;
/// Up to this length a cut is harder to find ([`MASK_SHORT`]), past it easier
/// ([`MASK_LONG`]): pieces cluster around it (FastCDC's normalised chunking).
const NORMAL: usize = 2048;
/// A piece is cut here at the latest.
const MAX: usize = 16 * 1024;
/// 12 high bits, tested every second byte: a cut about once in 8 KiB, used below [`NORMAL`].
const MASK_SHORT: u64 = ((1 << 12) - 1) << 52;
/// 8 high bits, tested every second byte: a cut about once in 512 bytes, past [`NORMAL`].
const MASK_LONG: u64 = ((1 << 8) - 1) << 56;

/// The gear table: one fixed pseudo-random word per byte value (splitmix64 from a constant
/// seed, so cut points never change between builds: they decide which pieces match).
const GEAR: [u64; 256] = gear_table();

const fn gear_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state: u64 = 0x6269_6672_6f73_7443;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// `GEAR[b] << 1`: two bytes roll in per step, `h = (h << 2) + (GEAR[a] << 1) + GEAR[b]`, the
/// same hash as one byte at a time with half the serial additions.
const GEAR_LS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = GEAR[i] << 1;
        i += 1;
    }
    t
};

/// The length of the first piece of `data`.
fn cut(data: &[u8]) -> usize {
    if data.len() <= MIN {
        return data.len();
    }
    let end = data.len().min(MAX);
    let normal = NORMAL.min(end);
    let mut h = 0u64;
    let mut i = MIN;
    for (mask, stop) in [(MASK_SHORT, normal), (MASK_LONG, end)] {
        while i + 2 <= stop {
            h = (h << 2)
                .wrapping_add(GEAR_LS[usize::from(data[i])])
                .wrapping_add(GEAR[usize::from(data[i + 1])]);
            i += 2;
            if h & mask == 0 {
                return i;
            }
        }
    }
    end
}

/// `text` cut into pieces from scratch: what [`Chunker`] must always arrive at.
#[cfg(test)]
fn split(text: &str) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(text.len() / NORMAL + 1);
    let mut start = 0;
    while start < text.len() {
        let end = next_end(text, start);
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

/// A piece's address: the first 128 bits of its SHA-256, in hex.
pub fn id(piece: &str) -> String {
    let digest = Sha256::digest(piece.as_bytes());
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

const INSERT_PIECE: &str =
    "INSERT INTO body_chunks (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING";

/// Ids asked for per presence query; a short list is padded by repeating its last id, so
/// there is one statement text to prepare and cache.
const PRESENCE_BATCH: usize = 64;

/// One piece of a body: where it ends, and its id when already known.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    end: usize,
    id: Option<String>,
}

/// The last body stored for a session, with its pieces.
struct Previous {
    body: String,
    /// (end, id) of each piece, in order.
    pieces: Vec<(usize, String)>,
}

/// Sessions whose last body is remembered; and the bytes they may hold.
const REMEMBERED_SESSIONS: usize = 16;
const REMEMBERED_BYTES: usize = 32 << 20;

/// Stores request bodies as pieces for the log writer, remembering each session's last body.
///
/// A Codex turn repeats the previous turn's body up to the new items, and usually after them
/// too (the tools and settings that follow `input`). Pieces of the previous body that lie in
/// the common beginning are the same pieces here, and once a cut in the common end lands
/// where the previous body had one, every piece after it is the same too: only the bytes in
/// between are cut and hashed. The result is always what cutting the whole body from scratch
/// gives (a property test checks it), so a wrong guess can only cost time.
///
/// Pieces reused from a remembered body are not looked up again: they were stored by a
/// committed batch, and only a sweep deletes pieces. Each batch starts with [`Chunker::begin`]:
/// at its first body the chunker reads the store's sweep count and forgets every remembered
/// body if it moved (a prune, from any process); a failed batch calls [`Chunker::forget`],
/// since what it stored was rolled back.
#[derive(Default)]
pub struct Chunker {
    recent: std::collections::VecDeque<(String, Previous)>,
    /// The sweep count `recent` is valid for.
    sweeps: Option<i64>,
    /// The count was read in this batch.
    checked: bool,
}

impl Chunker {
    /// Starts a batch. The sweep count is read at the batch's first body, not here: by then
    /// the batch has written its row, so it holds SQLite's write lock (a read first would
    /// make the later write fail if a prune committed in between), and on PostgreSQL the
    /// writers' commit lock, which a prune takes before it sweeps.
    pub fn begin(&mut self) {
        self.checked = false;
    }

    /// Keeps remembered bodies only while no sweep ran since they were stored.
    fn check_sweeps(&mut self, tx: &(impl Sql + ?Sized)) -> Result<()> {
        let n = query_map(tx, "SELECT n FROM body_sweeps WHERE id = 1", &[], |r| {
            r.get::<i64>(0)
        })?
        .into_iter()
        .next();
        if n.is_none() || n != self.sweeps {
            self.recent.clear();
        }
        self.sweeps = n;
        self.checked = true;
        Ok(())
    }

    /// Forgets every remembered body: the batch that stored them did not commit.
    pub fn forget(&mut self) {
        self.recent.clear();
        self.sweeps = None;
        self.checked = false;
    }

    /// Stores `body`'s pieces that are not stored yet and returns the list of their ids
    /// (JSON) for the row. Runs inside the writer's transaction. `session` says whose last
    /// body to compare with.
    pub fn store(&mut self, tx: &(impl Sql + ?Sized), session: &str, body: &str) -> Result<String> {
        if !self.checked {
            self.check_sweeps(tx)?;
        }
        let at = self.recent.iter().position(|(s, _)| s == session);
        let prev = at.and_then(|i| self.recent.remove(i)).map(|(_, p)| p);
        let mut plan = plan(body, prev.as_ref());
        if !covers(body, &plan) {
            // Cannot happen (a property test holds plans equal to cutting from scratch); if it
            // did, cutting from scratch is always right.
            tracing::error!("body pieces planned from the previous body were inconsistent");
            plan = self::plan(body, None);
        }
        let mut pieces = Vec::with_capacity(plan.len());
        // The pieces not reused from the previous body, (text, id): only these may be missing.
        let mut fresh = Vec::new();
        let mut start = 0;
        for p in plan {
            let text = &body[start..p.end];
            let id = match p.id {
                Some(known) => known,
                None => {
                    let id = id(text);
                    fresh.push((text, id.clone()));
                    id
                }
            };
            pieces.push((p.end, id));
            start = p.end;
        }
        insert_missing(tx, &fresh)?;
        let list = serde_json::to_string(&pieces.iter().map(|(_, id)| id).collect::<Vec<_>>())?;
        // Remember this body for the session's next turn, within the memory bound.
        let mut reuse = prev.map(|p| p.body).unwrap_or_default();
        reuse.clear();
        reuse.push_str(body);
        self.recent.push_front((
            session.to_string(),
            Previous {
                body: reuse,
                pieces,
            },
        ));
        while self.recent.len() > REMEMBERED_SESSIONS
            || self.recent.iter().map(|(_, p)| p.body.len()).sum::<usize>() > REMEMBERED_BYTES
        {
            if self.recent.pop_back().is_none() {
                break;
            }
        }
        Ok(list)
    }
}

/// Whether `plan`'s pieces run from the start of `body` to its end, in order, each ending on
/// a character boundary, so slicing by them cannot fail.
fn covers(body: &str, plan: &[Piece]) -> bool {
    let mut start = 0;
    for p in plan {
        if p.end <= start || !body.is_char_boundary(p.end) {
            return false;
        }
        start = p.end;
    }
    start == body.len()
}

/// The presence query: [`PRESENCE_BATCH`] placeholders.
static PRESENCE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let marks = vec!["?"; PRESENCE_BATCH].join(", ");
    format!("SELECT id FROM body_chunks WHERE id IN ({marks})")
});

/// Inserts the pieces (text, id) the store does not have: one presence query per
/// [`PRESENCE_BATCH`] ids (a round trip on PostgreSQL), then one insert per missing piece.
fn insert_missing(tx: &(impl Sql + ?Sized), pieces: &[(&str, String)]) -> Result<()> {
    let mut written: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for batch in pieces.chunks(PRESENCE_BATCH) {
        let mut params: Vec<Value> = batch.iter().map(|(_, id)| Value::from(id)).collect();
        let last = params.last().cloned().unwrap_or(Value::Null);
        params.resize(PRESENCE_BATCH, last);
        let present: std::collections::HashSet<String> =
            query_map(tx, &PRESENCE, &params, |r| r.get::<String>(0))?
                .into_iter()
                .collect();
        for (text, id) in batch {
            if present.contains(id) || !written.insert(id) {
                continue;
            }
            tx.execute(INSERT_PIECE, &[Value::from(id), Value::from(*text)])?;
        }
    }
    Ok(())
}

/// Where `body`'s pieces end, with the ids of those `prev` already had. Pieces are cut at
/// content-defined points ([`cut`]), each end moved to a character boundary (pieces are
/// stored as text).
fn plan(body: &str, prev: Option<&Previous>) -> Vec<Piece> {
    let fresh = |from: usize, out: &mut Vec<Piece>| {
        let mut start = from;
        while start < body.len() {
            let end = next_end(body, start);
            out.push(Piece { end, id: None });
            start = end;
        }
    };
    let mut out = Vec::new();
    let Some(prev) = prev else {
        fresh(0, &mut out);
        return out;
    };
    let (a, b) = (body.as_bytes(), prev.body.as_bytes());
    if a == b {
        return prev
            .pieces
            .iter()
            .map(|(end, id)| Piece {
                end: *end,
                id: Some(id.clone()),
            })
            .collect();
    }
    let prefix = common_prefix(a, b);
    let suffix = common_suffix(&a[prefix..], &b[prefix.min(b.len())..]);
    // Pieces wholly inside the common beginning, except the previous body's last one (cut
    // where that body ended, not where its content said).
    let mut start = 0;
    for (end, id) in &prev.pieces {
        if *end >= prefix || *end == b.len() {
            break;
        }
        out.push(Piece {
            end: *end,
            id: Some(id.clone()),
        });
        start = *end;
    }
    // Cut on until a piece starts in the common end where one started before: the rest is
    // the previous body's.
    let suffix_from = a.len() - suffix;
    while start < a.len() {
        if start >= suffix_from {
            let old = start + b.len() - a.len();
            let old_start = old == 0 || prev.pieces.binary_search_by_key(&old, |(e, _)| *e).is_ok();
            if old_start {
                for (end, id) in prev.pieces.iter().filter(|(e, _)| *e > old) {
                    out.push(Piece {
                        end: end + a.len() - b.len(),
                        id: Some(id.clone()),
                    });
                }
                return out;
            }
        }
        let end = next_end(body, start);
        out.push(Piece { end, id: None });
        start = end;
    }
    out
}

/// The end of the piece of `body` that starts at `start`.
fn next_end(body: &str, start: usize) -> usize {
    let mut end = start + cut(&body.as_bytes()[start..]);
    while !body.is_char_boundary(end) {
        end += 1;
    }
    end
}

/// The length of the longest common beginning of `a` and `b`: 4 KiB blocks compared with
/// `memcmp`, then 64-byte ones, then bytes.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    for block in [4096, 64, 1] {
        while i + block <= n && a[i..i + block] == b[i..i + block] {
            i += block;
        }
    }
    i
}

/// The length of the longest common end of `a` and `b`, the same way from the back.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    for block in [4096, 64, 1] {
        while i + block <= n && a[n - i - block..n - i] == b[n - i - block..n - i] {
            i += block;
        }
    }
    i
}

/// Ids per `SELECT ... IN (...)`, well under SQLite's parameter limit.
const LOAD_BATCH: usize = 256;

/// Puts a body back together from the ids [`store`] returned.
pub fn load(db: &(impl Sql + ?Sized), list: &str) -> Result<String> {
    let ids: Vec<String> = serde_json::from_str(list)
        .map_err(|e| Error::Internal(format!("a stored body's piece list is unreadable: {e}")))?;
    let mut wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: HashMap<String, String> = HashMap::with_capacity(wanted.len());
    for batch in wanted.chunks(LOAD_BATCH) {
        let marks = vec!["?"; batch.len()].join(", ");
        let params: Vec<Value> = batch.iter().map(|&id| Value::from(id)).collect();
        for (id, data) in query_map(
            db,
            &format!("SELECT id, data FROM body_chunks WHERE id IN ({marks})"),
            &params,
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
        )? {
            found.insert(id, data);
        }
    }
    let mut body = String::with_capacity(found.values().map(String::len).sum());
    for id in &ids {
        let Some(piece) = found.get(id) else {
            return Err(Error::Internal(format!(
                "a stored request body is incomplete: piece {id} is missing from body_chunks \
                 (was the database edited by hand?)"
            )));
        };
        body.push_str(piece);
    }
    Ok(body)
}

/// Deletes the pieces no row refers to any more; returns how many. Called after a prune
/// deleted body rows, in the same transaction.
pub fn sweep(tx: &(impl Sql + ?Sized)) -> Result<u64> {
    let sql = match tx.dialect() {
        // NOT IN over a subquery: SQLite builds one temporary index of the referenced ids.
        Dialect::Sqlite => {
            "DELETE FROM body_chunks WHERE id NOT IN (
                SELECT j.value FROM request_bodies b, json_each(b.request_chunks) j
                WHERE b.request_chunks IS NOT NULL)"
        }
        // NOT EXISTS: PostgreSQL plans an anti-join, which spills to disk when the ids do
        // not fit in memory (NOT IN would compare every pair instead).
        Dialect::Postgres => {
            "DELETE FROM body_chunks c WHERE NOT EXISTS (
                SELECT 1 FROM (SELECT json_array_elements_text(request_chunks::json) AS id
                               FROM request_bodies WHERE request_chunks IS NOT NULL) r
                WHERE r.id = c.id)"
        }
    };
    let swept = tx.execute(sql, &[])?;
    // Writers forget the pieces they remember as stored (see `Chunker::begin`).
    tx.execute("UPDATE body_sweeps SET n = n + 1 WHERE id = 1", &[])?;
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Codex-like body: fixed instructions and tools around a growing list of items.
    fn turn(items: usize) -> String {
        let mut input = Vec::new();
        for i in 0..items {
            input.push(format!(
                r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"turn {i}: {}"}}]}}"#,
                "please look at the failing test and fix it. ".repeat(20 + i % 7)
            ));
        }
        format!(
            r#"{{"model":"gpt-5.5","instructions":"{}","input":[{}],"tools":[{}],"stream":true}}"#,
            "You are a coding agent. Ünïcödé ✓ keeps pieces on char boundaries. ".repeat(200),
            input.join(","),
            r#"{"type":"function","name":"shell","parameters":{"type":"object"}}"#.repeat(40)
        )
    }

    #[test]
    fn pieces_cover_the_body_on_char_boundaries_within_bounds() {
        let body = turn(12);
        let pieces = split(&body);
        assert_eq!(pieces.concat(), body);
        let (last, rest) = pieces.split_last().unwrap_or((&"", &[]));
        for p in rest {
            // At least MIN, at most MAX plus the bytes of one character.
            assert!(
                p.len() >= MIN && p.len() <= MAX + 3,
                "piece of {} bytes",
                p.len()
            );
        }
        assert!(!last.is_empty());
        let avg = body.len() / pieces.len();
        assert!((1024..=8192).contains(&avg), "average piece {avg} bytes");
        assert!(split("").is_empty());
        assert!(covers("", &[]) && !covers("ab", &[]));
        assert!(
            !covers("é", &[Piece { end: 1, id: None }]),
            "inside a character"
        );
        assert_eq!(split("short"), ["short"]);
    }

    /// Bytes of `after`'s pieces that `before` did not have.
    fn new_bytes(before: &str, after: &str) -> usize {
        let old: std::collections::HashSet<String> = split(before).into_iter().map(id).collect();
        split(after)
            .into_iter()
            .filter(|p| !old.contains(&id(p)))
            .map(str::len)
            .sum()
    }

    #[test]
    fn a_next_turn_shares_all_but_the_pieces_around_its_new_items() {
        let before = turn(10);
        let after = turn(11);
        let new_bytes = new_bytes(&before, &after);
        let appended = after.len() - before.len();
        assert!(
            new_bytes <= appended + 2 * MAX,
            "{new_bytes} new bytes for {appended} appended"
        );
        assert!(
            new_bytes * 4 < after.len(),
            "most of the body is shared: {new_bytes} of {}",
            after.len()
        );
    }

    /// A fixture as Codex sends it: compact JSON.
    fn compact(fixture: &str) -> String {
        serde_json::from_str::<serde_json::Value>(fixture)
            .and_then(|v| serde_json::to_string(&v))
            .unwrap_or_default()
    }

    #[test]
    fn real_codex_turns_store_little_more_than_their_new_items() {
        // Two turns of one real Codex 0.169 session: the second adds a reasoning item, a
        // function call and its output to the first's four messages.
        let one = compact(include_str!(
            "../../tests/fixtures/codex/request_turn1_gpt55.json"
        ));
        let two = compact(include_str!(
            "../../tests/fixtures/codex/request_turn2_reasoning_tool_output.json"
        ));
        assert!(one.len() > 10_000 && two.len() > one.len());
        let new_bytes = new_bytes(&one, &two);
        eprintln!(
            "turn 1: {} bytes; turn 2: {} bytes, {} of them new as pieces",
            one.len(),
            two.len(),
            new_bytes
        );
        assert!(
            new_bytes * 3 < two.len(),
            "turn 2 stores {new_bytes} of its {} bytes",
            two.len()
        );
    }

    /// What [`plan`] gives, as (piece text, id) pairs; ids filled in as `store` does.
    fn planned<'a>(body: &'a str, prev: Option<&Previous>) -> Vec<(&'a str, String)> {
        let mut start = 0;
        plan(body, prev)
            .into_iter()
            .map(|p| {
                let text = &body[start..p.end];
                start = p.end;
                (text, p.id.unwrap_or_else(|| id(text)))
            })
            .collect()
    }

    fn previous(body: &str) -> Previous {
        let mut end = 0;
        Previous {
            body: body.to_string(),
            pieces: split(body)
                .into_iter()
                .map(|p| {
                    end += p.len();
                    (end, id(p))
                })
                .collect(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Reusing the previous body's pieces never changes the result: the same pieces, with
        /// the same ids, as cutting and hashing the body from scratch.
        #[test]
        fn planning_against_the_previous_body_equals_splitting_from_scratch(
            turns in 1usize..14,
            cut_at in 0usize..100_000,
            removed in 0usize..3000,
            inserted in proptest::collection::vec(proptest::prelude::any::<char>(), 0..400),
        ) {
            let before = turn(turns);
            let mut at = cut_at % (before.len() + 1);
            while !before.is_char_boundary(at) {
                at -= 1;
            }
            let mut to = (at + removed).min(before.len());
            while !before.is_char_boundary(to) {
                to += 1;
            }
            let inserted: String = inserted.into_iter().collect();
            let after = format!("{}{inserted}{}", &before[..at], &before[to..]);
            let want: Vec<(&str, String)> =
                split(&after).into_iter().map(|p| (p, id(p))).collect();
            proptest::prop_assert!(covers(&after, &plan(&after, Some(&previous(&before)))));
            proptest::prop_assert_eq!(planned(&after, Some(&previous(&before))), want.clone());
            proptest::prop_assert_eq!(planned(&after, None), want);
        }
    }

    #[test]
    fn a_next_turn_is_mostly_planned_from_the_previous_one() {
        let before = turn(10);
        let after = turn(11);
        let pieces = plan(&after, Some(&previous(&before)));
        let mut start = 0;
        let mut hashed = 0;
        for p in &pieces {
            if p.id.is_none() {
                hashed += p.end - start;
            }
            start = p.end;
        }
        assert!(
            hashed * 4 < after.len(),
            "{hashed} of {} bytes cut and hashed",
            after.len()
        );
        assert_eq!(
            plan(&after, Some(&previous(&after)))
                .iter()
                .filter(|p| p.id.is_none())
                .count(),
            0
        );
    }

    #[test]
    fn ids_are_stable_hex_and_differ_by_content() {
        assert_eq!(id("abc"), "ba7816bf8f01cfea414140de5dae2223");
        assert_ne!(id("abc"), id("abd"));
        // The gear table is part of the stored format: a change would stop pieces matching
        // the ones stored by earlier builds.
        assert_eq!(GEAR[0], 0x96b4_955c_5c61_7429, "gear table changed");
    }

    /// An in-memory store with the real schema.
    fn migrated() -> Result<rusqlite::Connection> {
        let mut conn = rusqlite::Connection::open_in_memory()?;
        crate::store::schema::migrate_sqlite(&mut conn)?;
        Ok(conn)
    }

    #[test]
    fn stored_pieces_load_back_and_unreferenced_ones_are_swept() -> Result<()> {
        let conn = migrated()?;
        let a = turn(10);
        let b = turn(11);
        let mut chunker = Chunker::default();
        let list_a = chunker.store(&conn, "s", &a)?;
        let list_b = chunker.store(&conn, "s", &b)?;
        assert_eq!(load(&conn, &list_a)?, a);
        assert_eq!(load(&conn, &list_b)?, b);
        conn.execute(
            "INSERT INTO request_bodies (request_id, request_chunks) VALUES ('b', ?1)",
            rusqlite::params![list_b],
        )?;
        let before: i64 = conn.query_row("SELECT COUNT(*) FROM body_chunks", [], |r| r.get(0))?;
        let swept = sweep(&conn)?;
        assert!(
            swept > 0 && (swept as i64) < before,
            "swept {swept} of {before}"
        );
        assert_eq!(load(&conn, &list_b)?, b, "what a row uses survives");
        assert!(load(&conn, &list_a).is_err(), "a's own pieces are gone");
        Ok(())
    }

    #[test]
    fn a_sweep_makes_writers_store_remembered_pieces_again() -> Result<()> {
        let conn = migrated()?;
        let a = turn(10);
        let (mut checked, mut stale) = (Chunker::default(), Chunker::default());
        for c in [&mut checked, &mut stale] {
            c.begin();
            c.store(&conn, "s", &a)?;
        }
        // No row refers to `a`: a prune sweeps all its pieces, which both chunkers remember.
        assert!(sweep(&conn)? > 0);
        // The next batch: one chunker sees the sweep count move and forgets; the other, still
        // in its first batch (no `begin`), reuses its memory and leaves the row unreadable.
        checked.begin();
        let list = checked.store(&conn, "s", &a)?;
        assert_eq!(load(&conn, &list)?, a);
        conn.execute("DELETE FROM body_chunks", [])?;
        let list = stale.store(&conn, "s", &a)?;
        assert!(
            load(&conn, &list).is_err(),
            "remembered pieces are not looked up"
        );
        // A failed batch forgets too.
        checked.forget();
        checked.begin();
        let list = checked.store(&conn, "s", &a)?;
        assert_eq!(load(&conn, &list)?, a);
        Ok(())
    }
}
