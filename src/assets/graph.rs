//! The dependency graph of the items a copy moves: pure functions over keys.
//!
//! Edges point from an item to what it needs (pipeline → component → code/environment,
//! pipeline → data). `order` puts every item after what it needs; `blocked` finds, for each
//! item, a chain to a dependency that is missing or failed, so that nothing of that item is
//! registered and the report names the chain ("job p → component c:1 → environment e:2 missing").

use super::Kind;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds the selected kinds need, themselves first: components and pipelines need code,
/// environments and components; pipelines also need data. (`copy` and `snapshot export`
/// enumerate these so every reference can be resolved.)
pub fn needed_kinds(kinds: &[Kind]) -> Vec<Kind> {
    let mut out: Vec<Kind> = kinds.to_vec();
    for k in kinds {
        for n in k.spec().needs() {
            if !out.contains(n) {
                out.push(*n);
            }
        }
    }
    out
}

/// `edges[item]` = what the item needs (keys that may or may not be nodes).
pub type Edges<K> = BTreeMap<K, Vec<K>>;

/// Every node after its dependencies; ties keep the order of `nodes`. Nodes on a cycle come
/// last, in their given order (a cycle cannot be expressed by Azure ML references, so it
/// would be a bug in the data; the caller still handles every node).
pub fn order<K: Ord + Clone>(nodes: &[K], edges: &Edges<K>) -> Vec<K> {
    let set: BTreeSet<&K> = nodes.iter().collect();
    let mut done: BTreeSet<K> = BTreeSet::new();
    let mut out = Vec::new();
    loop {
        let mut progressed = false;
        for n in nodes {
            if done.contains(n) {
                continue;
            }
            let ready = edges.get(n).is_none_or(|ds| ds.iter().all(|d| !set.contains(d) || done.contains(d) || d == n));
            if ready {
                done.insert(n.clone());
                out.push(n.clone());
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    for n in nodes {
        if !done.contains(n) {
            done.insert(n.clone());
            out.push(n.clone());
        }
    }
    out
}

/// For `start`, the first chain `[start, …, bad]` where `bad(k)` holds (a missing or failed
/// dependency); `None` when every transitive dependency is fine. Depth-first, edges in order.
pub fn chain_to<K: Ord + Clone>(start: &K, edges: &Edges<K>, bad: &dyn Fn(&K) -> bool) -> Option<Vec<K>> {
    fn go<K: Ord + Clone>(k: &K, edges: &Edges<K>, bad: &dyn Fn(&K) -> bool, path: &mut Vec<K>, seen: &mut BTreeSet<K>) -> bool {
        for d in edges.get(k).map(Vec::as_slice).unwrap_or(&[]) {
            if path.contains(d) || !seen.insert(d.clone()) {
                continue;
            }
            path.push(d.clone());
            if bad(d) || go(d, edges, bad, path, seen) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.clone()];
    let mut seen = BTreeSet::new();
    go(start, edges, bad, &mut path, &mut seen).then_some(path)
}

/// Every node reachable from `roots` (roots included), in a stable order.
pub fn closure<K: Ord + Clone>(roots: &[K], edges: &Edges<K>) -> Vec<K> {
    let mut seen: BTreeSet<K> = BTreeSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<K> = roots.iter().rev().cloned().collect();
    while let Some(k) = stack.pop() {
        if !seen.insert(k.clone()) {
            continue;
        }
        for d in edges.get(&k).map(Vec::as_slice).unwrap_or(&[]).iter().rev() {
            stack.push(d.clone());
        }
        out.push(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(&'static str, &[&'static str])]) -> Edges<&'static str> {
        list.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn dependencies_come_first() {
        let e = edges(&[("pipe", &["train", "score", "data"]), ("train", &["code", "env"]), ("score", &["code"])]);
        let o = order(&["pipe", "score", "train", "code", "env", "data", "model"], &e);
        let pos = |k: &str| o.iter().position(|x| *x == k).unwrap();
        for (a, b) in [("code", "train"), ("env", "train"), ("code", "score"), ("train", "pipe"), ("score", "pipe"), ("data", "pipe")] {
            assert!(pos(a) < pos(b), "{a} before {b}: {o:?}");
        }
        assert_eq!(o.len(), 7);
        // Independent items keep their relative order.
        assert!(pos("env") < pos("model"));
    }

    #[test]
    fn cycles_do_not_lose_nodes() {
        let e = edges(&[("a", &["b"]), ("b", &["a"])]);
        assert_eq!(order(&["a", "b", "c"], &e), ["c", "a", "b"]);
    }

    #[test]
    fn chain_names_the_path_to_what_is_missing() {
        let e = edges(&[("pipe", &["train", "data"]), ("train", &["code", "env"])]);
        let missing = |k: &&str| *k == "env";
        assert_eq!(chain_to(&"pipe", &e, &missing), Some(vec!["pipe", "train", "env"]));
        assert_eq!(chain_to(&"train", &e, &missing), Some(vec!["train", "env"]));
        assert_eq!(chain_to(&"data", &e, &missing), None);
        assert_eq!(chain_to(&"pipe", &e, &|_: &&str| false), None);
    }

    #[test]
    fn closure_pulls_in_transitive_dependencies() {
        let e = edges(&[("pipe", &["train"]), ("train", &["code", "env"]), ("other", &["x"])]);
        let mut c = closure(&["pipe"], &e);
        c.sort();
        assert_eq!(c, ["code", "env", "pipe", "train"]);
    }
}
