//! The one filter-to-SQL builder over `requests`, shared by the CLI's readers
//! (`store::query`) and the dashboard's (`dashboard::query`): each condition is written once,
//! values are always bound, never spliced.

use super::db::{Dialect, Value};

/// A `WHERE` clause under construction.
#[derive(Debug, Clone)]
pub struct Where {
    dialect: Dialect,
    conds: Vec<String>,
    args: Vec<Value>,
}

/// `%text%` with `LIKE`'s wildcards escaped (for `ESCAPE '\'`).
pub fn like_contains(s: &str) -> String {
    format!("%{}%", like_escape(s))
}

/// `s` with `\`, `%` and `_` escaped for `LIKE ... ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Where {
    /// No condition yet.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            conds: Vec::new(),
            args: Vec::new(),
        }
    }

    fn push(&mut self, cond: impl Into<String>, args: impl IntoIterator<Item = Value>) {
        self.conds.push(cond.into());
        self.args.extend(args);
    }

    /// Only this session.
    pub fn session(&mut self, id: Option<&str>) -> &mut Self {
        if let Some(s) = id {
            self.push("session_id = ?", [Value::from(s)]);
        }
        self
    }

    /// Arrived at or after this Unix millisecond.
    pub fn since(&mut self, ms: Option<i64>) -> &mut Self {
        if let Some(t) = ms {
            self.push("started_at >= ?", [Value::Int(t)]);
        }
        self
    }

    /// Arrived before this Unix millisecond.
    pub fn before(&mut self, ms: Option<i64>) -> &mut Self {
        if let Some(t) = ms {
            self.push("started_at < ?", [Value::Int(t)]);
        }
        self
    }

    /// The requested model or `provider/upstream_model`; with `upstream`, the bare upstream
    /// model too (the dashboard's menu lists both).
    pub fn model(&mut self, m: Option<&str>, upstream: bool) -> &mut Self {
        if let Some(m) = m {
            if upstream {
                self.push(
                    "(model = ? OR upstream_model = ? OR (provider || '/' || upstream_model) = ?)",
                    [Value::from(m), Value::from(m), Value::from(m)],
                );
            } else {
                self.push(
                    "(model = ? OR provider || '/' || upstream_model = ?)",
                    [Value::from(m), Value::from(m)],
                );
            }
        }
        self
    }

    /// Only this provider.
    pub fn provider(&mut self, p: Option<&str>) -> &mut Self {
        if let Some(p) = p {
            self.push("provider = ?", [Value::from(p)]);
        }
        self
    }

    /// Only failed requests (`Some(false)`), only successful ones (`Some(true)`).
    pub fn ok(&mut self, ok: Option<bool>) -> &mut Self {
        match ok {
            Some(true) => self.push("(error IS NULL AND http_status < 400)", []),
            Some(false) => self.push("(error IS NOT NULL OR http_status >= 400)", []),
            None => {}
        }
        self
    }

    /// Free text in the model, upstream model, error or id (case-insensitive).
    pub fn text(&mut self, q: Option<&str>) -> &mut Self {
        if let Some(q) = q {
            let like = self.dialect.ilike();
            let cond = ["model", "upstream_model", "error", "id"]
                .map(|c| format!("{c} {like} ? ESCAPE '\\'"))
                .join(" OR ");
            let v = Value::Text(like_contains(q));
            self.push(format!("({cond})"), [v.clone(), v.clone(), v.clone(), v]);
        }
        self
    }

    /// Ids before this one (ids are time-ordered UUID v7): the dashboard's cursor.
    pub fn id_before(&mut self, id: Option<&str>) -> &mut Self {
        if let Some(b) = id {
            self.push("id < ?", [Value::from(b)]);
        }
        self
    }

    /// Rows committed after this insertion sequence number (`logs --follow`).
    pub fn seq_after(&mut self, seq: Option<i64>) -> &mut Self {
        if let Some(r) = seq {
            let col = self.dialect.seq();
            self.push(format!("{col} > ?"), [Value::Int(r)]);
        }
        self
    }

    /// ` WHERE a AND b` (or empty) and its bound values, in order.
    pub fn build(&self) -> (String, Vec<Value>) {
        if self.conds.is_empty() {
            (String::new(), self.args.clone())
        } else {
            (
                format!(" WHERE {}", self.conds.join(" AND ")),
                self.args.clone(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_and_values_line_up() {
        let mut w = Where::new(Dialect::Postgres);
        w.session(Some("s1"))
            .since(Some(5))
            .model(Some("gpt"), false)
            .ok(Some(false))
            .text(Some("50%"))
            .seq_after(Some(9));
        let (sql, args) = w.build();
        assert_eq!(
            sql,
            " WHERE session_id = ? AND started_at >= ? AND (model = ? OR provider || '/' || upstream_model = ?) AND (error IS NOT NULL OR http_status >= 400) AND (model ILIKE ? ESCAPE '\\' OR upstream_model ILIKE ? ESCAPE '\\' OR error ILIKE ? ESCAPE '\\' OR id ILIKE ? ESCAPE '\\') AND seq > ?"
        );
        assert_eq!(args.len(), 1 + 1 + 2 + 4 + 1);
        assert_eq!(args[4], Value::Text("%50\\%%".into()));
        assert_eq!(args[8], Value::Int(9));
        let empty = Where::new(Dialect::Sqlite).build();
        assert_eq!(empty, (String::new(), vec![]));
        let mut w = Where::new(Dialect::Sqlite);
        w.seq_after(Some(1));
        assert_eq!(w.build().0, " WHERE rowid > ?");
    }
}
