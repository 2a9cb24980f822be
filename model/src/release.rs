//! flytekit releases ([REL-1]..[REL-3]): which release a port follows, and
//! what each release has. Behaviour that differs between releases is decided
//! in the model's rules, which read the release through [`crate::Model`]; this
//! module only knows versions and what a release lacks.

use crate::feature::{Feature, FeatureSet};
use crate::trace::{Mode, Op, Slot};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A flytekit release, `major.minor.patch` ([REL-1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Release {
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
    /// The patch version.
    pub patch: u16,
}

impl Release {
    /// [REL-1]: the release spec.md describes, and what a port follows unless
    /// it says otherwise.
    pub const REFERENCE: Release = Release::new(1, 16, 10);

    /// The release `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Release {
        Release {
            major,
            minor,
            patch,
        }
    }

    /// Read a version such as `1.10.7`. A pre-release or local suffix after
    /// the patch number (`1.16.0b2`, `1.16.10+dev`) is ignored: what a release
    /// has is decided by its numbers. A missing patch number reads as 0.
    pub fn parse(text: &str) -> Option<Release> {
        let mut parts = text.trim().splitn(3, '.');
        let number = |s: &str| -> Option<u16> {
            let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                None
            } else {
                digits.parse().ok()
            }
        };
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        let patch = match parts.next() {
            Some(p) => number(p)?,
            None => 0,
        };
        Some(Release::new(major, minor, patch))
    }

    /// Whether this release is `major.minor` or newer.
    pub fn at_least(self, major: u16, minor: u16) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// [REL-2]: the features this release has at all. Signal handlers came
    /// in 1.15; everything else is in every release with `FlyteContextManager`.
    pub fn features(self) -> FeatureSet {
        let mut set = FeatureSet::ALL;
        if !self.at_least(1, 15) {
            set = set.difference(FeatureSet::only(Feature::Signals));
        }
        set
    }

    /// [REL-2], [ES-3]: whether this release has execution mode `m`.
    pub fn has_mode(self, m: Mode) -> bool {
        match m {
            Mode::TaskExecution | Mode::LocalWorkflowExecution | Mode::LocalTaskExecution => true,
            Mode::DynamicTaskExecution => self.at_least(1, 10),
            Mode::EagerExecution | Mode::EagerLocalExecution => self.at_least(1, 15),
            Mode::LocalDynamicTaskExecution => self.at_least(1, 16),
        }
    }

    /// [REL-2]: whether this release has operation `op` at all (its
    /// feature, modes and setters aside): `is_local_execution` came in 1.9.
    pub fn has_op(self, op: &Op) -> bool {
        match op {
            Op::IsLocalExecution { .. } => self.at_least(1, 9),
            _ => true,
        }
    }

    // ----- [REL-3]: how older releases behave, each rule named after the
    // clause it changes; the model's rules ask these.

    /// [INIT-4], [ES-8] before 0.22: the root's working directory, and a
    /// context's `new_execution_state()` with none given, are a new random
    /// directory in the sandbox rather than the sandbox itself.
    pub fn random_sandbox_dirs(self) -> bool {
        !self.at_least(0, 22)
    }

    /// [BLD-6] before 0.22: the random directory a builder's
    /// `new_execution_state()` makes has a name that ends with `/`, as the
    /// file-access module of those releases wrote every random directory
    /// ([INIT-4] and [ES-8] read the same form there).
    pub fn random_dirs_end_with_slash(self) -> bool {
        !self.at_least(0, 22)
    }

    /// [CUR-2] from 1.1: `current_context()` on an empty stack initializes;
    /// before, it returns none and leaves the stack empty.
    pub fn current_initializes(self) -> bool {
        self.at_least(1, 1)
    }

    /// [THR-1] from 1.1: a unit may have a stack of its own; before, one
    /// stack serves every thread and task, and `initialize()` replaces it.
    pub fn stack_per_unit(self) -> bool {
        self.at_least(1, 1)
    }

    /// [COND-2] (a flytekit bug before 1.9): whether mode `m` is local to a
    /// conditional section. Before 1.9 only `LOCAL_WORKFLOW_EXECUTION` is.
    pub fn is_local(self, m: Mode) -> bool {
        if self.at_least(1, 9) {
            m.is_local()
        } else {
            m == Mode::LocalWorkflowExecution
        }
    }

    /// [CS-6] from 1.14: a context's `new_compilation_state` has the default
    /// task resolver; before, none (as the builder's, [BLD-4]).
    pub fn context_cs_has_resolver(self) -> bool {
        self.at_least(1, 14)
    }

    /// [REL-2], [BLD-3]: whether this release's builder has the setter of `slot`.
    pub fn has_setter(self, slot: Slot) -> bool {
        match slot {
            Slot::FileAccess | Slot::SerializationSettings => true,
            Slot::OutputMetadataTracker => self.at_least(1, 11),
            Slot::FlyteClient | Slot::WorkerQueue => self.at_least(1, 15),
        }
    }
}

impl Default for Release {
    fn default() -> Release {
        Release::REFERENCE
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Release {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Release::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a flytekit release such as \"1.10.7\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order_by_their_numbers() {
        let r = |s| Release::parse(s).unwrap();
        assert_eq!(r("1.10.7"), Release::new(1, 10, 7));
        assert_eq!(r("1.16.0b2"), Release::new(1, 16, 0));
        assert_eq!(r("0.32"), Release::new(0, 32, 0));
        assert_eq!(r(" 1.16.10+dev "), Release::new(1, 16, 10));
        for bad in ["", "1", "x.1.2", "1.x", "1.2.x"] {
            assert_eq!(Release::parse(bad), None, "{bad:?}");
        }
        assert!(r("1.9.1") < r("1.10.0") && r("1.10.0") < r("1.10.7"));
        assert!(r("1.15.0").at_least(1, 15) && !r("1.14.9").at_least(1, 15));
        assert_eq!(Release::REFERENCE.to_string(), "1.16.10");
        assert_eq!(
            serde_json::to_string(&Release::new(1, 2, 3)).unwrap(),
            r#""1.2.3""#
        );
        let e = serde_json::from_str::<Release>(r#""one""#).unwrap_err();
        assert!(e.to_string().contains("not a flytekit release"), "{e}");
    }

    /// [REL-3]
    #[test]
    fn older_releases_behave_as_they_did() {
        let (r0_21, r0_22, r1_0, r1_1) = (
            Release::new(0, 21, 5),
            Release::new(0, 22, 4),
            Release::new(1, 0, 5),
            Release::new(1, 1, 3),
        );
        assert!(r0_21.random_sandbox_dirs() && !r0_22.random_sandbox_dirs());
        assert!(r0_21.random_dirs_end_with_slash() && !r0_22.random_dirs_end_with_slash());
        assert!(!r1_0.current_initializes() && r1_1.current_initializes());
        assert!(!r1_0.stack_per_unit() && r1_1.stack_per_unit());
        let r1_8 = Release::new(1, 8, 3);
        assert!(r1_8.is_local(Mode::LocalWorkflowExecution));
        assert!(
            !r1_8.is_local(Mode::LocalTaskExecution),
            "the bug fixed in 1.9"
        );
        assert!(Release::new(1, 9, 1).is_local(Mode::LocalTaskExecution));
        assert!(!Release::new(1, 13, 15).context_cs_has_resolver());
        assert!(Release::new(1, 14, 9).context_cs_has_resolver());
        let es = crate::names::EsName(0);
        assert!(!r1_8.has_op(&Op::IsLocalExecution { es }));
        assert!(Release::REFERENCE.has_op(&Op::IsLocalExecution { es }));
    }

    /// [REL-2]
    #[test]
    fn older_releases_lack_what_came_later() {
        let old = Release::new(1, 10, 7);
        assert!(!old.features().contains(Feature::Signals));
        assert!(old.features().contains(Feature::Threads));
        assert!(Release::REFERENCE.features() == FeatureSet::ALL);
        assert!(old.has_mode(Mode::DynamicTaskExecution));
        assert!(!old.has_mode(Mode::EagerExecution));
        assert!(!Release::new(1, 15, 4).has_mode(Mode::LocalDynamicTaskExecution));
        assert!(!Release::new(1, 9, 3).has_mode(Mode::DynamicTaskExecution));
        assert!(old.has_setter(Slot::SerializationSettings));
        assert!(!old.has_setter(Slot::FlyteClient) && !old.has_setter(Slot::WorkerQueue));
        assert!(!Release::new(1, 10, 7).has_setter(Slot::OutputMetadataTracker));
        assert!(Release::new(1, 11, 0).has_setter(Slot::OutputMetadataTracker));
        for m in Mode::ALL {
            assert!(Release::REFERENCE.has_mode(m));
        }
        for s in Slot::ALL {
            assert!(Release::REFERENCE.has_setter(s));
        }
    }
}
