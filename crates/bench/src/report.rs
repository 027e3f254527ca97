//! The end of a run: a human summary and one JSON line that scripts read (`bench/compare.sh`).

use serde::Serialize;

use crate::run::Outcome;
use crate::stats::Percentiles;

/// More failed calls than this fraction fail the run.
pub const MAX_ERROR_RATE: f64 = 0.01;

/// The JSON line.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub op: &'static str,
    pub concurrency: usize,
    pub keys: usize,
    pub size: usize,
    pub duration_s: f64,
    pub requests: u64,
    pub errors: u64,
    pub wrong_answers: u64,
    pub checked: u64,
    pub req_per_s: f64,
    #[serde(flatten)]
    pub latency: Percentiles,
    /// Server CPU per request in microseconds, when its pid was given.
    pub server_cpu_us_per_request: Option<f64>,
    pub client_cpu_us_per_request: Option<f64>,
    /// With `--touch-each-key`: calls per second of that pass, where every call is the first
    /// with its key (the cold rate).
    pub first_touch_per_s: Option<f64>,
}

impl Summary {
    /// Reads the numbers off a finished run.
    pub fn of(
        op: &'static str,
        concurrency: usize,
        keys: usize,
        size: usize,
        outcome: &mut Outcome,
    ) -> Summary {
        let requests = outcome.tally.requests();
        let seconds = outcome.window.as_secs_f64();
        let per_request = |cpu: Option<f64>| {
            cpu.filter(|_| requests > 0)
                .map(|cpu| round(cpu * 1e6 / requests as f64))
        };
        Summary {
            op,
            concurrency,
            keys,
            size,
            duration_s: seconds,
            requests,
            errors: outcome.tally.errors,
            wrong_answers: outcome.tally.wrong,
            checked: outcome.tally.deep_checks,
            req_per_s: round(requests as f64 / seconds),
            latency: Percentiles::of(&mut outcome.tally.latencies_us),
            server_cpu_us_per_request: per_request(outcome.server_cpu),
            client_cpu_us_per_request: per_request(outcome.client_cpu),
            first_touch_per_s: None,
        }
    }

    /// Whether the run failed: a wrong answer, or more than 1% failed calls, or no calls.
    pub fn failed(&self) -> bool {
        self.wrong_answers > 0
            || self.requests == 0
            || self.errors as f64 > MAX_ERROR_RATE * self.requests as f64
    }

    /// The human summary (several lines).
    pub fn human(&self) -> String {
        let cpu = |label: &str, value: Option<f64>| {
            value.map_or(String::new(), |us| {
                format!("\n  {label} CPU  {us:.1} µs/request")
            })
        };
        format!(
            "{op}: concurrency {concurrency}, {keys} key(s), {size} B, {duration:.1} s measured\n  \
             requests    {requests} ({errors} failed, {wrong} wrong, {checked} double-checked)\n  \
             throughput  {rate:.0} req/s\n  \
             latency     p50 {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms, max {max:.3} ms{server}{client}{touch}",
            op = self.op,
            concurrency = self.concurrency,
            keys = self.keys,
            size = self.size,
            duration = self.duration_s,
            requests = self.requests,
            errors = self.errors,
            wrong = self.wrong_answers,
            checked = self.checked,
            rate = self.req_per_s,
            p50 = self.latency.p50_ms,
            p90 = self.latency.p90_ms,
            p99 = self.latency.p99_ms,
            max = self.latency.max_ms,
            server = cpu("server", self.server_cpu_us_per_request),
            client = cpu("client", self.client_cpu_us_per_request),
            touch = self.first_touch_per_s.map_or(String::new(), |rate| {
                format!("\n  first call  {rate:.0} calls/s with each key (before the warm-up)")
            }),
        )
    }
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
