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
                Err(why) => {
                    writeln!(log, "request {}: {why}", i + 1)?;
                    Answer::Err(
                        if why.contains("profile") {
                            "unsupported_profile"
                        } else {
                            "bad_request"
                        }
                        .into(),
                    )
                    .to_value()
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

fn hello(line: &str) -> Result<Profile, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("hello is not JSON: {e}"))?;
    let h = v
        .get("hello")
        .ok_or("the first request must be {\"hello\": ...}")?;
    if h.get("protocol") != Some(&json!(PROTOCOL))
        || h.get("version") != Some(&json!(PROTOCOL_VERSION))
    {
        return Err(format!(
            "this port speaks {PROTOCOL} version {PROTOCOL_VERSION}, not {h}"
        ));
    }
    serde_json::from_value(h.get("profile").cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("unknown profile: {e}"))
}
