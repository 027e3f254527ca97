//! A token bucket: `rate` tokens a second, holding at most one second's worth, so a quota of
//! N requests a second admits bursts of N and a steady N a second, as AWS applies its request
//! quotas ("per second").

use std::time::Instant;

/// One bucket.
#[derive(Debug)]
pub(super) struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    /// A full bucket for `rate` requests a second (a node's share may be a fraction; a
    /// bucket holds at least one token, so that the first call of a slow rate is admitted).
    pub(super) fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            tokens: capacity(rate),
            refilled: now,
        }
    }

    /// Takes a token if there is one.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(capacity(self.rate));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One second's worth of tokens, at least one unless the rate is zero.
fn capacity(rate: f64) -> f64 {
    if rate > 0.0 { rate.max(1.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_the_rate_then_the_rate_a_second() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10.0, start);
        assert_eq!((0..20).filter(|_| bucket.take(start)).count(), 10);
        let later = start + Duration::from_millis(500);
        assert_eq!((0..20).filter(|_| bucket.take(later)).count(), 5);
        let much_later = start + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| bucket.take(much_later)).count(), 10);
    }

    #[test]
    fn a_zero_rate_admits_nothing() {
        let now = Instant::now();
        let mut bucket = Bucket::new(0.0, now);
        assert!(!bucket.take(now + Duration::from_secs(5)));
    }

    #[test]
    fn a_fractional_rate_admits_one_call_per_period() {
        let start = Instant::now();
        let mut bucket = Bucket::new(0.2, start);
        assert!(bucket.take(start));
        assert!(!bucket.take(start + Duration::from_secs(4)));
        assert!(bucket.take(start + Duration::from_secs(5)));
    }
}
