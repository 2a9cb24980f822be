//! The spec-coverage report: for every clause of spec.md, where the model
//! implements it, which tests and golden traces exercise it, and whether the
//! flytekit run covers it (a compat trace of the corpus lists it: the test
//! command replays the whole corpus against real flytekit).

use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct ClauseCoverage {
    pub id: String,
    /// The feature the clause belongs to ([FEAT-2]).
    pub feature: Option<flytectx_model::Feature>,
    /// `file:line` of each citation in model/src.
    pub model: Vec<String>,
    /// Test files (and scenario traces) that cite the clause.
    pub tests: Vec<String>,
    /// Corpus files whose header lists the clause.
    pub corpus: Vec<String>,
    /// A compat corpus trace lists it, so the flytekit run checks it.
    pub flytekit: bool,
    /// Why no corpus trace is needed, for the exempt clauses.
    pub corpus_exempt: Option<&'static str>,
}

impl ClauseCoverage {
    /// What is missing, if anything: a model rule, and a test or (unless
    /// exempt) a corpus trace.
    pub fn gaps(&self) -> Vec<&'static str> {
        let mut g = Vec::new();
        if self.model.is_empty() {
            g.push("no model rule cites it");
        }
        if self.corpus.is_empty() && self.corpus_exempt.is_none() {
            g.push("no corpus trace lists it");
        }
        if self.corpus.is_empty() && self.tests.is_empty() {
            g.push("no test exercises it");
        }
        g
    }
}

/// The files of `dir` and its subdirectories whose names end in `.ext`,
/// in path order.
fn files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// The coverage of every clause, read from the repository at `root`.
pub fn coverage(root: &Path) -> std::io::Result<Vec<ClauseCoverage>> {
    let spec = std::fs::read_to_string(root.join("spec.md"))?;
    let model: Vec<(String, String)> = files(&root.join("model/src"), "rs")
        .into_iter()
        .map(|p| Ok((rel(root, &p), std::fs::read_to_string(&p)?)))
        .collect::<std::io::Result<_>>()?;
    // Test code: test files, and the `#[cfg(test)]` part of source files.
    let mut tests: Vec<(String, String)> = Vec::new();
    for dir in ["tests", "impl/tests"] {
        for p in files(&root.join(dir), "rs")
            .into_iter()
            .chain(files(&root.join(dir).join("scenarios"), "jsonl"))
        {
            tests.push((rel(root, &p), std::fs::read_to_string(&p)?));
        }
    }
    // The probes test flytekit itself, clause by clause.
    for p in files(&root.join("conformance/probes"), "py") {
        tests.push((rel(root, &p), std::fs::read_to_string(&p)?));
    }
    for dir in ["model/src", "impl/src", "src"] {
        for p in files(&root.join(dir), "rs") {
            let text = std::fs::read_to_string(&p)?;
            if let Some(at) = text.find("#[cfg(test)]") {
                tests.push((rel(root, &p), text[at..].to_string()));
            }
        }
    }
    let corpus = crate::corpus::load_dir(&root.join("conformance/corpus"))
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .traces;
    Ok(crate::spec::clauses(&spec)
        .into_iter()
        .map(|id| {
            let cite = format!("[{id}]");
            let mentions = |text: &str| text.contains(&cite) || text.contains(&format!("\"{id}\""));
            ClauseCoverage {
                model: model
                    .iter()
                    .flat_map(|(f, text)| {
                        text.lines()
                            .enumerate()
                            .filter(|(_, l)| l.contains(&cite))
                            .map(move |(n, _)| format!("{f}:{}", n + 1))
                    })
                    .collect(),
                tests: tests
                    .iter()
                    .filter(|(_, t)| mentions(t))
                    .map(|(f, _)| f.clone())
                    .collect(),
                corpus: corpus
                    .iter()
                    .filter(|t| t.file.header.clauses.contains(&id))
                    .map(|t| rel(root, &t.path))
                    .collect(),
                flytekit: corpus.iter().any(|t| {
                    t.file.header.clauses.contains(&id)
                        && t.file
                            .header
                            .profiles
                            .contains(&flytectx_model::Profile::Compat)
                }),
                corpus_exempt: crate::spec::not_in_traces(&id),
                feature: flytectx_model::Feature::of_clause(&id),
                id,
            }
        })
        .collect())
}

/// Coverage per feature ([FEAT-2]): how many of its clauses have a model
/// rule, a test or corpus trace, and a run against flytekit.
fn render_features(rows: &[ClauseCoverage]) -> String {
    let mut out = String::from(
        "\n| feature | clauses | model rule | test or corpus trace | corpus traces | checked against flytekit | not in traces | gaps |\n|---|---|---|---|---|---|---|---|\n",
    );
    for f in flytectx_model::Feature::ALL {
        let mine: Vec<&ClauseCoverage> = rows.iter().filter(|r| r.feature == Some(f)).collect();
        let count = |p: &dyn Fn(&ClauseCoverage) -> bool| mine.iter().filter(|r| p(r)).count();
        out.push_str(&format!(
            "| {f} | {} | {} | {} | {} | {} | {} | {} |\n",
            mine.len(),
            count(&|r| !r.model.is_empty()),
            count(&|r| !r.tests.is_empty() || !r.corpus.is_empty()),
            count(&|r| !r.corpus.is_empty()),
            count(&|r| r.flytekit),
            count(&|r| r.corpus_exempt.is_some()),
            count(&|r| !r.gaps().is_empty()),
        ));
    }
    out
}

/// The report as a markdown table.
pub fn render(rows: &[ClauseCoverage]) -> String {
    let mut out = String::from("| clause | feature | model | tests | corpus traces | flytekit run | gaps |\n|---|---|---|---|---|---|---|\n");
    for r in rows {
        let first = |v: &[String]| match v.len() {
            0 => "–".to_string(),
            1 => v[0].clone(),
            n => format!("{} (+{})", v[0], n - 1),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.feature.map_or("–", |f| f.as_str()),
            first(&r.model),
            first(&r.tests),
            if r.corpus.is_empty() {
                r.corpus_exempt
                    .map(|_| "exempt".to_string())
                    .unwrap_or("–".into())
            } else {
                r.corpus.len().to_string()
            },
            if r.flytekit { "yes" } else { "no" },
            r.gaps().join("; ")
        ));
    }
    out.push_str(&render_features(rows));
    let gaps = rows.iter().filter(|r| !r.gaps().is_empty()).count();
    let on_flytekit = rows.iter().filter(|r| r.flytekit).count();
    out.push_str(&format!(
        "\n{} clauses; {} checked against flytekit through the corpus; {} with gaps.\n",
        rows.len(),
        on_flytekit,
        gaps
    ));
    out
}
