//! spec.md's tables, held to the code: the feature of every operation, step
//! and clause ([FEAT-1], [FEAT-2]).

use flytectx_model::names::{AnyName, CsName, CtxName, EsName, OpaqueName};
use flytectx_model::trace::{DirName, Op, Slot, Step};
use flytectx_model::Feature;
use std::collections::HashMap;

fn spec() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec.md")).unwrap()
}

/// The rows of the feature table: (feature, operation and step names, clause words).
fn feature_table(spec: &str) -> Vec<(Feature, Vec<String>, Vec<String>)> {
    let start = spec
        .find("| feature | operations and builder steps")
        .expect("the feature table");
    spec[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let feature = Feature::parse(cells[1].trim_matches('`')).expect("a feature name");
            let names = cells[2]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect();
            // "(but X)" notes an exception, which the row of X's feature names.
            let mut clauses = String::new();
            let mut depth = 0;
            for ch in cells[3].chars() {
                match ch {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ if depth == 0 => clauses.push(ch),
                    _ => {}
                }
            }
            let words = clauses
                .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect();
            (feature, names, words)
        })
        .collect()
}

fn every_op() -> Vec<Op> {
    let c = CtxName(0);
    let dir = || DirName::new("w").unwrap();
    vec![
        Op::Reset,
        Op::Initialize,
        Op::Current,
        Op::Size,
        Op::Push { ctx: c },
        Op::Pop,
        Op::NewContext { file_access: None },
        Op::Build {
            from: c,
            steps: vec![],
        },
        Op::WithEnter {
            from: c,
            steps: vec![],
        },
        Op::WithExit { raise: None },
        Op::Observe {
            target: AnyName::Ctx(c),
        },
        Op::UserSpaceParams { ctx: c },
        Op::NewOpaque,
        Op::NewEs {
            working_dir: dir(),
            mode: None,
            engine_dir: None,
            branch_eval_mode: None,
            user_space_params: None,
        },
        Op::EsWithParams {
            es: EsName(0),
            working_dir: None,
            mode: None,
            engine_dir: None,
            branch_eval_mode: None,
            user_space_params: None,
        },
        Op::CtxNewEs {
            ctx: c,
            working_dir: None,
        },
        Op::TakeBranch { es: EsName(0) },
        Op::BranchComplete { es: EsName(0) },
        Op::NewCs {
            prefix: String::new(),
            mode: 1,
            task_resolver: None,
            nodes_of: None,
        },
        Op::CsWithParams {
            cs: CsName(0),
            prefix: None,
            mode: None,
            task_resolver: None,
            nodes_of: None,
        },
        Op::CtxNewCs {
            ctx: c,
            prefix: String::new(),
        },
        Op::AddNode { cs: CsName(0) },
        Op::AddSignalHandler {
            tag: "t".into(),
            then: None,
        },
        Op::SetProgramHandler { tag: "p".into() },
        Op::SigintHandler,
        Op::Sigint,
        Op::OriginOf { ctx: c },
        Op::OriginFrame { limit: 1 },
        Op::PushWithOrigin { ctx: c, origin: 1 },
        Op::WithDrop,
        Op::MakeFile { path: dir() },
        Op::IsLocalExecution { es: EsName(0) },
        Op::BuilderNewEs {
            from: c,
            steps: vec![],
            working_dir: None,
        },
        Op::BuilderNewCs {
            from: c,
            steps: vec![],
            prefix: String::new(),
        },
        Op::ThreadBegin,
        Op::ThreadEnd,
        Op::TaskBegin,
        Op::TaskEnd,
    ]
}

fn every_step() -> Vec<Step> {
    let mut steps = vec![
        Step::ContextWithNewCompilationState,
        Step::EnterConditionalSection,
        Step::WithNewCompilationState,
        Step::WithExecutionState(None),
        Step::WithCompilationState(None),
    ];
    steps.extend(Slot::ALL.map(|s| Step::WithSlot(s, Some(OpaqueName::DefaultFileAccess))));
    steps
}

/// [FEAT-1], [FEAT-2]: each operation and step is in exactly one row, the
/// row of its feature.
#[test]
fn the_feature_table_gives_every_operation_and_step_its_feature() {
    let spec = spec();
    let table = feature_table(&spec);
    assert_eq!(table.len(), Feature::ALL.len());
    let mut row_of: HashMap<String, Feature> = HashMap::new();
    for (feature, names, _) in &table {
        for n in names {
            assert!(
                row_of.insert(n.clone(), *feature).is_none(),
                "{n} is in two rows"
            );
        }
    }
    let ops = every_op();
    let steps = every_step();
    for op in &ops {
        assert_eq!(
            row_of.get(op.name()),
            Some(&op.feature()),
            "`{}`",
            op.name()
        );
    }
    for step in &steps {
        assert_eq!(
            row_of.get(step.method()),
            Some(&step.feature()),
            "`{}`",
            step.method()
        );
    }
    assert_eq!(
        row_of.len(),
        ops.len() + steps.len(),
        "the table names nothing else"
    );
}

/// [FEAT-2]: the table's clause column and `Feature::of_clause` agree on
/// every clause of the spec.
#[test]
fn the_feature_table_gives_every_clause_the_feature_the_model_gives_it() {
    let spec = spec();
    let mut by_id: HashMap<String, Feature> = HashMap::new();
    let mut by_section: HashMap<String, Feature> = HashMap::new();
    for (feature, _, words) in feature_table(&spec) {
        for w in words {
            let map = if w.contains('-') {
                &mut by_id
            } else {
                &mut by_section
            };
            assert!(
                map.insert(w.clone(), feature).is_none(),
                "{w} is in two rows"
            );
        }
    }
    let clauses = flytectx_conformance::spec::clauses(&spec);
    assert!(clauses.len() > 90);
    for id in &clauses {
        let section = id.rsplit_once('-').unwrap().0;
        let in_table = by_id.get(id).or_else(|| by_section.get(section));
        assert_eq!(in_table, Feature::of_clause(id).as_ref(), "{id}");
    }
}
