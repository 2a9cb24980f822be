//! A real SIGINT, sent to a child process ([SIG-1]..[SIG-4]): the handlers
//! run in the order added; a failing one stops the dispatch, the library
//! reports it and the process goes on; at the next SIGINT every handler
//! runs, then the process exits with status 1.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const CHILD: &str = "FLYTECTX_SIGINT_CHILD";

fn say(s: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{s}").unwrap();
    out.flush().unwrap();
}

/// The child's part: runs only when the parent starts this test binary with
/// the variable set.
#[test]
fn sigint_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    flytectx::add_signal_handler(|signum| {
        say(&format!("a {signum}"));
        Ok(())
    });
    // [SIG-3]: handlers survive initialize, and go to one list from any thread.
    flytectx::initialize();
    std::thread::spawn(|| {
        flytectx::add_signal_handler(|signum| {
            say(&format!("b {signum}"));
            Ok(())
        })
    })
    .join()
    .unwrap();
    static FAILED: AtomicBool = AtomicBool::new(false);
    flytectx::add_signal_handler(|signum| {
        if FAILED.swap(true, Ordering::SeqCst) {
            say(&format!("f {signum}"));
            Ok(())
        } else {
            say(&format!("f {signum} fails"));
            Err("the first time".into())
        }
    });
    flytectx::add_signal_handler(|signum| {
        // A handler may use the context stack: it runs on its own thread.
        let level = flytectx::current_context().level()?;
        say(&format!("c {signum} level {level}"));
        Ok(())
    });
    say("ready");
    std::thread::sleep(Duration::from_secs(30));
    say("no signal came");
}

/// Read the child's lines until one ends with `last`.
fn read_until(out: &mut impl BufRead, lines: &mut Vec<String>, last: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    // libtest may print "test sigint_child ... " on the same line first.
    while !lines.last().is_some_and(|l| l.ends_with(last)) {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child ended early: {lines:?}"
        );
        lines.push(line.trim_end().to_string());
        assert!(Instant::now() < deadline, "{lines:?}");
    }
}

fn interrupt(pid: u32) {
    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

#[test]
fn a_real_sigint_stops_at_a_failing_handler_then_runs_them_all_and_exits_with_1() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigint_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    read_until(&mut out, &mut lines, "ready");
    interrupt(child.id());
    // [SIG-2]: the failing handler is the last to run; the process goes on.
    read_until(&mut out, &mut lines, "f 2 fails");
    interrupt(child.id());
    let status = child.wait().unwrap();
    lines.extend(out.lines().map(Result::unwrap));
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    let ready = lines.iter().position(|l| l.ends_with("ready")).unwrap();
    let handlers: Vec<&String> = lines[ready + 1..]
        .iter()
        .filter(|l| !l.starts_with("test ") && !l.is_empty())
        .collect();
    assert_eq!(
        handlers,
        [
            "a 2",
            "b 2",
            "f 2 fails",
            "a 2",
            "b 2",
            "f 2",
            "c 2 level 1"
        ],
        "all output: {lines:?}"
    );
    assert!(
        errors.contains("a handler failed, the process goes on: the first time"),
        "the library reports the failure: {errors}"
    );
    assert_eq!(status.code(), Some(1), "{status}");
}
