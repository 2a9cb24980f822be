//! An external port: a child process speaking the protocol of spec.md
//! section 14 over its standard input and output.
//!
//! Three helper threads keep the runner safe from whatever the port does:
//! one writes requests (so a port that stops reading cannot block the runner),
//! one reads answer lines (so a port that floods its output cannot block
//! itself), and one drains standard error into a bounded tail ([PROTO-1]).
//! The runner itself only waits on a channel, with a time limit.
//!
//! The port runs in a process group of its own, and the whole group is
//! ended with it: a port started through a shell, or one that forks, leaves
//! nothing behind when it fails, hangs or is done.

use crate::port::{Declaration, FailureKind, Port, PortFailure};
use flytectx_model::protocol::{hello_request, PortHello};
use flytectx_model::{Answer, Op, Profile};
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Longest answer line accepted; a port writing more without a newline is
/// producing garbage, and the runner must not hold it all in memory.
const MAX_LINE: u64 = 64 << 20;
/// How much of a port's standard error the report keeps.
const STDERR_LINES: usize = 40;
const STDERR_LINE_CHARS: usize = 400;
/// How long a port may take to exit after its input closes.
const EXIT_GRACE: Duration = Duration::from_secs(10);

enum Line {
    Text(String),
    NotUtf8(Vec<u8>),
    TooLong,
    Eof,
    ReadError(String),
}

pub struct ProcessPort {
    command: String,
    profile: Profile,
    op_timeout: Duration,
    hello_timeout: Duration,
    name: String,
    declaration: Declaration,
    child: Child,
    requests: Option<Sender<Vec<u8>>>,
    writer: Option<thread::JoinHandle<()>>,
    lines: Receiver<Line>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Set once the port has failed: every later call fails at once.
    failed: Option<PortFailure>,
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!(
            "{}… ({} bytes in all)",
            s.chars().take(max).collect::<String>(),
            s.len()
        )
    }
}

impl ProcessPort {
    /// Start `command` with `sh -c`, in a process group of its own, and
    /// exchange hellos ([PROTO-2]).
    pub fn spawn(
        command: &str,
        profile: Profile,
        op_timeout: Duration,
        hello_timeout: Duration,
    ) -> Result<ProcessPort, PortFailure> {
        let mut port = Self::start(command, profile, op_timeout, hello_timeout)?;
        port.hello(profile, hello_timeout)?;
        Ok(port)
    }

    fn start(
        command: &str,
        profile: Profile,
        op_timeout: Duration,
        hello_timeout: Duration,
    ) -> Result<ProcessPort, PortFailure> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                PortFailure::new(FailureKind::Spawn, format!("`sh -c {command:?}`: {e}"))
            })?;

        let stdin: ChildStdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let stderr_pipe = child.stderr.take().expect("stderr was piped");

        let (requests, to_write) = mpsc::channel::<Vec<u8>>();
        let writer = thread::spawn(move || {
            let mut stdin = stdin;
            for buf in to_write {
                // A port that closed its input is noticed by the reader side.
                if stdin.write_all(&buf).and_then(|()| stdin.flush()).is_err() {
                    break;
                }
            }
        });

        let (line_tx, lines) = mpsc::channel();
        thread::spawn(move || read_lines(stdout, line_tx));

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr);
        thread::spawn(move || keep_tail(stderr_pipe, &tail));

        Ok(ProcessPort {
            command: command.to_string(),
            profile,
            op_timeout,
            hello_timeout,
            name: command.to_string(),
            declaration: Declaration::default(),
            child,
            requests: Some(requests),
            writer: Some(writer),
            lines,
            stderr,
            failed: None,
        })
    }

    /// End every process of the port's group: the shell, the port, and
    /// anything they started. The group's id is the shell's process id.
    fn end_group(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: killpg only sends a signal; a group that is gone
            // already makes it fail with ESRCH, which is fine.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }

    fn send(&mut self, text: String) {
        if let Some(tx) = &self.requests {
            // An error means the writer stopped: the port closed its input,
            // which the reader side reports.
            let _ = tx.send(text.into_bytes());
        }
    }

    fn fail(&mut self, kind: FailureKind, message: String, answered: &[Answer]) -> PortFailure {
        let mut f = PortFailure::new(kind, message);
        f.answered = answered.iter().map(Answer::to_value).collect();
        f.stderr_tail = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        self.end_group();
        self.failed = Some(f.clone());
        f
    }

    /// Wait for the port's exit status for a short while after its output closed.
    fn exit_status(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => return "still running, with its output closed".to_string(),
                Err(e) => return format!("unknown ({e})"),
            }
        }
    }

    /// The next line, as an answer, or the failure that prevents one.
    fn next_answer(
        &mut self,
        timeout: Duration,
        what: &str,
        answered: &[Answer],
    ) -> Result<Result<Value, String>, PortFailure> {
        match self.lines.recv_timeout(timeout) {
            Ok(Line::Text(s)) => Ok(serde_json::from_str::<Value>(&s)
                .map_err(|e| format!("not JSON ({e}): {}", shorten(&s, 200)))),
            Ok(Line::NotUtf8(b)) => Ok(Err(format!(
                "not UTF-8: {}",
                shorten(&String::from_utf8_lossy(&b), 200)
            ))),
            Ok(Line::TooLong) => Ok(Err(format!("a line longer than {MAX_LINE} bytes"))),
            Ok(Line::ReadError(e)) => Err(self.fail(
                FailureKind::Exited,
                format!("reading its output failed while waiting for {what}: {e}"),
                answered,
            )),
            Ok(Line::Eof) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.exit_status();
                Err(self.fail(
                    FailureKind::Exited,
                    format!("its output closed while waiting for {what}; exit status: {status}"),
                    answered,
                ))
            }
            Err(RecvTimeoutError::Timeout) => Err(self.fail(
                FailureKind::Timeout,
                format!("no answer to {what} within {} ms", timeout.as_millis()),
                answered,
            )),
        }
    }

    fn hello(&mut self, profile: Profile, timeout: Duration) -> Result<(), PortFailure> {
        self.send(format!("{}\n", hello_request(profile)));
        let v = match self.next_answer(timeout, "hello", &[])? {
            Ok(v) => v,
            Err(why) => {
                return Err(self.fail(
                    FailureKind::BadHello,
                    format!("its hello answer is {why}"),
                    &[],
                ))
            }
        };
        if v == serde_json::json!({"err": "unsupported_profile"}) {
            return Err(self.fail(
                FailureKind::UnsupportedProfile,
                format!("it does not implement the {profile} profile"),
                &[],
            ));
        }
        let hello = match PortHello::parse(&v) {
            Ok(h) => h,
            Err(why) => {
                return Err(self.fail(
                    FailureKind::BadHello,
                    format!("{why}; it answered {}", shorten(&v.to_string(), 300)),
                    &[],
                ))
            }
        };
        if let Some(name) = &hello.name {
            self.name = name.clone();
        }
        self.declaration = Declaration::from(&hello);
        Ok(())
    }
}

fn read_lines(stdout: impl Read, tx: Sender<Line>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        match (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut buf) {
            Ok(0) => {
                let _ = tx.send(Line::Eof);
                return;
            }
            Ok(_) if buf.len() as u64 > MAX_LINE => {
                let _ = tx.send(Line::TooLong);
                return;
            }
            Ok(_) => {
                if buf.ends_with(b"\n") {
                    buf.pop();
                }
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
                let line = match String::from_utf8(buf) {
                    Ok(s) => Line::Text(s),
                    Err(e) => Line::NotUtf8(e.into_bytes()),
                };
                if tx.send(line).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Line::ReadError(e.to_string()));
                return;
            }
        }
    }
}

/// Keep the last lines of the port's standard error ([PROTO-1]).
fn keep_tail(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    while reader
        .read_until(b'\n', &mut buf)
        .map(|n| n > 0)
        .unwrap_or(false)
    {
        let text = String::from_utf8_lossy(&buf);
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(shorten(text.trim_end(), STDERR_LINE_CHARS));
        buf.clear();
    }
}

impl Port for ProcessPort {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn restart(&mut self) -> Result<(), PortFailure> {
        self.end_group();
        let command = self.command.clone();
        *self = Self::spawn(&command, self.profile, self.op_timeout, self.hello_timeout)?;
        Ok(())
    }

    fn declaration(&self) -> Declaration {
        self.declaration.clone()
    }

    fn run(&mut self, ops: &[Op]) -> Result<Vec<Answer>, PortFailure> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        // Lines left over from the previous trace were never asked for.
        if let Ok(Line::Text(s)) = self.lines.try_recv() {
            return Err(self.fail(
                FailureKind::TooManyLines,
                format!("an extra line after the last answer: {}", shorten(&s, 200)),
                &[],
            ));
        }
        // [PROTO-5]: send the whole trace, then read the answers.
        let mut batch = String::new();
        for op in ops {
            batch.push_str(&op.to_line());
            batch.push('\n');
        }
        self.send(batch);
        let mut answers = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let what = format!(
                "operation {} of {} (`{}`)",
                i + 1,
                ops.len(),
                shorten(&op.to_line(), 120)
            );
            let timeout = self.op_timeout;
            match self.next_answer(timeout, &what, &answers)? {
                Ok(v) => match Answer::from_value(&v) {
                    Ok(a) => answers.push(a),
                    Err(why) => {
                        return Err(self.fail(
                            FailureKind::Garbage,
                            format!(
                                "the answer to {what} is not an answer: {why}: {}",
                                shorten(&v.to_string(), 200)
                            ),
                            &answers,
                        ))
                    }
                },
                Err(why) => {
                    return Err(self.fail(
                        FailureKind::Garbage,
                        format!("the answer to {what} is {why}"),
                        &answers,
                    ))
                }
            }
        }
        Ok(answers)
    }

    fn check_quiet(&mut self, grace: Duration) -> Result<(), PortFailure> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        match self.lines.recv_timeout(grace) {
            Ok(Line::Text(s)) => Err(self.fail(
                FailureKind::TooManyLines,
                format!("an extra line after the last answer: {}", shorten(&s, 200)),
                &[],
            )),
            Ok(Line::NotUtf8(_)) | Ok(Line::TooLong) => Err(self.fail(
                FailureKind::TooManyLines,
                "extra output after the last answer".to_string(),
                &[],
            )),
            _ => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), PortFailure> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        // [PROTO-3]: closing its input asks the port to exit with status 0.
        self.requests = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        let deadline = Instant::now() + EXIT_GRACE;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    return Err(self.fail(
                        FailureKind::BadExit,
                        format!(
                            "it did not exit within {} s after its input closed",
                            EXIT_GRACE.as_secs()
                        ),
                        &[],
                    ))
                }
            }
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            match line {
                Line::Text(s) => {
                    return Err(self.fail(
                        FailureKind::TooManyLines,
                        format!("an extra line after the last answer: {}", shorten(&s, 200)),
                        &[],
                    ))
                }
                Line::Eof => break,
                _ => {}
            }
        }
        // The port is done; whatever it started is ended with it.
        self.end_group();
        if !status.success() {
            return Err(self.fail(
                FailureKind::BadExit,
                format!(
                    "`{}` exited with {status} after its input closed",
                    self.command
                ),
                &[],
            ));
        }
        Ok(())
    }
}

impl Drop for ProcessPort {
    fn drop(&mut self) {
        self.end_group();
    }
}
