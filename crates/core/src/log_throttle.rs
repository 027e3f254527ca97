//! At most one log line per period for a failure that repeats with every request (a full disk
//! fails every call): the first occurrence is logged at once, later ones are counted, and the
//! next line says how many were left out. Without it, a failing store writes a log line per
//! request and fills the disk it is failing on.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A rate limit for one kind of log line; meant to be a `static`.
#[derive(Debug)]
pub struct LogThrottle {
    period_ms: u64,
    /// When the next line may be logged, in milliseconds since the process's first use.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

impl LogThrottle {
    /// One line per `period` at most.
    pub const fn new(period: Duration) -> Self {
        Self {
            period_ms: period.as_secs() * 1000 + period.subsec_millis() as u64,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this occurrence should be logged, `n` being how many were left out since
    /// the last line; `None` (and counted) otherwise.
    pub fn allow(&self) -> Option<u64> {
        let now = now_ms();
        let next = self.next_ms.load(Ordering::Acquire);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.period_ms,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_then_the_count_of_those_left_out() {
        let throttle = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(throttle.allow(), Some(0));
        for _ in 0..99 {
            assert_eq!(throttle.allow(), None);
        }
        assert_eq!(throttle.suppressed.load(Ordering::Relaxed), 99);
        let often = LogThrottle::new(Duration::ZERO);
        assert_eq!(often.allow(), Some(0));
        assert_eq!(often.allow(), Some(0));
    }
}
