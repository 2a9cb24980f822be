//! Features ([FEAT-1]..[FEAT-4]): the parts of flytekit's API a port may
//! leave out, so that a partial port is checked on what it implements and
//! told plainly what was not checked.
//!
//! Every operation and builder step of the trace language belongs to one
//! feature (`Op::feature`, `Step::feature` in [`crate::trace`]), and so does
//! every clause of spec.md ([`Feature::of_clause`]); spec.md's feature table
//! says the same, and a test holds the two together.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One feature ([FEAT-1]), named in traces and hellos as [`Feature::as_str`] spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// The stack core every port has: initialize, current, size, push, pop,
    /// build, observe.
    Stack,
    /// `with_context` scopes.
    With,
    /// Builder setters of the opaque fields, directly built contexts, opaque values.
    Builders,
    /// `enter_conditional_section`.
    Conditionals,
    /// `ExecutionState` and the operations on it.
    ExecutionStates,
    /// `CompilationState` and the operations on it.
    CompilationStates,
    /// Operations on other threads.
    Threads,
    /// Operations in tasks.
    Tasks,
    /// Signal handlers and SIGINT.
    Signals,
    /// Origins: where a context was pushed.
    Origins,
}

impl Feature {
    /// Every feature, in the order of spec.md's table.
    pub const ALL: [Feature; 10] = [
        Feature::Stack,
        Feature::With,
        Feature::Builders,
        Feature::Conditionals,
        Feature::ExecutionStates,
        Feature::CompilationStates,
        Feature::Threads,
        Feature::Tasks,
        Feature::Signals,
        Feature::Origins,
    ];

    /// The feature's name in traces, hellos and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Stack => "stack",
            Feature::With => "with",
            Feature::Builders => "builders",
            Feature::Conditionals => "conditionals",
            Feature::ExecutionStates => "execution_states",
            Feature::CompilationStates => "compilation_states",
            Feature::Threads => "threads",
            Feature::Tasks => "tasks",
            Feature::Signals => "signals",
            Feature::Origins => "origins",
        }
    }

    /// The feature named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// [FEAT-2]: the feature a clause of spec.md belongs to, by its id. Ids
    /// that name no clause of a known section belong to no feature.
    pub fn of_clause(id: &str) -> Option<Feature> {
        let (section, _) = id.rsplit_once('-')?;
        Some(match (section, id) {
            // The exceptions first: clauses whose section is shared.
            (_, "PUSH-3" | "WITH-6" | "OBS-7") => Feature::Origins,
            (_, "BLD-3" | "BLD-8" | "CTX-2") => Feature::Builders,
            (_, "BLD-4" | "BLD-5" | "BLD-7") => Feature::CompilationStates,
            (_, "CTX-3" | "ALIAS-1" | "BLD-6") => Feature::ExecutionStates,
            (_, "RUN-1" | "RUN-2" | "RUN-3") => Feature::With,
            ("PROF" | "FEAT" | "REL" | "INIT" | "SIZE" | "CUR" | "PUSH" | "POP" | "STK", _) => {
                Feature::Stack
            }
            ("CTX" | "BLD" | "OBS" | "TRACE" | "RUN" | "PROTO" | "PORT", _) => Feature::Stack,
            ("WITH", _) => Feature::With,
            ("COND", _) => Feature::Conditionals,
            ("ES", _) => Feature::ExecutionStates,
            ("CS", _) => Feature::CompilationStates,
            ("THR", _) => Feature::Threads,
            ("TASK", _) => Feature::Tasks,
            ("SIG", _) => Feature::Signals,
            ("ORIG", _) => Feature::Origins,
            _ => return None,
        })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Feature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Feature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Feature::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown feature `{name}`; the features are {}",
                FeatureSet::ALL
            ))
        })
    }
}

/// A set of features. Serializes as the list of their names, in table order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FeatureSet(u16);

impl FeatureSet {
    /// No feature.
    pub const EMPTY: FeatureSet = FeatureSet(0);
    /// Every feature: what a version-1 port implements ([FEAT-3]).
    pub const ALL: FeatureSet = FeatureSet((1 << Feature::ALL.len()) - 1);

    fn bit(f: Feature) -> u16 {
        1 << f as u16
    }

    /// The set holding just `f`.
    pub fn only(f: Feature) -> FeatureSet {
        FeatureSet(Self::bit(f))
    }

    /// Whether `f` is in the set.
    pub fn contains(self, f: Feature) -> bool {
        self.0 & Self::bit(f) != 0
    }

    /// Add `f`.
    pub fn insert(&mut self, f: Feature) {
        self.0 |= Self::bit(f);
    }

    /// The features of `self` and `other`.
    pub fn union(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 | other.0)
    }

    /// The features in both.
    pub fn intersection(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & other.0)
    }

    /// The features of `self` not in `other`.
    pub fn difference(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & !other.0)
    }

    /// Whether every feature of `self` is in `other`.
    pub fn is_subset(self, other: FeatureSet) -> bool {
        self.difference(other).is_empty()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The features of the set, in table order.
    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL.into_iter().filter(move |&f| self.contains(f))
    }

    /// Parse a comma-separated list such as `stack,with`; the error names
    /// the first unknown feature.
    pub fn parse_list(list: &str) -> Result<FeatureSet, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Feature::parse(name).ok_or_else(|| {
                    format!(
                        "unknown feature `{name}`; the features are {}",
                        FeatureSet::ALL
                    )
                })
            })
            .collect()
    }
}

impl FromIterator<Feature> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> FeatureSet {
        let mut set = FeatureSet::EMPTY;
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Feature::as_str).collect();
        f.write_str(&names.join(", "))
    }
}

impl fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for FeatureSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for FeatureSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Feature>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.as_str()), Some(f));
        }
        assert_eq!(Feature::parse("stacks"), None);
        let set = FeatureSet::parse_list("with, stack,").unwrap();
        assert_eq!(set.to_string(), "stack, with");
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["stack","with"]"#);
        let e = FeatureSet::parse_list("stack,sigs").unwrap_err();
        assert!(e.contains("unknown feature `sigs`"), "{e}");
        let e = serde_json::from_str::<FeatureSet>(r#"["stack","x"]"#).unwrap_err();
        assert!(e.to_string().contains("unknown feature `x`"), "{e}");
    }

    #[test]
    fn set_operations_do_what_they_say() {
        let a = FeatureSet::parse_list("stack,with,threads").unwrap();
        let b = FeatureSet::parse_list("with,signals").unwrap();
        assert_eq!(a.intersection(b), FeatureSet::only(Feature::With));
        assert_eq!(a.difference(b).to_string(), "stack, threads");
        assert_eq!(a.union(b).iter().count(), 4);
        assert!(FeatureSet::only(Feature::Stack).is_subset(a) && !b.is_subset(a));
        assert_eq!(FeatureSet::ALL.iter().count(), Feature::ALL.len());
        assert!(FeatureSet::EMPTY.is_empty() && !a.is_empty());
    }

    /// [FEAT-2]: sections map to features, with the listed exceptions.
    #[test]
    fn clauses_belong_to_the_feature_of_their_section_or_to_an_exception() {
        let of = |id| Feature::of_clause(id);
        assert_eq!(of("POP-2"), Some(Feature::Stack));
        assert_eq!(of("BLD-2"), Some(Feature::Stack));
        assert_eq!(of("BLD-3"), Some(Feature::Builders));
        assert_eq!(of("BLD-4"), Some(Feature::CompilationStates));
        assert_eq!(of("PUSH-3"), Some(Feature::Origins));
        assert_eq!(of("RUN-2"), Some(Feature::With));
        assert_eq!(of("RUN-4"), Some(Feature::Stack));
        assert_eq!(of("COND-5"), Some(Feature::Conditionals));
        assert_eq!(of("TASK-1"), Some(Feature::Tasks));
        assert_eq!(of("NOPE-1"), None);
        assert_eq!(of("POP"), None);
    }
}
