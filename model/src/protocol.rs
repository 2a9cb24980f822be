//! The hello exchange of the port protocol ([PROTO-2], [FEAT-3], [REL-1]):
//! the runner's request, and a port's answer with what it implements.
//! Shared by the runner (which reads answers) and the model's own server
//! (which writes one), so both read the protocol the same way.

use crate::feature::{Feature, FeatureSet};
use crate::release::Release;
use crate::Profile;
use serde_json::{json, Map, Value};

/// The protocol's name, in every hello.
pub const PROTOCOL: &str = "flytectx-port";
/// The oldest protocol version a runner speaks: a port that knows only it
/// accepts the runner's hello unchanged ([PROTO-2]).
pub const OLDEST_VERSION: u64 = 1;
/// The newest protocol version: version 2 adds features and releases ([FEAT-3]).
pub const NEWEST_VERSION: u64 = 2;

/// The hello request a runner sends first ([PROTO-2]).
pub fn hello_request(profile: Profile) -> Value {
    json!({"hello": {
        "protocol": PROTOCOL,
        "version": OLDEST_VERSION,
        "newest_version": NEWEST_VERSION,
        "profile": profile,
    }})
}

/// What a port said of itself in its hello answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortHello {
    /// The protocol version it speaks.
    pub version: u64,
    /// What it calls itself, when it says.
    pub name: Option<String>,
    /// The profiles it implements.
    pub profiles: Vec<Profile>,
    /// [FEAT-3]: the features it implements; every feature in version 1.
    pub features: FeatureSet,
    /// Feature names it declared that this runner does not know ([FEAT-3]:
    /// reported, and otherwise ignored).
    pub unknown_features: Vec<String>,
    /// [REL-1]: the flytekit release whose behaviour it follows.
    pub release: Release,
}

impl PortHello {
    /// A hello answer's `hello` object, written as a port of `version` would.
    pub fn to_value(&self) -> Value {
        let mut h = Map::new();
        h.insert("protocol".into(), json!(PROTOCOL));
        h.insert("version".into(), json!(self.version));
        if let Some(name) = &self.name {
            h.insert("name".into(), json!(name));
        }
        h.insert("profiles".into(), json!(self.profiles));
        if self.version >= 2 {
            h.insert("features".into(), json!(self.features));
            h.insert("release".into(), json!(self.release));
        }
        json!({ "hello": h })
    }

    /// Read a port's hello answer ([PROTO-2], [FEAT-3]); the error says what
    /// is wrong with it. `{"err": "unsupported_profile"}` is not a hello and
    /// is left to the caller.
    pub fn parse(answer: &Value) -> Result<PortHello, String> {
        let expected = format!(
            "expected {{\"hello\": {{\"protocol\": \"{PROTOCOL}\", \"version\": 1 or 2, ...}}}}"
        );
        let h = answer
            .get("hello")
            .and_then(Value::as_object)
            .ok_or_else(|| expected.clone())?;
        if h.get("protocol") != Some(&json!(PROTOCOL)) {
            return Err(format!("{expected}; `protocol` is not \"{PROTOCOL}\""));
        }
        let version = match h.get("version").and_then(Value::as_u64) {
            Some(v) if (OLDEST_VERSION..=NEWEST_VERSION).contains(&v) => v,
            _ => {
                return Err(format!(
                    "{expected}; it answered version {}, and this runner speaks {OLDEST_VERSION} to {NEWEST_VERSION}",
                    h.get("version").unwrap_or(&Value::Null)
                ))
            }
        };
        let name = h.get("name").and_then(Value::as_str).map(String::from);
        let profiles = h
            .get("profiles")
            .map(|p| serde_json::from_value::<Vec<Profile>>(p.clone()))
            .transpose()
            .map_err(|e| format!("`profiles`: {e}"))?
            .unwrap_or_default();
        let mut hello = PortHello {
            version,
            name,
            profiles,
            features: FeatureSet::ALL,
            unknown_features: Vec::new(),
            release: Release::REFERENCE,
        };
        if version == 1 {
            // [FEAT-3]: a version-1 port implements everything, as flytekit 1.16.10.
            return Ok(hello);
        }
        let names = h
            .get("features")
            .and_then(Value::as_array)
            .ok_or("version 2: `features` is a list of feature names")?;
        hello.features = FeatureSet::EMPTY;
        for n in names {
            let n = n.as_str().ok_or("`features` holds strings")?;
            match Feature::parse(n) {
                Some(f) => hello.features.insert(f),
                None => hello.unknown_features.push(n.to_string()),
            }
        }
        if !hello.features.contains(Feature::Stack) {
            return Err("`features` must include \"stack\": every port has the stack core".into());
        }
        if let Some(r) = h.get("release") {
            hello.release = r.as_str().and_then(Release::parse).ok_or_else(|| {
                format!("`release` is a flytekit version such as \"1.10.7\", not {r}")
            })?;
        }
        Ok(hello)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [PROTO-2]: a version-1 port, which checks only `protocol` and
    /// `version`, accepts the request unchanged.
    #[test]
    fn the_request_is_one_a_version_1_port_accepts() {
        let r = hello_request(Profile::Compat);
        assert_eq!(r["hello"]["version"], 1);
        assert_eq!(r["hello"]["newest_version"], 2);
        assert_eq!(r["hello"]["profile"], "compat");
    }

    /// [FEAT-3]
    #[test]
    fn a_version_1_answer_means_every_feature_of_the_reference_release() {
        let h = PortHello::parse(&json!({"hello": {"protocol": PROTOCOL, "version": 1,
            "name": "old", "profiles": ["isolated"]}}))
        .unwrap();
        assert_eq!(
            (h.version, h.features, h.release),
            (1, FeatureSet::ALL, Release::REFERENCE)
        );
        assert_eq!(h.name.as_deref(), Some("old"));
    }

    /// [FEAT-3], [REL-1]
    #[test]
    fn a_version_2_answer_lists_features_and_may_name_a_release() {
        let h = PortHello::parse(&json!({"hello": {"protocol": PROTOCOL, "version": 2,
            "name": "go port", "profiles": ["compat"], "features": ["stack", "with", "teleport"],
            "release": "1.10.7"}}))
        .unwrap();
        assert_eq!(h.features.to_string(), "stack, with");
        assert_eq!(h.unknown_features, vec!["teleport"]);
        assert_eq!(h.release, Release::new(1, 10, 7));
        assert_eq!(
            PortHello::parse(&h.to_value()).unwrap().features,
            h.features
        );

        let h = PortHello::parse(&json!({"hello": {"protocol": PROTOCOL, "version": 2,
            "profiles": ["compat"], "features": ["stack"]}}))
        .unwrap();
        assert_eq!(h.release, Release::REFERENCE, "no release: the reference");
    }

    #[test]
    fn a_wrong_hello_is_refused_with_the_reason() {
        let why = |v: Value| PortHello::parse(&v).unwrap_err();
        assert!(why(json!({"ok": null})).contains("expected"));
        assert!(why(json!({"hello": {"protocol": "x", "version": 1}})).contains("`protocol`"));
        assert!(why(json!({"hello": {"protocol": PROTOCOL, "version": 3}}))
            .contains("answered version 3"));
        assert!(
            why(json!({"hello": {"protocol": PROTOCOL, "version": 2, "profiles": []}}))
                .contains("`features`")
        );
        assert!(why(json!({"hello": {"protocol": PROTOCOL, "version": 2,
            "features": ["with"]}}))
        .contains("must include \"stack\""));
        assert!(why(json!({"hello": {"protocol": PROTOCOL, "version": 2,
            "features": ["stack"], "release": "latest"}}))
        .contains("`release`"));
    }
}
