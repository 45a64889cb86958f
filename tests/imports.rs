//! The shape of `src/` (issue 13): no command imports another command, and the top-level
//! modules of `src/` import each other without a loop. Read from the `use crate::…`,
//! `crate::x::…` and `super::x` paths of the sources; no build tool needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as (path relative to `dir`, text).
fn sources(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The code of a file without its comments (line comments, doc comments) and its
/// `#[cfg(test)] mod tests` (a unit test may reach anywhere).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The names that follow `prefix` in `code`: `crate::x`, and each top-level name of a
/// `crate::{x, y::z}` group.
fn paths_after<'a>(code: &'a str, prefix: &str) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices(prefix) {
        // `prefix` must start a path, not end another identifier (`my_crate::`).
        if code[..i].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident_at(group[start..j].trim_start()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident_at(group[start..j].trim_start()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident_at(rest));
        }
    }
    out.remove("");
    out.remove("self");
    out
}

/// The top-level module a file under `src/` belongs to (`None`: the crate root or the binary).
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next().unwrap();
    match first {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// Top-level module → the other top-level modules it names.
fn module_graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = sources(dir);
    let modules: BTreeSet<String> = files.iter().filter_map(|(r, _)| top_module(r)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for (rel, text) in &files {
        let Some(m) = top_module(rel) else { continue };
        for used in paths_after(&code(text), "crate::") {
            if used != m && modules.contains(used) {
                g.get_mut(&m).unwrap().insert(used.to_string());
            }
        }
    }
    g
}

/// The loops of a graph: each strongly connected component with more than one module.
fn loops(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then collect on the reversed graph.
    fn visit(g: &BTreeMap<String, BTreeSet<String>>, n: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(n.to_string()) {
            return;
        }
        for m in g.get(n).into_iter().flatten() {
            visit(g, m, seen, order);
        }
        order.push(n.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for n in g.keys() {
        visit(g, n, &mut seen, &mut order);
    }
    let mut rev: BTreeMap<String, BTreeSet<String>> = g.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
    for (a, bs) in g {
        for b in bs {
            rev.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in order.iter().rev() {
        let mut comp = Vec::new();
        visit(&rev, n, &mut done, &mut comp);
        if comp.len() > 1 {
            comp.sort();
            out.push(comp);
        }
    }
    out
}

/// `src/commands/<x>.rs` files that name another command module (`super::y`, `crate::commands::y`).
fn commands_importing_commands(dir: &Path) -> Vec<String> {
    let cmd_dir = dir.join("commands");
    let files = sources(&cmd_dir);
    let commands: BTreeSet<String> = files
        .iter()
        .filter(|(r, _)| r.as_str() != "mod.rs")
        .map(|(r, _)| r.split('/').next().unwrap().trim_end_matches(".rs").to_string())
        .collect();
    let mut out = Vec::new();
    for (rel, text) in &files {
        if rel == "mod.rs" {
            continue;
        }
        let me = rel.split('/').next().unwrap().trim_end_matches(".rs");
        let c = code(text);
        let used: BTreeSet<&str> = paths_after(&c, "super::").into_iter().chain(paths_after(&c, "crate::commands::")).collect();
        for u in used {
            if u != me && commands.contains(u) {
                out.push(format!("commands/{rel} imports commands::{u}"));
            }
        }
    }
    out
}

#[test]
fn no_command_imports_another() {
    let found = commands_importing_commands(&src());
    assert!(found.is_empty(), "a command imports another (move the shared code into a library module):\n  {}", found.join("\n  "));
}

#[test]
fn no_import_loop_among_top_level_modules() {
    let found = loops(&module_graph(&src()));
    assert!(
        found.is_empty(),
        "import loops among the top-level modules of src/ (each line: modules that reach each other):\n  {}",
        found.iter().map(|l| l.join(" <-> ")).collect::<Vec<_>>().join("\n  ")
    );
}

/// The checks themselves find what they look for (on a small tree written here).
#[test]
fn the_checks_find_a_loop_and_a_command_calling_another() {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, t: &str| {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    w("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod commands;");
    w("a.rs", "use crate::{b::X, c};\n// crate::commands is only in a comment\n");
    w("b/mod.rs", "pub mod inner;");
    w("b/inner.rs", "fn f() { crate::a::g() }");
    w("c.rs", "use crate::error::Result; // no such module: ignored\n#[cfg(test)]\nmod tests { use crate::a; }");
    w("commands/mod.rs", "pub mod copy; pub mod verify; pub fn print_json() {}");
    w("commands/copy.rs", "use super::print_json; use crate::a;");
    w("commands/verify.rs", "fn f() { super::copy::run() }");
    let g = module_graph(d.path());
    assert_eq!(g["a"], ["b", "c"].iter().map(|s| s.to_string()).collect());
    assert!(g["c"].is_empty(), "comments, unknown modules and unit tests do not count: {g:?}");
    assert_eq!(loops(&g), vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(commands_importing_commands(d.path()), vec!["commands/verify.rs imports commands::copy".to_string()]);
}

/// What the two checks see today (printed with `--nocapture`; never fails): the work left.
#[test]
fn report_what_is_left() {
    let l = loops(&module_graph(&src()));
    let c = commands_importing_commands(&src());
    eprintln!("import loops: {l:?}\ncommands importing commands: {c:?}");
}
