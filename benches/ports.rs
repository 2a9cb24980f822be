//! How fast each port answers the same traces: the implementation and the
//! model in-process (`ImplPort`, `ModelAsPort`), and the model as an external
//! process over a pipe (`flytectx serve-model`, through `ProcessPort`).
//!
//! The traces (random, isolated profile) and the model's expected answers
//! are made first and not timed: what is timed is `Port::run` over all of
//! them, the part a port is responsible for. Every answer is checked against
//! the expectation, so a port cannot be fast by being wrong. The driver's own
//! CPU time (user and system, from /proc) is printed beside the wall time;
//! the external port's CPU is its own process's and is not in it.
//!
//!     cargo bench --bench ports                   # 20 000 traces
//!     FLYTECTX_PORT_TRACES=2000 cargo bench --bench ports

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

use flytectx_conformance::generate::sample;
use flytectx_conformance::impl_port::ImplPort;
use flytectx_conformance::port::{ModelAsPort, Port};
use flytectx_conformance::process::ProcessPort;
use flytectx_conformance::run::expect;
use flytectx_model::{Answer, Op, Profile};
use std::time::{Duration, Instant};

const SEED: u64 = 20261124;
const MAX_LEN: usize = 40;

/// This process's user and system CPU time so far, in seconds.
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // Clock ticks per second: 100 on Linux everywhere this runs.
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u / 100.0, s / 100.0),
        _ => (f64::NAN, f64::NAN),
    }
}

struct Row {
    port: &'static str,
    wall: Duration,
    user: f64,
    sys: f64,
}

fn time_port(port: &'static str, p: &mut dyn Port, traces: &[(Vec<Op>, Vec<Answer>)]) -> Row {
    let (u0, s0) = cpu_times();
    let start = Instant::now();
    for (i, (wire, expected)) in traces.iter().enumerate() {
        let actual = p
            .run(wire)
            .unwrap_or_else(|f| panic!("{port}: trace {i} failed: {f}"));
        assert!(
            &actual == expected,
            "{port}: trace {i} diverged from the model"
        );
    }
    let wall = start.elapsed();
    let (u1, s1) = cpu_times();
    let _ = p.finish();
    Row {
        port,
        wall,
        user: u1 - u0,
        sys: s1 - s0,
    }
}

fn main() {
    // `cargo bench` passes --bench; a filter argument would be a mistake here.
    let n: u32 = std::env::var("FLYTECTX_PORT_TRACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    // Traces of what every port here declares: the implementation leaves
    // out origins ([FEAT-3]).
    let claim = ImplPort::new().declaration().claim(Profile::Isolated);
    let traces: Vec<(Vec<Op>, Vec<Answer>)> = sample(claim, SEED, MAX_LEN, n)
        .into_iter()
        .map(|ops| {
            let e = expect(Profile::Isolated, &ops).expect("generated traces are valid");
            (e.wire, e.answers)
        })
        .collect();
    let ops: usize = traces.iter().map(|(w, _)| w.len()).sum();

    let serve = format!("{} serve-model", env!("CARGO_BIN_EXE_flytectx"));
    let mut process = ProcessPort::spawn(
        &serve,
        Profile::Isolated,
        Duration::from_secs(10),
        Duration::from_secs(60),
    )
    .expect("serve-model starts");
    let rows = [
        time_port("serve-model (pipe)", &mut process, &traces),
        time_port("impl (in-process)", &mut ImplPort::new(), &traces),
        time_port(
            "model (in-process)",
            &mut ModelAsPort::new(Profile::Isolated),
            &traces,
        ),
    ];

    println!("{n} traces, {ops} operations, seed {SEED}, max_len {MAX_LEN}");
    println!("| port | wall s | µs per trace | driver user s | driver sys s | speed-up over serve-model |");
    println!("|---|---:|---:|---:|---:|---:|");
    let reference = rows[0].wall.as_secs_f64();
    for r in &rows {
        let wall = r.wall.as_secs_f64();
        println!(
            "| {} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1}x |",
            r.port,
            wall,
            wall * 1e6 / f64::from(n),
            r.user,
            r.sys,
            reference / wall
        );
    }
}
