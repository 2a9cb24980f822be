//! A real SIGINT, sent to a child process: the handlers run in the order
//! added, then the process exits with status 1 ([SIG-1]..[SIG-4]).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "FLYTECTX_SIGINT_CHILD";

/// The child's part: runs only when the parent starts this test binary with
/// the variable set.
#[test]
fn sigint_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let say = |s: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{s}").unwrap();
        out.flush().unwrap();
    };
    flytectx::add_signal_handler(move |signum| println!("a {signum}"));
    // [SIG-3]: handlers survive initialize, and go to one list from any thread.
    flytectx::initialize();
    std::thread::spawn(|| flytectx::add_signal_handler(|signum| println!("b {signum}")))
        .join()
        .unwrap();
    flytectx::add_signal_handler(|signum| {
        // A handler may use the context stack: it runs on its own thread.
        let level = flytectx::current_context().level().unwrap();
        println!("c {signum} level {level}");
        std::io::stdout().flush().unwrap();
    });
    say("ready");
    std::thread::sleep(Duration::from_secs(30));
    say("no signal came");
}

#[test]
fn a_real_sigint_runs_the_handlers_in_order_and_exits_with_1() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigint_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    // libtest may print "test sigint_child ... " on the same line first.
    while !lines.iter().any(|l: &String| l.ends_with("ready")) {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early: {lines:?}"
        );
        lines.push(line.trim_end().to_string());
        assert!(Instant::now() < deadline);
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let rest: Vec<String> = out.lines().map(Result::unwrap).collect();
    let handlers: Vec<&String> = rest
        .iter()
        .filter(|l| !l.starts_with("test ") && !l.is_empty())
        .collect();
    assert_eq!(
        handlers,
        ["a 2", "b 2", "c 2 level 1"],
        "all output: {lines:?} {rest:?}"
    );
    assert_eq!(status.code(), Some(1), "{status}");
}
