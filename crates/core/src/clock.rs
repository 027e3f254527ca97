//! Injected time, so that key dates, deletion windows and signature skew can be tested.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// The source of "now" for everything time-dependent. Tests and `--dev-clock` use
/// [`ManualClock`]; production uses [`SystemClock`].
pub trait Clock: Send + Sync {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Wall-clock time.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Wall-clock time plus an offset that only grows, so time can be moved forward but never
/// backwards (key dates must stay monotonic).
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: Mutex<Duration>,
}

impl ManualClock {
    /// A clock that starts at the wall-clock time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward and returns the new "now". Negative durations are ignored:
    /// time never runs backwards.
    pub fn advance(&self, by: Duration) -> OffsetDateTime {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if by.is_positive() {
            *offset += by;
        }
        OffsetDateTime::now_utc() + *offset
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        OffsetDateTime::now_utc() + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_only() {
        let clock = ManualClock::new();
        let before = clock.now();
        let after = clock.advance(Duration::days(366));
        assert!(after - before >= Duration::days(366));
        let unchanged = clock.advance(Duration::days(-10));
        assert!(unchanged >= after);
    }
}
