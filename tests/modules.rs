//! No module imports one that imports it back: the crates' modules form a
//! graph without cycles, read from their `use crate::...` and `use super::...`
//! lines. (Tests and a module's own children are left out: a child may see
//! its parent's private items, which is what children are for.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`conform`, `model::builder`, ...) of each source file of `src`.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                pending.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .filter(|c| c != "mod")
                .collect();
            let name = parts.join("::");
            if name != "lib" && name != "main" && name != "tests" && !name.ends_with("::tests") {
                out.insert(name, p);
            }
        }
    }
    out
}

/// The modules `text` (module `me`) imports, among `known`, test code left out.
fn imports(me: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let parent: Vec<&str> = me.split("::").collect();
    let mut out = BTreeSet::new();
    for line in code
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("use "))
    {
        let path = line.trim_start_matches("use ").trim_end_matches(';');
        let absolute = if let Some(rest) = path.strip_prefix("crate::") {
            rest.to_string()
        } else if let Some(rest) = path.strip_prefix("super::") {
            let up = &parent[..parent.len().saturating_sub(1)];
            if up.is_empty() {
                rest.to_string()
            } else {
                format!("{}::{rest}", up.join("::"))
            }
        } else {
            continue;
        };
        // The longest known module the path starts with.
        let segments: Vec<&str> = absolute.split("::").collect();
        for n in (1..=segments.len()).rev() {
            let candidate = segments[..n].join("::");
            if known.contains(&candidate) {
                let is_own_child = candidate.starts_with(&format!("{me}::"));
                let is_own_parent = me.starts_with(&format!("{candidate}::"));
                if candidate != me && !is_own_child && !is_own_parent {
                    out.insert(candidate);
                }
                break;
            }
        }
    }
    out
}

/// A cycle of the import graph of the crate whose sources are in `src`, if any.
fn a_cycle(src: &Path) -> Option<Vec<String>> {
    let files = modules(src);
    let known: BTreeSet<String> = files.keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|(m, p)| {
            (
                m.clone(),
                imports(m, &std::fs::read_to_string(p).unwrap(), &known),
            )
        })
        .collect();
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|x| x == m) {
            return Some(path[i..].to_vec());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, &graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in ["src", "model/src", "impl/src"] {
        assert_eq!(a_cycle(&root.join(src)), None, "{src}");
    }
}

/// The check itself finds a cycle when there is one, and only then: a child
/// using its parent is not one.
#[test]
fn the_cycle_check_sees_a_cycle() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cycle");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::b::thing;\n").unwrap();
    std::fs::write(dir.join("b/mod.rs"), "mod inner;\nuse inner::Other;\n").unwrap();
    std::fs::write(dir.join("b/inner.rs"), "use super::thing;\n").unwrap();
    assert_eq!(
        a_cycle(&dir),
        None,
        "a parent and its child are not a cycle"
    );

    std::fs::write(dir.join("b/mod.rs"), "mod inner;\nuse crate::a::other;\n").unwrap();
    let cycle = a_cycle(&dir).expect("a -> b -> a is a cycle");
    assert!(
        cycle.contains(&"a".to_string()) && cycle.contains(&"b".to_string()),
        "{cycle:?}"
    );
}
