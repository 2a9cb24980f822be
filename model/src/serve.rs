//! The model as an external port speaking the protocol of spec.md section 14
//! over stdin/stdout: the reference any port author can run and read.
//!
//! With [`ServeOptions`] it can also stand for a partial port ([FEAT-3]): it
//! declares fewer features or an older release, and answers `unsupported`
//! to what it does not implement, as a real partial port would.

use crate::answer::Answer;
use crate::claim::{Claim, Target};
use crate::feature::FeatureSet;
use crate::port::ModelPort;
use crate::protocol::{PortHello, NEWEST_VERSION, OLDEST_VERSION, PROTOCOL};
use crate::release::Release;
use crate::trace::decode_op_line;
use crate::Profile;
use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// What the served model says of itself, and so what it implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// The newest protocol version it answers in ([PROTO-2]).
    pub version: u64,
    /// [FEAT-3]: the features it declares and implements (version 2).
    pub features: FeatureSet,
    /// [REL-1]: the release it follows (declared in version 2).
    pub release: Release,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            version: NEWEST_VERSION,
            features: FeatureSet::ALL,
            release: Release::REFERENCE,
        }
    }
}

/// The answer to an operation the served model does not implement ([FEAT-3]).
pub const UNSUPPORTED: &str = "unsupported";

/// Serve requests from `input` until it closes ([PROTO-3]); answers go to
/// `output`, one line each, flushed so a pipelining runner sees them
/// ([PROTO-5]). Requests the model cannot make sense of are answered
/// `{"err": "bad_request"}` and explained on `log`, the port's standard error,
/// which [PROTO-1] leaves free for logging.
pub fn serve(
    input: impl BufRead,
    mut output: impl Write,
    mut log: impl Write,
    options: &ServeOptions,
) -> std::io::Result<()> {
    let mut session: Option<(ModelPort, Claim)> = None;
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        let answer = match &mut session {
            // [PROTO-2]: the first request is hello.
            None => match hello(&line, options) {
                Ok((profile, version)) => {
                    let target = Target {
                        profile,
                        release: options.release,
                    };
                    let features = if version == 1 {
                        FeatureSet::ALL
                    } else {
                        options.features
                    };
                    session = Some((ModelPort::new(target), Claim::new(target, features)));
                    PortHello {
                        version,
                        name: Some(concat!("flytectx-model ", env!("CARGO_PKG_VERSION")).into()),
                        profiles: vec![Profile::Compat, Profile::Isolated],
                        features,
                        unknown_features: Vec::new(),
                        release: options.release,
                    }
                    .to_value()
                }
                Err((kind, why)) => {
                    writeln!(log, "request {}: {why}", i + 1)?;
                    Answer::Err(kind.into()).to_value()
                }
            },
            // [PROTO-3]: one answer per operation, in order.
            Some((port, claim)) => match decode_op_line(&line, i + 1, false) {
                Ok((op, _)) => match claim.unavailable(&op) {
                    Some(why) => {
                        writeln!(
                            log,
                            "request {}: `{}` {}",
                            i + 1,
                            op.name(),
                            why.describe(claim.target.release)
                        )?;
                        Answer::Err(UNSUPPORTED.into()).to_value()
                    }
                    None => match port.apply(&op) {
                        Ok(a) => a.to_value(),
                        Err(e) => {
                            writeln!(log, "request {}: {e}", i + 1)?;
                            Answer::Err("bad_request".into()).to_value()
                        }
                    },
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

/// The profile a hello asks for and the protocol version to answer in, or
/// the error kind to answer and why.
fn hello(line: &str, options: &ServeOptions) -> Result<(Profile, u64), (&'static str, String)> {
    let bad = |why: String| ("bad_request", why);
    let v: Value =
        serde_json::from_str(line).map_err(|e| bad(format!("hello is not JSON: {e}")))?;
    let h = v
        .get("hello")
        .ok_or_else(|| bad("the first request must be {\"hello\": ...}".to_string()))?;
    if h.get("protocol") != Some(&json!(PROTOCOL)) {
        return Err(bad(format!("this port speaks {PROTOCOL}, not {h}")));
    }
    // [PROTO-2]: `version` is the oldest version the runner speaks and
    // `newest_version` (when given) its newest; answer in the newest both know.
    let oldest = h.get("version").and_then(Value::as_u64).unwrap_or(0);
    let newest = h
        .get("newest_version")
        .and_then(Value::as_u64)
        .unwrap_or(oldest);
    let version = newest.min(options.version);
    if oldest < OLDEST_VERSION || version < oldest {
        return Err(bad(format!(
            "this port speaks {PROTOCOL} versions {OLDEST_VERSION} to {}, not {h}",
            options.version
        )));
    }
    let profile = serde_json::from_value(h.get("profile").cloned().unwrap_or(Value::Null))
        // [PORT-8]: after this answer no request comes; the input closes.
        .map_err(|e| ("unsupported_profile", format!("unknown profile: {e}")))?;
    Ok((profile, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::hello_request;

    fn session(requests: &[&str]) -> (Vec<Value>, String) {
        let input = requests.join("\n");
        let (mut out, mut log) = (Vec::new(), Vec::new());
        serve(
            input.as_bytes(),
            &mut out,
            &mut log,
            &ServeOptions::default(),
        )
        .unwrap();
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
        let hello = PortHello::parse(&a[0]).unwrap();
        assert_eq!(
            (hello.version, hello.features),
            (NEWEST_VERSION, FeatureSet::ALL),
            "[PROTO-2], [FEAT-3]"
        );
        assert_eq!(a[1], json!({"ok": 1}), "[PROTO-3]");
        // A runner that knows only version 1 gets a version-1 answer.
        let old = r#"{"hello":{"protocol":"flytectx-port","version":1,"profile":"compat"}}"#;
        let (a, _) = session(&[old]);
        assert_eq!(a[0]["hello"]["version"], 1);
        assert!(a[0]["hello"].get("features").is_none(), "{}", a[0]);
        for bad in [
            ok.replace("\"version\":1", "\"version\":3"),
            ok.replace(PROTOCOL, "other-protocol"),
        ] {
            let (a, log) = session(&[&bad]);
            assert_eq!(a[0], json!({"err": "bad_request"}), "{bad}");
            assert!(log.contains("request 1"), "{log}");
        }
        // [PORT-8]: then the input closes, and the server returns (exit 0).
        let (a, _) = session(&[&ok.replace("compat", "sideways")]);
        assert_eq!(a[0], json!({"err": "unsupported_profile"}));
        assert_eq!(a.len(), 1);
    }

    /// [FEAT-3]: a served model with fewer features answers `unsupported`
    /// to the rest, and says why on its standard error.
    #[test]
    fn a_partial_model_declares_its_features_and_refuses_the_others() {
        let options = ServeOptions {
            features: FeatureSet::parse_list("stack,with").unwrap(),
            release: Release::new(1, 10, 7),
            ..ServeOptions::default()
        };
        let input = [
            hello_request(Profile::Compat).to_string(),
            r#"{"op":"new_opaque"}"#.to_string(),
            r#"{"op":"size"}"#.to_string(),
        ]
        .join("\n");
        let (mut out, mut log) = (Vec::new(), Vec::new());
        serve(input.as_bytes(), &mut out, &mut log, &options).unwrap();
        let answers: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let hello = PortHello::parse(&answers[0]).unwrap();
        assert_eq!(hello.features.to_string(), "stack, with");
        assert_eq!(hello.release, Release::new(1, 10, 7));
        assert_eq!(answers[1], json!({"err": "unsupported"}));
        assert_eq!(answers[2], json!({"ok": 1}));
        let log = String::from_utf8(log).unwrap();
        assert!(log.contains("needs the feature `builders`"), "{log}");
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
