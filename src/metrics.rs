//! Measured latencies and counts per kind of operation (`getMetrics`).

use std::sync::Mutex;
use std::time::Duration;

/// How many recent samples each operation kind keeps for percentiles.
const WINDOW: usize = 1024;

/// The kinds of operation that are timed apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Single-record reads.
    Read,
    /// Writes and deletes.
    Write,
    /// Listings, queries, exports and integrity scans.
    Query,
}

/// Latency summary of one kind of operation, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyStats {
    /// Operations measured since the store opened.
    pub count: u64,
    /// Mean over all of them.
    pub mean_ms: f64,
    /// Median of the recent window.
    pub p50_ms: f64,
    /// 99th percentile of the recent window.
    pub p99_ms: f64,
}

/// A snapshot of the store's metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Single-record reads.
    pub read: LatencyStats,
    /// Writes and deletes.
    pub write: LatencyStats,
    /// Listings and queries.
    pub query: LatencyStats,
    /// Operations that failed.
    pub errors: u64,
    /// Failed operations over all operations (0 when none ran).
    pub error_rate: f64,
    /// (hits, misses) of the backend's read cache; `None` for a backend without one (LevelDB keeps its own).
    pub cache: Option<(u64, u64)>,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    total_ms: f64,
    recent: Vec<f64>,
    next: usize,
}

impl Series {
    fn record(&mut self, ms: f64) {
        self.count += 1;
        self.total_ms += ms;
        if self.recent.len() < WINDOW {
            self.recent.push(ms);
        } else {
            self.recent[self.next] = ms;
        }
        self.next = (self.next + 1) % WINDOW;
    }

    fn stats(&self) -> LatencyStats {
        let mut sorted = self.recent.clone();
        sorted.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        LatencyStats {
            count: self.count,
            mean_ms: if self.count == 0 {
                0.0
            } else {
                self.total_ms / self.count as f64
            },
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
        }
    }
}

/// Thread-safe metrics of one store.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<(Series, Series, Series, u64)>,
}

impl Metrics {
    /// Records one operation's duration and outcome.
    pub fn record(&self, kind: OpKind, elapsed: Duration, ok: bool) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let ms = elapsed.as_secs_f64() * 1000.0;
        match kind {
            OpKind::Read => guard.0.record(ms),
            OpKind::Write => guard.1.record(ms),
            OpKind::Query => guard.2.record(ms),
        }
        if !ok {
            guard.3 += 1;
        }
    }

    /// The current numbers.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let total = guard.0.count + guard.1.count + guard.2.count;
        MetricsSnapshot {
            read: guard.0.stats(),
            write: guard.1.stats(),
            query: guard.2.stats(),
            errors: guard.3,
            error_rate: if total == 0 {
                0.0
            } else {
                guard.3 as f64 / total as f64
            },
            cache: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_counted_as_writes_and_errors_as_errors() {
        let metrics = Metrics::default();
        metrics.record(OpKind::Write, Duration::from_millis(4), true);
        metrics.record(OpKind::Write, Duration::from_millis(2), false);
        metrics.record(OpKind::Read, Duration::from_millis(1), true);
        let snap = metrics.snapshot();
        assert_eq!(snap.write.count, 2);
        assert!((snap.write.mean_ms - 3.0).abs() < 1e-9);
        assert_eq!(snap.read.count, 1);
        assert_eq!(snap.errors, 1);
        assert!((snap.error_rate - 1.0 / 3.0).abs() < 1e-9);
    }
}
