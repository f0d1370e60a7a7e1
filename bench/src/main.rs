//! `make bench-peers`: Almanac side by side with Automerge, Yrs and Loro on the calendar
//! workloads W1–W8 of `shared/spec/benchmarks.md` (issue 11). Every system runs the same
//! generated calendar in the same process run; each figure is the median of several runs and is
//! printed with the ratio Almanac/peer (below 1: Almanac leads). Cold start and memory run in a
//! fresh child process (this binary re-run with `child`). Results also go to
//! `target/bench-peers/results.json`. The fairness rules are in
//! `docs/decisions/0022-peer-benchmarks.md`.

// A benchmark aborts loudly on any failure; that is what expect and panic are for here.
#![allow(clippy::expect_used, clippy::panic)]

mod data;
mod profile;
mod report;
mod systems;
mod workloads;

use std::path::PathBuf;

use report::Report;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("child") => workloads::child(&args[1], &args[2], &args[3]),
        Some("profile") => profile::run(&args[1], &args[2]),
        Some("run") | None => run(&args),
        Some(other) => {
            eprintln!(
                "usage: almanac-bench-peers run [--quick] [--only W1,W3] [--systems almanac,loro] [--out FILE]\n       almanac-bench-peers profile <commits|batch|overwrites|merge|join|view> <system>\n       (unknown command '{other}')"
            );
            std::process::exit(2);
        }
    }
}

fn run(args: &[String]) {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let quick = args.iter().any(|a| a == "--quick");
    let list = |name: &str| -> Vec<String> {
        flag(name).map(|s| s.split(',').map(str::to_owned).collect()).unwrap_or_default()
    };
    let out = flag("--out").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-peers/results.json")
    });
    let settings = workloads::Settings::new(quick, list("--only"), list("--systems"));
    println!(
        "Almanac vs Automerge 0.12, Yrs 0.28, Loro 1.17 ({} mode: medians of {} runs, {} for queries)\n",
        if quick { "quick" } else { "full" },
        settings.runs,
        settings.query_runs
    );
    let mut report = Report::default();
    let started = std::time::Instant::now();
    workloads::all(&settings, &mut report);
    report.write_json(&out);
    println!(
        "\nwrote {} figures to {} in {:.0} s",
        report.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
}
