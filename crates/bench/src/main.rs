//! `strongbox-bench`: see the library documentation and `docs/performance.md`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use strongbox_bench::cli::Args;
use strongbox_bench::client::Connection;
use strongbox_bench::error::Failure;
use strongbox_bench::report::Summary;
use strongbox_bench::run::{Plan, run};
use strongbox_bench::workload::Fixture;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match bench(&args).await {
        Ok(summary) => {
            println!("{}", summary.human());
            match serde_json::to_string(&summary) {
                Ok(line) => println!("{line}"),
                Err(err) => eprintln!("strongbox-bench: cannot write the JSON line: {err}"),
            }
            if summary.failed() {
                eprintln!(
                    "strongbox-bench: FAILED: {} of {} calls failed, {} wrong answers",
                    summary.errors, summary.requests, summary.wrong_answers
                );
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(failure) => {
            eprintln!("strongbox-bench: {failure}");
            ExitCode::from(2)
        }
    }
}

/// Connects, sets up the keys, runs and summarises; failures listed by kind on stderr.
async fn bench(args: &Args) -> Result<Summary, Failure> {
    let endpoint = args.endpoint().await?;
    let mut connections = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        connections.push(Connection::open(&endpoint).await?);
    }
    let settings = args.settings();
    let (mut connections, fixture) = Fixture::prepare(
        connections,
        &settings,
        args.keys,
        &args.key_ids,
        args.existing_keys,
    )
    .await?;
    let keys = fixture.keys.len();
    let fixture = Arc::new(fixture);
    let mut first_touch_per_s = None;
    if args.touch_each_key {
        let (touched, took) = fixture.touch_each_key(connections).await?;
        connections = touched;
        let rate = (keys as f64 / took.as_secs_f64() * 10.0).round() / 10.0;
        eprintln!(
            "strongbox-bench: called once with each of {keys} keys in {:.1} s ({rate:.0} calls/s)",
            took.as_secs_f64(),
        );
        first_touch_per_s = Some(rate);
    }
    let plan = Plan {
        warmup: args.warmup,
        duration: args.duration,
        check_every: args.check_every,
        server_pid: args.server_pid,
        progress: !args.quiet,
    };
    let mut outcome = run(connections, &endpoint, fixture, &plan).await;
    for (kind, (count, examples)) in &outcome.tally.failures {
        eprintln!("strongbox-bench: {count} × {kind}");
        for example in examples {
            eprintln!("    e.g. {example}");
        }
    }
    if let Some(fatal) = outcome.fatal.take() {
        return Err(fatal);
    }
    let mut summary = Summary::of(
        args.op.name(),
        args.concurrency,
        keys,
        args.size,
        &mut outcome,
    );
    summary.first_touch_per_s = first_touch_per_s;
    Ok(summary)
}
