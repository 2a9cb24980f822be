//! The model as an external port speaking the protocol of spec.md section 14
//! over stdin/stdout: the reference any port author can run and read.

use crate::answer::Answer;
use crate::port::ModelPort;
use crate::trace::decode_op_line;
use crate::Profile;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

pub const PROTOCOL: &str = "flytectx-port";
pub const PROTOCOL_VERSION: u64 = 1;

/// The hello request a runner sends first ([PROTO-2]).
pub fn hello_request(profile: Profile) -> Value {
    json!({"hello": {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "profile": profile}})
}

/// Serve requests from `input` until it closes ([PROTO-3]); answers go to
/// `output`, one line each, flushed so a pipelining runner sees them
/// ([PROTO-5]). Requests the model cannot make sense of are answered
/// `{"err": "bad_request"}` and explained on `log`, the port's standard error,
/// which [PROTO-1] leaves free for logging.
pub fn serve(
    input: impl BufRead,
    mut output: impl Write,
    mut log: impl Write,
) -> std::io::Result<()> {
    let mut port: Option<ModelPort> = None;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        let answer = match &mut port {
            // [PROTO-2]: the first request is hello.
            None => match hello(&line) {
                Ok(profile) => {
                    port = Some(ModelPort::new(profile));
                    json!({"hello": {"protocol": PROTOCOL, "version": PROTOCOL_VERSION,
                                     "name": concat!("flytectx-model ", env!("CARGO_PKG_VERSION")),
                                     "profiles": [Profile::Compat, Profile::Isolated]}})
                }
                Err((kind, why)) => {
                    writeln!(log, "request {}: {why}", i + 1)?;
                    Answer::Err(kind.into()).to_value()
                }
            },
            // [PROTO-3]: one answer per operation, in order.
            Some(port) => match decode_op_line(&line, i + 1, false) {
                Ok((op, _)) => match port.apply(&op) {
                    Ok(a) => a.to_value(),
                    Err(e) => {
                        writeln!(log, "request {}: {e}", i + 1)?;
                        Answer::Err("bad_request".into()).to_value()
                    }
                },
                Err(e) => {
                    writeln!(log, "request {e}")?;
                    Answer::Err("bad_request".into()).to_value()
                }
            },
        };
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

/// The profile a hello asks for, or the error kind to answer and why.
fn hello(line: &str) -> Result<Profile, (&'static str, String)> {
    let bad = |why: String| ("bad_request", why);
    let v: Value =
        serde_json::from_str(line).map_err(|e| bad(format!("hello is not JSON: {e}")))?;
    let h = v
        .get("hello")
        .ok_or_else(|| bad("the first request must be {\"hello\": ...}".to_string()))?;
    if h.get("protocol") != Some(&json!(PROTOCOL))
        || h.get("version") != Some(&json!(PROTOCOL_VERSION))
    {
        return Err(bad(format!(
            "this port speaks {PROTOCOL} version {PROTOCOL_VERSION}, not {h}"
        )));
    }
    serde_json::from_value(h.get("profile").cloned().unwrap_or(Value::Null))
        .map_err(|e| ("unsupported_profile", format!("unknown profile: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(requests: &[&str]) -> (Vec<Value>, String) {
        let input = requests.join("\n");
        let (mut out, mut log) = (Vec::new(), Vec::new());
        serve(input.as_bytes(), &mut out, &mut log).unwrap();
        let answers = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (answers, String::from_utf8(log).unwrap())
    }

    #[test]
    fn hello_checks_protocol_and_version_and_profile() {
        let ok = hello_request(Profile::Compat).to_string();
        let (a, _) = session(&[&ok, r#"{"op":"size"}"#]);
        assert_eq!(a[0]["hello"]["version"], PROTOCOL_VERSION, "[PROTO-2]");
        assert_eq!(a[1], json!({"ok": 1}), "[PROTO-3]");
        for bad in [
            ok.replace(&format!("\"version\":{PROTOCOL_VERSION}"), "\"version\":2"),
            ok.replace(PROTOCOL, "other-protocol"),
        ] {
            let (a, log) = session(&[&bad]);
            assert_eq!(a[0], json!({"err": "bad_request"}), "{bad}");
            assert!(log.contains("request 1"), "{log}");
        }
        let (a, _) = session(&[&ok.replace("compat", "sideways")]);
        assert_eq!(a[0], json!({"err": "unsupported_profile"}));
    }

    #[test]
    fn a_request_it_cannot_read_is_answered_and_explained() {
        let ok = hello_request(Profile::Isolated).to_string();
        let (a, log) = session(&[
            &ok,
            r#"{"op":"fly"}"#,
            r#"{"op":"push","ctx":"c7"}"#,
            r#"{"op":"size"}"#,
        ]);
        assert_eq!(
            (&a[1], &a[2], &a[3]),
            (
                &json!({"err": "bad_request"}),
                &json!({"err": "bad_request"}),
                &json!({"ok": 1})
            )
        );
        assert!(log.contains("line 2") && log.contains("request 3"), "{log}");
    }
}
