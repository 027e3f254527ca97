//! Latencies and failures of a run, and the numbers reported from them.

use std::collections::BTreeMap;

use crate::error::Failure;

/// How many example messages are kept per kind of failure.
const EXAMPLES_PER_KIND: usize = 1;

/// What one worker saw inside the measured window; merged at the end.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latency of every successful call, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Failed calls.
    pub errors: u64,
    /// Answers found wrong (also counted in `errors`).
    pub wrong: u64,
    /// Calls whose result was checked by a second call (decrypted, verified).
    pub deep_checks: u64,
    /// Failure counts by kind, with the first message of each.
    pub failures: BTreeMap<String, (u64, Vec<String>)>,
}

impl Tally {
    /// Counts a failed call.
    pub fn fail(&mut self, failure: &Failure) {
        self.errors += 1;
        if failure.is_wrong_answer() {
            self.wrong += 1;
        }
        let entry = self.failures.entry(failure.kind()).or_default();
        entry.0 += 1;
        if entry.1.len() < EXAMPLES_PER_KIND {
            entry.1.push(failure.to_string());
        }
    }

    /// Adds another worker's tally to this one.
    pub fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.wrong += other.wrong;
        self.deep_checks += other.deep_checks;
        for (kind, (count, examples)) in other.failures {
            let entry = self.failures.entry(kind).or_default();
            entry.0 += count;
            for example in examples {
                if entry.1.len() < EXAMPLES_PER_KIND {
                    entry.1.push(example);
                }
            }
        }
    }

    /// Calls made in the window, successful or not.
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64 + self.errors
    }
}

/// Latency percentiles in milliseconds, by the nearest-rank method.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Sorts `latencies_us` in place and reads the percentiles; all zero when there are none.
    pub fn of(latencies_us: &mut [u32]) -> Percentiles {
        latencies_us.sort_unstable();
        let at = |fraction: f64| {
            if latencies_us.is_empty() {
                return 0.0;
            }
            let rank = (fraction * latencies_us.len() as f64).ceil() as usize;
            f64::from(latencies_us[rank.clamp(1, latencies_us.len()) - 1]) / 1000.0
        };
        Percentiles {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut latencies: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let percentiles = Percentiles::of(&mut latencies);
        assert_eq!(percentiles.p50_ms, 50.0);
        assert_eq!(percentiles.p90_ms, 90.0);
        assert_eq!(percentiles.p99_ms, 99.0);
        assert_eq!(percentiles.max_ms, 100.0);
        assert_eq!(Percentiles::of(&mut []).max_ms, 0.0);
        assert_eq!(Percentiles::of(&mut [1500]).p50_ms, 1.5);
    }

    #[test]
    fn failures_are_grouped_by_kind_and_merged() {
        let answer = |status| Failure::Answer {
            operation: "Encrypt",
            status,
            body: r#"{"__type":"ThrottlingException","message":"slow down"}"#.to_owned(),
        };
        let mut first = Tally::default();
        first.fail(&answer(400));
        first.fail(&answer(400));
        let mut second = Tally::default();
        second.fail(&Failure::Wrong {
            operation: "Decrypt",
            what: "the plaintext differs".to_owned(),
        });
        second.latencies_us.push(10);
        first.merge(second);
        assert_eq!(first.errors, 3);
        assert_eq!(first.wrong, 1);
        assert_eq!(first.requests(), 4);
        let (count, examples) = &first.failures["Encrypt: HTTP 400 ThrottlingException"];
        assert_eq!(*count, 2);
        assert_eq!(examples.len(), 1);
        assert!(examples[0].contains("slow down"));
        assert_eq!(
            first.failures["Decrypt: wrong answer: the plaintext differs"].0,
            1
        );
    }
}
