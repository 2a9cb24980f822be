//! What a port is checked as: a profile and a flytekit release ([`Target`]:
//! they decide every expected answer), and the features checked ([`Claim`]:
//! they decide which operations may be sent at all).

use crate::feature::{Feature, FeatureSet};
use crate::release::Release;
use crate::trace::{Mode, Op, Slot, Step};
use crate::Profile;

/// The behaviour expected answers describe: a profile ([PROF-1]) of a
/// flytekit release ([REL-1]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The profile.
    pub profile: Profile,
    /// The release whose behaviour is expected.
    pub release: Release,
}

impl From<Profile> for Target {
    /// The profile, in the reference release.
    fn from(profile: Profile) -> Target {
        Target {
            profile,
            release: Release::REFERENCE,
        }
    }
}

/// What is checked ([FEAT-3], [REL-2]): a target, and the features the port
/// declared, narrowed by the runner's selection and by what the release has.
/// A port may declare no more than the stack core ([PORT-7]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Claim {
    /// Whose behaviour the answers must show.
    pub target: Target,
    /// The features checked; never more than the release has.
    pub features: FeatureSet,
}

impl Claim {
    /// A claim of `features` of `target`, less what its release lacks.
    pub fn new(target: Target, features: FeatureSet) -> Claim {
        Claim {
            target,
            features: features.intersection(target.release.features()),
        }
    }

    /// The first reason `op` cannot be sent under this claim, if any.
    pub fn unavailable(&self, op: &Op) -> Option<Unavailable> {
        if let Some(f) = op.features().difference(self.features).iter().next() {
            return Some(Unavailable::Feature(f));
        }
        let release = self.target.release;
        if !release.has_op(op) {
            return Some(Unavailable::Operation(op.name()));
        }
        if let Some(m) = op.mode().filter(|&m| !release.has_mode(m)) {
            return Some(Unavailable::Mode(m));
        }
        op.steps().iter().find_map(|s| self.step_unavailable(s))
    }

    /// Why builder step `step` cannot be sent under this claim, if it cannot.
    pub fn step_unavailable(&self, step: &Step) -> Option<Unavailable> {
        if !self.features.contains(step.feature()) {
            return Some(Unavailable::Feature(step.feature()));
        }
        match step {
            Step::WithSlot(slot, _) if !self.target.release.has_setter(*slot) => {
                Some(Unavailable::Setter(*slot))
            }
            _ => None,
        }
    }
}

impl From<Target> for Claim {
    /// Every feature the target's release has.
    fn from(target: Target) -> Claim {
        Claim::new(target, FeatureSet::ALL)
    }
}

impl From<Profile> for Claim {
    /// Every feature of the reference release.
    fn from(profile: Profile) -> Claim {
        Claim::from(Target::from(profile))
    }
}

/// Why an operation cannot be sent to a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// It needs a feature that is not checked.
    Feature(Feature),
    /// It names an execution mode the release does not have ([REL-2]).
    Mode(Mode),
    /// It calls a builder setter the release does not have ([REL-2]).
    Setter(Slot),
    /// It is an operation the release does not have ([REL-2]).
    Operation(&'static str),
}

impl Unavailable {
    /// The reason in words, for reports; `release` is the port's.
    pub fn describe(self, release: Release) -> String {
        match self {
            Unavailable::Feature(f) => format!("needs the feature `{f}`"),
            Unavailable::Mode(m) => format!(
                "uses the execution mode {}, which flytekit {release} does not have",
                serde_json::to_string(&m).unwrap_or_default()
            ),
            Unavailable::Setter(s) => format!(
                "uses the builder method `{}`, which flytekit {release} does not have",
                s.builder_method()
            ),
            Unavailable::Operation(_) => {
                format!("is an operation flytekit {release} does not have")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{CtxName, OpaqueName};
    use crate::trace::DirName;

    fn new_es(mode: Mode) -> Op {
        Op::NewEs {
            working_dir: DirName::new("w").unwrap(),
            mode: Some(mode),
            engine_dir: None,
            branch_eval_mode: None,
            user_space_params: None,
        }
    }

    /// [FEAT-3], [REL-2]
    #[test]
    fn an_operation_is_unavailable_for_a_missing_feature_mode_or_setter() {
        let minimal = Claim::new(
            Target::from(Profile::Compat),
            FeatureSet::parse_list("stack,with").unwrap(),
        );
        let enter = |steps| Op::WithEnter {
            from: CtxName(0),
            steps,
        };
        assert_eq!(minimal.unavailable(&enter(vec![])), None);
        assert_eq!(
            minimal.unavailable(&enter(vec![Step::EnterConditionalSection])),
            Some(Unavailable::Feature(Feature::Conditionals))
        );
        assert_eq!(
            minimal.unavailable(&Op::NewOpaque),
            Some(Unavailable::Feature(Feature::Builders))
        );

        let old = Claim::from(Target {
            profile: Profile::Compat,
            release: Release::new(1, 10, 7),
        });
        assert!(
            !old.features.contains(Feature::Signals),
            "the release lacks it"
        );
        assert_eq!(
            old.unavailable(&new_es(Mode::EagerExecution)),
            Some(Unavailable::Mode(Mode::EagerExecution))
        );
        assert_eq!(old.unavailable(&new_es(Mode::DynamicTaskExecution)), None);
        let client = Op::Build {
            from: CtxName(0),
            steps: vec![Step::WithSlot(
                Slot::FlyteClient,
                Some(OpaqueName::Numbered(0)),
            )],
        };
        let why = old.unavailable(&client).unwrap();
        assert_eq!(why, Unavailable::Setter(Slot::FlyteClient));
        assert!(why
            .describe(Release::new(1, 10, 7))
            .contains("`with_client`, which flytekit 1.10.7 does not have"));
        assert_eq!(Claim::from(Profile::Isolated).unavailable(&client), None);
    }
}
