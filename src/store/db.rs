//! One small SQL API over both store backends, so every reader and writer is written once.
//!
//! [`Sql`] is implemented by a SQLite connection (and so by its transactions) and by a
//! PostgreSQL client or transaction ([`PgConn`]); [`Db`] is the enum a command opens. Queries
//! are written with SQLite's `?` / `?N` placeholders and rewritten to `$N` for PostgreSQL
//! ([`to_pg_placeholders`]); parameters are [`Value`]s and rows are read by index into
//! [`Row`]s. SQL that must differ between the two asks [`Sql::dialect`].
//!
//! The PostgreSQL client is the sync `postgres` crate, which runs its own runtime and panics
//! when called on a tokio runtime thread. Every store call therefore runs on a thread of its
//! own: the writer thread, `spawn_blocking` (through [`super::Pool`]), or a command without a
//! runtime (`logs`, `stats`, `sessions`).

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type};

use crate::error::{Error, Result};

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Dialect {
    /// The column that orders `requests` rows by insertion (commit) order: SQLite's `rowid`,
    /// PostgreSQL's identity column `seq` (see the writer for why it is commit-ordered).
    pub fn seq(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "seq",
        }
    }

    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is for ASCII).
    pub fn ilike(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }

    /// `GROUP_CONCAT(DISTINCT expr)` with `,` between values.
    pub fn concat_distinct(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("GROUP_CONCAT(DISTINCT {expr})"),
            Dialect::Postgres => format!("STRING_AGG(DISTINCT {expr}, ',')"),
        }
    }
}

/// A bound parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer (booleans are 0 / 1).
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Parameters from a list of values convertible to [`Value`]: `sql_params![id, n, None::<i64>]`.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_params {
    ($($v:expr),* $(,)?) => { &[$($crate::store::Value::from($v)),*] as &[$crate::store::Value] };
}

/// One result row, read by column index.
#[derive(Debug, Clone, Default)]
pub struct Row(Vec<Value>);

/// A Rust type a column value converts into.
pub trait FromValue: Sized {
    /// Converts, or says why not.
    fn from_value(v: &Value) -> std::result::Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            Value::Real(f) if f.fract() == 0.0 => Ok(*f as i64),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
impl FromValue for i32 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        i32::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}
impl FromValue for u16 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        u16::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl Row {
    /// Column `i` as `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| Error::Internal(format!("store row has no column {i}")))?;
        T::from_value(v).map_err(|e| Error::Internal(format!("store column {i}: {e}")))
    }
}

/// What both backends can do.
pub trait Sql {
    /// The dialect, for the few statements that differ.
    fn dialect(&self) -> Dialect;
    /// Runs a query and hands each row to `f`, one at a time.
    fn each_row(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()>;
    /// Runs a statement; returns the rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs several statements without parameters.
    fn execute_batch(&self, sql: &str) -> Result<()>;
}

/// Every row of a query, mapped.
pub fn query_map<T>(
    db: &(impl Sql + ?Sized),
    sql: &str,
    params: &[Value],
    mut map: impl FnMut(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    db.each_row(sql, params, &mut |r| {
        out.push(map(r)?);
        Ok(())
    })?;
    Ok(out)
}

/// The first row of a query, mapped, or `None`.
pub fn query_opt<T>(
    db: &(impl Sql + ?Sized),
    sql: &str,
    params: &[Value],
    map: impl FnOnce(&Row) -> Result<T>,
) -> Result<Option<T>> {
    let mut first = None;
    db.each_row(sql, params, &mut |r| {
        if first.is_none() {
            first = Some(r.clone());
        }
        Ok(())
    })?;
    first.as_ref().map(map).transpose()
}

/// The one row of a query (an aggregate), mapped.
pub fn query_one<T>(
    db: &(impl Sql + ?Sized),
    sql: &str,
    params: &[Value],
    map: impl FnOnce(&Row) -> Result<T>,
) -> Result<T> {
    query_opt(db, sql, params, map)?
        .ok_or_else(|| Error::Internal("the store returned no row for an aggregate".into()))
}

// ---------------------------------------------------------------- SQLite

fn sqlite_param(v: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    match v {
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(sqlite_param(self))
    }
}

fn sqlite_row(r: &rusqlite::Row<'_>, n: usize) -> Result<Row> {
    use rusqlite::types::ValueRef;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match r.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => Value::Real(v),
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                Value::Text(String::from_utf8_lossy(t).into_owned())
            }
        });
    }
    Ok(Row(out))
}

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            f(&sqlite_row(r, n)?)?;
        }
        Ok(())
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let n = self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params.iter()))?;
        Ok(n as u64)
    }

    fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(rusqlite::Connection::execute_batch(self, sql)?)
    }
}

// ---------------------------------------------------------------- PostgreSQL

impl ToSql for Value {
    /// Binary encodings for the column types the schema uses; anything else is refused
    /// rather than sent in the wrong encoding.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let text_like = matches!(
            *ty,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
        );
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                _ if text_like => i.to_string().as_str().to_sql(&Type::TEXT, out),
                ref other => Err(format!("an integer parameter for a {other} value").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                ref other => Err(format!("a float parameter for a {other} value").into()),
            },
            Value::Text(s) if text_like => s.as_str().to_sql(&Type::TEXT, out),
            Value::Text(_) => Err(format!("a text parameter for a {ty} value").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql(ty, out)
    }
}

fn pg_row(r: &postgres::Row) -> Result<Row> {
    let mut out = Vec::with_capacity(r.len());
    for (i, c) in r.columns().iter().enumerate() {
        let v = match *c.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Value::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)?
                .map(|v| Value::Real(f64::from(v))),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                r.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            ref other => {
                return Err(Error::Internal(format!(
                    "store column `{}` has PostgreSQL type {other}; cast it in SQL (e.g. CAST(SUM(x) AS BIGINT))",
                    c.name()
                )));
            }
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

/// Rewrites SQLite placeholders (`?`, `?N`) to PostgreSQL's (`$N`) outside string literals,
/// quoted identifiers and comments. A bare `?` takes the next number after the highest used.
pub fn to_pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // Copy to the closing quote; a doubled quote is an escaped one and simply
                // closes and reopens.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => next + 1,
                };
                next = next.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            c => out.push(c),
        }
    }
    out
}

/// A PostgreSQL client or transaction behind [`Sql`], with its prepared statements cached
/// per SQL text (the writer runs the same few inserts for every row).
pub struct PgConn<'a, C> {
    client: RefCell<C>,
    stmts: &'a RefCell<HashMap<String, postgres::Statement>>,
}

impl<C: postgres::GenericClient> PgConn<'_, C> {
    fn statement(&self, client: &mut C, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.stmts.try_borrow()?.get(sql) {
            return Ok(s.clone());
        }
        let stmt = client.prepare(&to_pg_placeholders(sql))?;
        let mut cache = self.stmts.try_borrow_mut()?;
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

impl<C: postgres::GenericClient> Sql for PgConn<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut client = self.client.try_borrow_mut()?;
        let stmt = self.statement(&mut client, sql)?;
        let mut rows = client.query_raw(&stmt, params.iter().map(|v| v as &dyn ToSql))?;
        while let Some(r) = rows.next()? {
            f(&pg_row(&r)?)?;
        }
        Ok(())
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut client = self.client.try_borrow_mut()?;
        let stmt = self.statement(&mut client, sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        Ok(client.execute(&stmt, &refs)?)
    }

    fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(self.client.try_borrow_mut()?.batch_execute(sql)?)
    }
}

impl From<std::cell::BorrowMutError> for Error {
    fn from(_: std::cell::BorrowMutError) -> Self {
        Error::Internal("a store connection was used re-entrantly".into())
    }
}
impl From<std::cell::BorrowError> for Error {
    fn from(_: std::cell::BorrowError) -> Self {
        Error::Internal("a store connection was used re-entrantly".into())
    }
}

/// A connection to either backend.
pub enum Db {
    /// The embedded file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL server.
    Postgres(Box<PgHandle>),
}

/// A PostgreSQL connection usable through `&self` (queries need the client mutably).
pub struct PgHandle {
    client: RefCell<Option<postgres::Client>>,
    stmts: RefCell<HashMap<String, postgres::Statement>>,
}

impl PgHandle {
    /// Wraps a connected client.
    pub fn new(client: postgres::Client) -> Self {
        Self {
            client: RefCell::new(Some(client)),
            stmts: RefCell::new(HashMap::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&PgConn<'_, postgres::Client>) -> Result<T>) -> Result<T> {
        let mut slot = self.client.try_borrow_mut()?;
        let client = slot
            .take()
            .ok_or_else(|| Error::Internal("the PostgreSQL connection is gone".into()))?;
        let conn = PgConn {
            client: RefCell::new(client),
            stmts: &self.stmts,
        };
        let out = f(&conn);
        *slot = Some(conn.client.into_inner());
        out
    }

    /// Whether the server closed the connection (it must be reopened).
    pub fn is_closed(&self) -> bool {
        self.client
            .try_borrow()
            .map(|c| c.as_ref().is_none_or(postgres::Client::is_closed))
            .unwrap_or(false)
    }
}

impl Sql for Db {
    fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            Db::Sqlite(c) => c.each_row(sql, params, f),
            Db::Postgres(p) => p.with(|c| c.each_row(sql, params, f)),
        }
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self {
            Db::Sqlite(c) => Sql::execute(c, sql, params),
            Db::Postgres(p) => p.with(|c| c.execute(sql, params)),
        }
    }

    fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(c) => Sql::execute_batch(c, sql),
            Db::Postgres(p) => p.with(|c| c.execute_batch(sql)),
        }
    }
}

impl Db {
    /// Runs `f` in one transaction, committed when it returns `Ok` and rolled back otherwise.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        match self {
            Db::Sqlite(c) => {
                let tx = c.transaction()?;
                let out = f(&*tx)?;
                tx.commit()?;
                Ok(out)
            }
            Db::Postgres(p) => {
                let PgHandle { client, stmts } = &mut **p;
                let client = client
                    .get_mut()
                    .as_mut()
                    .ok_or_else(|| Error::Internal("the PostgreSQL connection is gone".into()))?;
                let tx = client.transaction()?;
                let conn = PgConn {
                    client: RefCell::new(tx),
                    stmts,
                };
                let out = f(&conn)?;
                conn.client.into_inner().commit()?;
                Ok(out)
            }
        }
    }

    /// Checks that the store answers (`SELECT 1`): what a readiness probe calls.
    pub fn ping(&self) -> Result<()> {
        query_one(self, "SELECT 1", &[], |r| r.get::<i64>(0)).map(drop)
    }

    /// Whether this connection is broken for good and must be reopened.
    pub fn is_broken(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Postgres(p) => p.is_closed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_literals() {
        assert_eq!(
            to_pg_placeholders("SELECT a FROM t WHERE b = ? AND c = ? LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $3"
        );
        assert_eq!(
            to_pg_placeholders("UPDATE s SET e = ?2, x = ?3 WHERE id = ?1 AND y = ?1"),
            "UPDATE s SET e = $2, x = $3 WHERE id = $1 AND y = $1"
        );
        assert_eq!(
            to_pg_placeholders("SELECT '?', 'it''s ?', \"col?\" FROM t WHERE a LIKE ? ESCAPE '\\'"),
            "SELECT '?', 'it''s ?', \"col?\" FROM t WHERE a LIKE $1 ESCAPE '\\'"
        );
        assert_eq!(
            to_pg_placeholders("SELECT 1 -- what? \nWHERE a = ?"),
            "SELECT 1 -- what? \nWHERE a = $1"
        );
        assert_eq!(to_pg_placeholders("no params"), "no params");
    }

    #[test]
    fn values_convert_both_ways() -> Result<()> {
        let row = Row(vec![
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Int(0),
            Value::Real(2.0),
        ]);
        assert_eq!(row.get::<i64>(0)?, 7);
        assert_eq!(row.get::<u16>(0)?, 7);
        assert_eq!(row.get::<Option<String>>(1)?, None);
        assert_eq!(row.get::<String>(2)?, "x");
        assert!(!row.get::<bool>(3)?);
        assert_eq!(row.get::<i64>(4)?, 2);
        assert!(row.get::<String>(0).is_err());
        assert!(row.get::<i64>(9).is_err());
        assert_eq!(Value::from(Some("a")), Value::Text("a".into()));
        assert_eq!(Value::from(None::<i64>), Value::Null);
        assert_eq!(Value::from(true), Value::Int(1));
        Ok(())
    }

    #[test]
    fn sqlite_runs_the_portable_api() -> Result<()> {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory()?);
        db.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")?;
        db.transaction(|tx| {
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                crate::sql_params![1i64, "one"],
            )?;
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2)",
                crate::sql_params![2i64, None::<String>],
            )?;
            Ok(())
        })?;
        let rows = query_map(&db, "SELECT a, b FROM t ORDER BY a", &[], |r| {
            Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?))
        })?;
        assert_eq!(rows, vec![(1, Some("one".into())), (2, None)]);
        db.ping()?;
        Ok(())
    }
}
