//! Every component, data and pipeline YAML of ../shared/testdata/azureml-examples parses; every
//! pipeline is offered to `aml-failover pipeline create` in the emulator, and those that are
//! self-contained (local components and code, registry or inline environments, no local data)
//! register, checked by reading the created definition back; the others are refused with
//! their reason (exit 2), never with a crash or a service error.

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    azureml_examples().join("cli")
}

fn schema_kind(doc: &Value) -> Option<&'static str> {
    let s = doc.get("$schema")?.as_str()?.to_ascii_lowercase();
    let file = s.rsplit('/').next()?;
    Some(match file {
        "pipelinejob.schema.json" => "pipeline",
        "data.schema.json" => "data",
        f if f.ends_with("component.schema.json") => "component",
        _ => return None,
    })
}

#[test]
fn corpus_components_data_and_pipelines_parse_and_self_contained_pipelines_register() {
    let root = corpus();
    let mut files = Vec::new();
    for sub in ["assets/component", "assets/data", "jobs/pipelines", "jobs/pipelines-with-components", "jobs/basics"] {
        if root.join(sub).is_dir() {
            yaml_files(&root.join(sub), &mut files);
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    let mut pipelines = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", f.display()));
        let Some(kind) = schema_kind(&doc) else { continue };
        *counts.entry(kind).or_insert(0) += 1;
        match kind {
            "component" => assert!(doc.get("type").is_some() || doc.get("command").is_some(), "{}: no type", f.display()),
            "data" => assert!(doc["name"].is_string() && doc["path"].is_string(), "{}: name and path", f.display()),
            _ => {
                assert!(doc["jobs"].is_object(), "{}: no jobs", f.display());
                // Local component files a pipeline names exist and parse too.
                for (step, j) in doc["jobs"].as_object().unwrap() {
                    if let Some(c) = j["component"].as_str().filter(|c| !c.starts_with("azureml:")) {
                        let cf = f.parent().unwrap().join(c.strip_prefix("file:").unwrap_or(c));
                        let ct = std::fs::read_to_string(&cf).unwrap_or_else(|e| panic!("{} → {step}: {}: {e}", f.display(), cf.display()));
                        let _: Value = serde_norway::from_str(&ct).unwrap_or_else(|e| panic!("{}: {e}", cf.display()));
                    }
                }
                pipelines.push(f.clone());
            }
        }
    }
    assert!(counts.get("component").copied().unwrap_or(0) >= 5 && counts.get("data").copied().unwrap_or(0) >= 5 && pipelines.len() >= 20, "{counts:?} {}", pipelines.len());

    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let f = tb.failover().arm_id();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for (i, p) in pipelines.iter().enumerate() {
        let name = format!("corpus-{i}");
        let r = run(command(&tb), &["pipeline", "create", "-f", p.to_str().unwrap(), "--to", &f, "--name", &name, "-o", "json"]);
        let rel = p.strip_prefix(&root).unwrap().display().to_string();
        match r.code {
            0 => {
                let def = d.get(&format!("{f}/components/corpus_{i}/versions/1")).unwrap_or_else(|| panic!("{rel}: accepted but no definition"));
                assert_eq!(def["properties"]["componentSpec"]["type"], "pipeline", "{rel}");
                accepted.push(rel);
            }
            2 => {
                assert!(r.stderr.starts_with("error: "), "{rel}: {}", r.stderr);
                refused.push(format!("{rel}: {}", r.stderr.trim()));
            }
            other => panic!("{rel}: exit {other}\n{}\n{}", r.stdout, r.stderr),
        }
    }
    eprintln!("accepted {}:\n  {}\nrefused {}:\n  {}", accepted.len(), accepted.join("\n  "), refused.len(), refused.join("\n  "));
    assert!(accepted.len() >= 3, "too few self-contained pipelines registered: {refused:#?}");
}
