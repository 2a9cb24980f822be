//! Object names as answers give them and traces use them ([OBS-4], [OBS-5]).
//!
//! A name is the kind prefix plus the object's number in first-observation
//! order: `c3`, `es0`, `cs1`, `o2`, or one of the two fixed opaque names.
//! Only the canonical spelling is accepted (no leading zeros), so one object
//! has exactly one name.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// `c<n>`: a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtxName(pub u32);
/// `es<n>`: an execution state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EsName(pub u32);
/// `cs<n>`: a compilation state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CsName(pub u32);

/// An opaque value: numbered, or one of the fixed defaults of [OBS-5].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpaqueName {
    /// `o<n>`.
    Numbered(u32),
    /// `default_file_access` ([OBS-5]).
    DefaultFileAccess,
    /// `default_task_resolver` ([OBS-5]).
    DefaultTaskResolver,
}

/// Any object name, for `observe` ([TRACE-2]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnyName {
    /// A context.
    Ctx(CtxName),
    /// An execution state.
    Es(EsName),
    /// A compilation state.
    Cs(CsName),
    /// An opaque value.
    Opaque(OpaqueName),
}

/// The fixed name of flytekit's default file-access provider ([OBS-5]).
pub const DEFAULT_FILE_ACCESS: &str = "default_file_access";
/// The fixed name of flytekit's default task resolver ([OBS-5]).
pub const DEFAULT_TASK_RESOLVER: &str = "default_task_resolver";

/// The number after `prefix`, in canonical decimal form.
fn number_after(s: &str, prefix: &str) -> Option<u32> {
    let digits = s.strip_prefix(prefix)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical {
        digits.parse().ok()
    } else {
        None
    }
}

impl AnyName {
    /// The object `s` names, if it is a name ([OBS-4]).
    pub fn parse(s: &str) -> Option<AnyName> {
        // `cs` before `c`: `cs1` is a compilation state, never a context.
        if let Some(n) = number_after(s, "cs") {
            return Some(AnyName::Cs(CsName(n)));
        }
        if let Some(n) = number_after(s, "c") {
            return Some(AnyName::Ctx(CtxName(n)));
        }
        if let Some(n) = number_after(s, "es") {
            return Some(AnyName::Es(EsName(n)));
        }
        if let Some(n) = number_after(s, "o") {
            return Some(AnyName::Opaque(OpaqueName::Numbered(n)));
        }
        match s {
            DEFAULT_FILE_ACCESS => Some(AnyName::Opaque(OpaqueName::DefaultFileAccess)),
            DEFAULT_TASK_RESOLVER => Some(AnyName::Opaque(OpaqueName::DefaultTaskResolver)),
            _ => None,
        }
    }
}

impl fmt::Display for CtxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}
impl fmt::Display for EsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "es{}", self.0)
    }
}
impl fmt::Display for CsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cs{}", self.0)
    }
}
impl fmt::Display for OpaqueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpaqueName::Numbered(n) => write!(f, "o{n}"),
            OpaqueName::DefaultFileAccess => f.write_str(DEFAULT_FILE_ACCESS),
            OpaqueName::DefaultTaskResolver => f.write_str(DEFAULT_TASK_RESOLVER),
        }
    }
}
impl fmt::Display for AnyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyName::Ctx(n) => n.fmt(f),
            AnyName::Es(n) => n.fmt(f),
            AnyName::Cs(n) => n.fmt(f),
            AnyName::Opaque(n) => n.fmt(f),
        }
    }
}

/// Serde support: every name travels as its string form. `expecting` is what
/// an error message says was expected ([TRACE-9]).
macro_rules! string_name {
    ($ty:ty, $expecting:literal, $pick:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$ty, E> {
                        let pick: fn(AnyName) -> Option<$ty> = $pick;
                        AnyName::parse(s)
                            .and_then(pick)
                            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

string_name!(CtxName, "a context name such as \"c0\"", |n| match n {
    AnyName::Ctx(c) => Some(c),
    _ => None,
});
string_name!(
    EsName,
    "an execution state name such as \"es0\"",
    |n| match n {
        AnyName::Es(c) => Some(c),
        _ => None,
    }
);
string_name!(
    CsName,
    "a compilation state name such as \"cs0\"",
    |n| match n {
        AnyName::Cs(c) => Some(c),
        _ => None,
    }
);
string_name!(
    OpaqueName,
    "an opaque value name such as \"o0\" or \"default_file_access\"",
    |n| match n {
        AnyName::Opaque(c) => Some(c),
        _ => None,
    }
);
string_name!(
    AnyName,
    "an object name such as \"c0\", \"es0\", \"cs0\" or \"o0\"",
    Some
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_non_canonical_spellings() {
        for s in [
            "c0",
            "c12",
            "es3",
            "cs0",
            "cs41",
            "o7",
            "default_file_access",
            "default_task_resolver",
        ] {
            let n = AnyName::parse(s).unwrap_or_else(|| panic!("{s} should parse"));
            assert_eq!(n.to_string(), s);
        }
        for s in [
            "c",
            "c01",
            "C1",
            "cs",
            "es-1",
            "o1.0",
            "x3",
            "c 1",
            "",
            "c4294967296",
        ] {
            assert_eq!(AnyName::parse(s), None, "{s} should not parse");
        }
        assert_eq!(AnyName::parse("cs1"), Some(AnyName::Cs(CsName(1))));
        assert_eq!(AnyName::parse("c1"), Some(AnyName::Ctx(CtxName(1))));
    }

    #[test]
    fn a_name_of_the_wrong_kind_is_refused_with_what_was_expected() {
        let err = serde_json::from_str::<CtxName>("\"es1\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a context name such as"), "{err}");
        let ok: EsName = serde_json::from_str("\"es1\"").unwrap();
        assert_eq!(ok, EsName(1));
    }
}
