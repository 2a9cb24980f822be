//! The golden corpus is data; these tests hold it to the model and the spec.

use flytectx_conformance::corpus::load_dir;
use flytectx_conformance::run::expect;
use flytectx_model::unwind::is_wire_form;
use std::collections::BTreeSet;
use std::path::Path;

fn corpus() -> Vec<flytectx_conformance::corpus::CorpusTrace> {
    load_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("conformance/corpus")
            .as_path(),
    )
    .expect("the corpus loads")
    .traces
}

#[test]
fn the_model_gives_every_expected_answer_of_the_corpus() {
    let traces = corpus();
    assert!(traces.len() >= 20, "the corpus has {} traces", traces.len());
    for t in &traces {
        for &profile in &t.file.header.profiles {
            let exp = expect(profile, &t.file.ops)
                .unwrap_or_else(|e| panic!("{}: {}", t.path.display(), e.error));
            // [TRACE-8]: corpus files are in wire form.
            assert!(
                is_wire_form(&t.file.ops, &exp.steps),
                "{} is not in wire form",
                t.path.display()
            );
            for (i, (want, got)) in t.expected.iter().zip(&exp.answers[1..]).enumerate() {
                assert_eq!(
                    want,
                    got,
                    "{} line {} ({profile})",
                    t.path.display(),
                    t.file.lines[i]
                );
            }
        }
    }
}

fn spec_clauses() -> BTreeSet<String> {
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spec.md")).unwrap();
    flytectx_conformance::spec::clauses(&spec)
        .into_iter()
        .collect()
}

#[test]
fn every_clause_the_corpus_names_exists_and_every_trace_names_one() {
    let clauses = spec_clauses();
    assert!(clauses.len() > 80, "{} clauses found", clauses.len());
    for t in corpus() {
        assert!(
            !t.file.header.clauses.is_empty(),
            "{} names no clause",
            t.path.display()
        );
        for c in &t.file.header.clauses {
            assert!(
                clauses.contains(c),
                "{} names {c}, which spec.md does not define",
                t.path.display()
            );
        }
    }
}

#[test]
fn every_clause_has_a_model_rule_and_a_test_or_trace() {
    // The coverage report's check, as a test: `flytectx coverage --check`.
    let rows =
        flytectx_conformance::coverage::coverage(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert_eq!(rows.len(), spec_clauses().len());
    let gaps: Vec<String> = rows
        .iter()
        .filter(|r| !r.gaps().is_empty())
        .map(|r| format!("{}: {}", r.id, r.gaps().join("; ")))
        .collect();
    assert!(gaps.is_empty(), "{gaps:#?}");
}
