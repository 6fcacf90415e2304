//! In-memory throttling. Keys (a client's address) live only in this process's memory,
//! are never logged or stored, and are forgotten when their window ends.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Fixed-window counter per key.
pub struct Limiter<K> {
    limit: u32,
    window: Duration,
    buckets: Mutex<HashMap<K, (u32, Instant)>>,
}

/// What a check says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; `count` includes this one.
    Allow { count: u32 },
    /// Refused until the window ends.
    Refuse { retry_after: Duration },
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`.
    pub fn hit(&self, key: &K) -> Verdict {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Verdict::Allow { count: 0 };
        };
        if buckets.len() > 100_000 {
            let window = self.window;
            buckets.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
        let entry = buckets.entry(key.clone()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        if entry.0 >= self.limit {
            return Verdict::Refuse {
                retry_after: self.window.saturating_sub(now.duration_since(entry.1)),
            };
        }
        entry.0 += 1;
        Verdict::Allow { count: entry.0 }
    }

    /// How many events `key` has in its current window, without counting one.
    pub fn count(&self, key: &K) -> u32 {
        let now = Instant::now();
        self.buckets
            .lock()
            .ok()
            .and_then(|b| b.get(key).copied())
            .filter(|(_, start)| now.duration_since(*start) < self.window)
            .map_or(0, |(n, _)| n)
    }

    /// Forgets everything older than its window.
    pub fn prune(&self) {
        let now = Instant::now();
        if let Ok(mut b) = self.buckets.lock() {
            let window = self.window;
            b.retain(|_, (_, start)| now.duration_since(*start) < window);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_forgets_after_the_window() {
        let l = Limiter::new(2, Duration::from_millis(50));
        assert_eq!(l.hit(&1), Verdict::Allow { count: 1 });
        assert_eq!(l.hit(&1), Verdict::Allow { count: 2 });
        assert!(matches!(l.hit(&1), Verdict::Refuse { .. }));
        assert_eq!(l.hit(&2), Verdict::Allow { count: 1 }, "keys are separate");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(l.hit(&1), Verdict::Allow { count: 1 });
        l.prune();
        assert_eq!(l.count(&2), 0);
    }
}
