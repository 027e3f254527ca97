//! The measured loop: `concurrency` workers, each on its own keep-alive connection, call as fast
//! as answers come back until the deadline. Calls that end during the warm-up are not counted;
//! every answer is checked, and every `check_every`-th one is also undone by a second call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Connection, Endpoint};
use crate::error::Failure;
use crate::procstat;
use crate::stats::Tally;
use crate::workload::{Call, Fixture};

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Plan {
    pub warmup: Duration,
    pub duration: Duration,
    /// Every n-th successful call per worker is checked by a second call (0: never).
    pub check_every: u64,
    /// The server's process id, to read its CPU time.
    pub server_pid: Option<u32>,
    /// Print a progress line every second.
    pub progress: bool,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub tally: Tally,
    /// The measured window (the duration after the warm-up).
    pub window: Duration,
    /// CPU seconds the server used during the window.
    pub server_cpu: Option<f64>,
    /// CPU seconds the load generator used during the window.
    pub client_cpu: Option<f64>,
    /// A failure that stopped workers early (the server went away).
    pub fatal: Option<Failure>,
}

/// Counters the progress line reads while workers run.
#[derive(Debug, Default)]
struct Progress {
    calls: AtomicU64,
    errors: AtomicU64,
}

/// Runs the plan over the given connections.
pub async fn run(
    connections: Vec<Connection>,
    endpoint: &Endpoint,
    fixture: Arc<Fixture>,
    plan: &Plan,
) -> Outcome {
    let start = Instant::now();
    let window = Window {
        from: start + plan.warmup,
        to: start + plan.warmup + plan.duration,
    };
    let progress = Arc::new(Progress::default());
    let mut workers = tokio::task::JoinSet::new();
    for (index, connection) in connections.into_iter().enumerate() {
        let worker = Worker {
            connection,
            endpoint: endpoint.clone(),
            fixture: fixture.clone(),
            window,
            check_every: plan.check_every,
            progress: progress.clone(),
            random: Random::seeded(index as u64),
        };
        workers.spawn(worker.work());
    }
    let reporter = plan.progress.then(|| {
        tokio::spawn(report_progress(
            progress.clone(),
            start,
            window,
            fixture.settings().op.name(),
        ))
    });
    tokio::time::sleep_until(window.from).await;
    let server_before = plan.server_pid.and_then(procstat::cpu_seconds);
    let client_before = procstat::own_cpu_seconds();
    tokio::time::sleep_until(window.to).await;
    let server_cpu = plan
        .server_pid
        .and_then(procstat::cpu_seconds)
        .zip(server_before)
        .map(|(after, before)| after - before);
    let client_cpu = procstat::own_cpu_seconds()
        .zip(client_before)
        .map(|(after, before)| after - before);
    let mut tally = Tally::default();
    let mut fatal = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((worker_tally, worker_fatal)) => {
                tally.merge(worker_tally);
                fatal = fatal.or(worker_fatal);
            }
            Err(err) => fatal = Some(Failure::Transport(format!("a worker failed: {err}"))),
        }
    }
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    Outcome {
        tally,
        window: plan.duration,
        server_cpu,
        client_cpu,
        fatal,
    }
}

/// The measured part of the run.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Instant,
    to: Instant,
}

impl Window {
    fn contains(&self, instant: Instant) -> bool {
        self.from <= instant && instant <= self.to
    }
}

struct Worker {
    connection: Connection,
    endpoint: Endpoint,
    fixture: Arc<Fixture>,
    window: Window,
    check_every: u64,
    progress: Arc<Progress>,
    random: Random,
}

impl Worker {
    /// Calls until the window closes. Returns the tally and, if the server could not be reached
    /// again after a connection broke, why the worker stopped early.
    async fn work(mut self) -> (Tally, Option<Failure>) {
        let mut tally = Tally::default();
        let keys = self.fixture.keys.len();
        let op = self.fixture.settings().op;
        let mut successes = 0_u64;
        while Instant::now() < self.window.to {
            let call = Call::pick(op, (self.random.next() % 100) as u32);
            let key = if keys > 1 {
                (self.random.next() % keys as u64) as usize
            } else {
                0
            };
            let sent = Instant::now();
            let answer = self
                .connection
                .call(call.operation(), self.fixture.body(call, key))
                .await;
            let done = Instant::now();
            let counted = self.window.contains(done);
            self.progress.calls.fetch_add(1, Ordering::Relaxed);
            let result = match answer {
                Ok(answer) => {
                    successes += 1;
                    let deep = self.check_every > 0
                        && successes.is_multiple_of(self.check_every)
                        && self.fixture.can_undo(call);
                    let checked = self
                        .fixture
                        .check(call, key, answer, deep, &mut self.connection)
                        .await;
                    if checked.is_ok() && deep && counted {
                        tally.deep_checks += 1;
                    }
                    checked
                }
                Err(failure) => {
                    // The connection is gone: count the call, then connect again or stop.
                    if counted {
                        tally.fail(&failure);
                    }
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                    match Connection::open(&self.endpoint).await {
                        Ok(connection) => self.connection = connection,
                        Err(refused) => return (tally, Some(refused)),
                    }
                    continue;
                }
            };
            match result {
                Ok(()) if counted => tally.latencies_us.push(micros(done - sent)),
                Ok(()) => {}
                // A wrong answer fails the run even in the warm-up.
                Err(failure) if counted || failure.is_wrong_answer() => {
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                    tally.fail(&failure);
                }
                Err(_) => {
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        (tally, None)
    }
}

fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}

/// Prints `[ 3s] measuring encrypt: 12345 calls/s, 0 errors` to stderr every second.
async fn report_progress(progress: Arc<Progress>, start: Instant, window: Window, op: &str) {
    let mut ticker =
        tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let (mut calls_before, mut errors_before) = (0, 0);
    loop {
        let now = ticker.tick().await;
        let calls = progress.calls.load(Ordering::Relaxed);
        let errors = progress.errors.load(Ordering::Relaxed);
        let phase = if now < window.from {
            "warm-up"
        } else {
            "measuring"
        };
        eprintln!(
            "[{:>3}s] {phase} {op}: {} calls/s, {} errors",
            (now - start).as_secs(),
            calls - calls_before,
            errors - errors_before
        );
        (calls_before, errors_before) = (calls, errors);
    }
}

/// xorshift64*: spreads calls over keys and picks the mixed workload's calls. Not for anything
/// secret; it only has to be cheap and differ between workers.
struct Random(u64);

impl Random {
    fn seeded(worker: u64) -> Random {
        Random(0x9E37_79B9_7F4A_7C15 ^ worker.wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_draw_different_spread_numbers() {
        let mut first = Random::seeded(0);
        let mut second = Random::seeded(1);
        let a: Vec<u64> = (0..4).map(|_| first.next() % 1000).collect();
        let b: Vec<u64> = (0..4).map(|_| second.next() % 1000).collect();
        assert_ne!(a, b);
        // Every key of ten gets calls.
        let mut counts = [0; 10];
        for _ in 0..1000 {
            counts[(first.next() % 10) as usize] += 1;
        }
        assert!(counts.iter().all(|&count| count > 50), "{counts:?}");
    }

    #[test]
    fn the_window_holds_its_ends() {
        let from = Instant::now();
        let window = Window {
            from,
            to: from + Duration::from_secs(1),
        };
        assert!(window.contains(from));
        assert!(window.contains(from + Duration::from_secs(1)));
        assert!(!window.contains(from + Duration::from_millis(1001)));
    }
}
