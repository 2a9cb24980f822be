//! The spec-coverage report: for every clause of spec.md, where the model
//! implements it, which tests and golden traces exercise it, and whether the
//! flytekit run covers it (a compat trace of the corpus lists it: the test
//! command replays the whole corpus against real flytekit).

use serde::Serialize;
use std::path::Path;

/// Clauses no corpus trace can carry, and why; tests must cover them instead.
pub const CORPUS_EXEMPT: &[(&str, &str)] = &[
    ("ORIG-", "stack frames differ between languages: pinned by Rust tests of the model and the implementation"),
    ("PROTO-", "about how a port talks, not what it answers: pinned by the runner's tests with fake ports"),
    ("PUSH-3", "an origin is a stack frame (see [ORIG-1]): pinned by Rust tests"),
    ("WITH-6", "an origin is a stack frame (see [ORIG-2]): pinned by Rust tests"),
    ("TRACE-7", "an invalid trace cannot be a corpus file: pinned by tests that feed one to the runner"),
    ("TRACE-9", "a malformed file cannot be a corpus file: pinned by the hostile-input tests"),
];

#[derive(Clone, Debug, Serialize)]
pub struct ClauseCoverage {
    pub id: String,
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

fn files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// The clause ids of spec.md, in the order the spec defines them: a clause
/// is defined by a paragraph that starts with its id.
pub fn spec_clauses(spec: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut previous_blank = true;
    for line in spec.lines() {
        if previous_blank {
            if let Some((id, _)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
                let well_formed = id.contains('-')
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
                if well_formed && !ids.iter().any(|x| x == id) {
                    ids.push(id.to_string());
                }
            }
        }
        previous_blank = line.trim().is_empty();
    }
    ids
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
    for dir in ["model/src", "impl/src", "src"] {
        for p in files(&root.join(dir), "rs") {
            let text = std::fs::read_to_string(&p)?;
            if let Some(at) = text.find("#[cfg(test)]") {
                tests.push((rel(root, &p), text[at..].to_string()));
            }
        }
    }
    let corpus = crate::corpus::load_dir(&root.join("conformance/corpus"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(spec_clauses(&spec)
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
                corpus_exempt: CORPUS_EXEMPT
                    .iter()
                    .find(|(p, _)| id.starts_with(p))
                    .map(|(_, why)| *why),
                id,
            }
        })
        .collect())
}

/// The report as a markdown table.
pub fn render(rows: &[ClauseCoverage]) -> String {
    let mut out = String::from("| clause | model | tests | corpus traces | flytekit run | gaps |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let first = |v: &[String]| match v.len() {
            0 => "–".to_string(),
            1 => v[0].clone(),
            n => format!("{} (+{})", v[0], n - 1),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.id,
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
