//! Spending limits (`[budget]`): what was spent today and this month (UTC), whether that is
//! fine, worth a warning, or over a limit, and the gateway's cheap per-request check.
//!
//! The gateway never queries the store per request: a [`Guard`] keeps the spend it last read
//! (refreshed every [`REFRESH`] by a background task) plus the cost of the requests this
//! gateway finished since, and answers from those two atomics.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::Serialize;

use crate::config::BudgetConfig;
use crate::error::Result;
use crate::summary::fmt_cost;

/// How often an enforcing gateway re-reads the spend from the store.
pub const REFRESH: Duration = Duration::from_secs(2);

const DAY_MS: i64 = 86_400_000;

/// Micro-USD spent in the current UTC day and month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    /// Since 00:00 UTC today.
    pub today_micro: i64,
    /// Since the first of this month, 00:00 UTC.
    pub month_micro: i64,
}

/// Where spend stands against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Under `warn_at` of every limit.
    Ok,
    /// At or past `warn_at` of a limit.
    Warn,
    /// At or past a limit.
    Exceeded,
}

/// The state of the tightest limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Ok, warn or exceeded.
    pub level: Level,
    /// `daily` or `monthly`.
    pub period: &'static str,
    /// USD spent in that period.
    pub spent_usd: f64,
    /// The limit.
    pub limit_usd: f64,
}

impl Status {
    fn when(&self) -> &'static str {
        if self.period == "daily" {
            "today (UTC)"
        } else {
            "this month (UTC)"
        }
    }

    /// One line for the session summary.
    pub fn warning(&self) -> String {
        let what = match self.level {
            Level::Exceeded => "budget exceeded",
            _ => "budget warning",
        };
        format!(
            "bifrost: {what}: {} spent {}, {:.0}% of the {} {} limit ([budget] {}_usd)",
            fmt_cost(Some(self.spent_usd), false),
            self.when(),
            self.spent_usd / self.limit_usd * 100.0,
            fmt_cost(Some(self.limit_usd), false),
            self.period,
            if self.period == "daily" {
                "daily"
            } else {
                "monthly"
            },
        )
    }

    /// The message a refused request carries.
    pub fn refusal(&self) -> String {
        format!(
            "bifrost budget exceeded: {} spent {} of the {} {} limit; raise [budget] {}_usd or set enforce = false in the bifrost config",
            fmt_cost(Some(self.spent_usd), false),
            self.when(),
            fmt_cost(Some(self.limit_usd), false),
            self.period,
            self.period,
        )
    }
}

/// 00:00 UTC of the day holding `now_ms`.
pub fn day_start_ms(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(DAY_MS)
}

/// 00:00 UTC of the first of the month holding `now_ms`.
pub fn month_start_ms(now_ms: i64) -> i64 {
    jiff::Timestamp::from_millisecond(now_ms)
        .ok()
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .first_of_month()
        })
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map_or_else(|| day_start_ms(now_ms), |z| z.timestamp().as_millisecond())
}

/// Reads the spend so far from the store (either backend; with PostgreSQL, every gateway's).
pub fn spend(conn: &(impl crate::store::Sql + ?Sized), now_ms: i64) -> Result<Spend> {
    Ok(Spend {
        today_micro: crate::store::spend_since(conn, day_start_ms(now_ms))?,
        month_micro: crate::store::spend_since(conn, month_start_ms(now_ms))?,
    })
}

/// The worst state over the configured limits; `None` when no limit is set.
pub fn status(cfg: &BudgetConfig, spend: &Spend) -> Option<Status> {
    let mut worst: Option<Status> = None;
    for (period, limit, spent) in [
        ("daily", cfg.daily_usd, spend.today_micro),
        ("monthly", cfg.monthly_usd, spend.month_micro),
    ] {
        let Some(limit) = limit else { continue };
        let spent_usd = spent as f64 / 1e6;
        let level = if spent_usd >= limit {
            Level::Exceeded
        } else if spent_usd >= limit * cfg.warn_at {
            Level::Warn
        } else {
            Level::Ok
        };
        let s = Status {
            level,
            period,
            spent_usd,
            limit_usd: limit,
        };
        let rank = |l: Level| match l {
            Level::Ok => 0,
            Level::Warn => 1,
            Level::Exceeded => 2,
        };
        let better = match &worst {
            None => true,
            Some(w) => {
                rank(s.level) > rank(w.level)
                    || (s.level == w.level && s.spent_usd / s.limit_usd > w.spent_usd / w.limit_usd)
            }
        };
        if better {
            worst = Some(s);
        }
    }
    worst
}

/// The enforcing gateway's view of spend: the last store read plus its own since then.
#[derive(Debug)]
pub struct Guard {
    cfg: BudgetConfig,
    today: AtomicI64,
    month: AtomicI64,
    own: AtomicI64,
}

impl Guard {
    /// For an enforcing `[budget]` with a limit: reads the spend once (before the gateway
    /// accepts anything, so an already spent budget refuses the first request) and starts the
    /// refresh task. Needs a tokio runtime; the store is read on blocking threads.
    pub async fn start(
        cfg: &BudgetConfig,
        store: &Arc<crate::store::Pool>,
    ) -> Result<Option<Arc<Guard>>> {
        if !cfg.enforce || (cfg.daily_usd.is_none() && cfg.monthly_usd.is_none()) {
            return Ok(None);
        }
        let s = store.read(|db| spend(db, crate::store::now_ms())).await?;
        let guard = Arc::new(Guard {
            cfg: cfg.clone(),
            today: AtomicI64::new(s.today_micro),
            month: AtomicI64::new(s.month_micro),
            own: AtomicI64::new(0),
        });
        let weak = Arc::downgrade(&guard);
        tokio::spawn(refresh_loop(weak, store.clone()));
        Ok(Some(guard))
    }

    /// Adds the cost of a request this gateway finished.
    pub fn record(&self, micro_usd: i64) {
        self.own.fetch_add(micro_usd, Ordering::Relaxed);
    }

    /// The refusal message when a limit is spent; `None` to let the request through.
    pub fn refused(&self) -> Option<String> {
        let own = self.own.load(Ordering::Relaxed);
        let s = Spend {
            today_micro: self.today.load(Ordering::Relaxed) + own,
            month_micro: self.month.load(Ordering::Relaxed) + own,
        };
        status(&self.cfg, &s)
            .filter(|s| s.level == Level::Exceeded)
            .map(|s| s.refusal())
    }
}

async fn refresh_loop(guard: Weak<Guard>, store: Arc<crate::store::Pool>) {
    loop {
        tokio::time::sleep(REFRESH).await;
        let Some(g) = guard.upgrade() else { return };
        // Reset, then read: a cost whose row is still queued is missed, and one recorded
        // between the two counted twice, only until the next refresh.
        let own = g.own.swap(0, Ordering::Relaxed);
        match store.read(|db| spend(db, crate::store::now_ms())).await {
            Ok(s) => {
                g.today.store(s.today_micro, Ordering::Relaxed);
                g.month.store(s.month_micro, Ordering::Relaxed);
            }
            Err(e) => {
                g.own.fetch_add(own, Ordering::Relaxed);
                tracing::warn!("budget: could not refresh the spend: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(daily: Option<f64>, monthly: Option<f64>) -> BudgetConfig {
        BudgetConfig {
            daily_usd: daily,
            monthly_usd: monthly,
            warn_at: 0.8,
            enforce: true,
        }
    }

    #[test]
    fn levels_pick_the_tightest_limit() {
        let s = |t, m| Spend {
            today_micro: t,
            month_micro: m,
        };
        assert_eq!(status(&cfg(None, None), &s(10, 10)), None);
        let st = status(&cfg(Some(1.0), Some(100.0)), &s(500_000, 50_000_000));
        assert_eq!(st.as_ref().map(|s| s.level), Some(Level::Ok));
        let st = status(&cfg(Some(1.0), Some(100.0)), &s(800_000, 10_000_000));
        assert_eq!(
            st.as_ref().map(|s| (s.level, s.period)),
            Some((Level::Warn, "daily"))
        );
        let st = status(&cfg(Some(1.0), Some(10.0)), &s(900_000, 10_000_000));
        let st = st.expect("status");
        assert_eq!((st.level, st.period), (Level::Exceeded, "monthly"));
        assert!(
            st.refusal()
                .contains("$10.0000 spent this month (UTC) of the $10.0000 monthly limit")
        );
        assert!(st.warning().contains("100%"), "{}", st.warning());
    }

    #[test]
    fn utc_boundaries() {
        // 2025-06-15T13:45:00Z
        let now = 1_749_995_100_000;
        assert_eq!(day_start_ms(now), 1_749_945_600_000); // 2025-06-15T00:00:00Z
        assert_eq!(month_start_ms(now), 1_748_736_000_000); // 2025-06-01T00:00:00Z
    }
}
