//! Deliberately wrong response shapes: a validator that accepts any of
//! these is broken (a conformance check that cannot fail is a defect).
#![allow(dead_code)]

use serde_json::{json, Value};

use super::spec::Spec;

/// Corruptions every resource body must be rejected for; shared with the live test.
pub fn assert_rejects_corruptions(s: &Spec, op: &str, good: &Value) {
    s.validate_response(op, 200, good).unwrap_or_else(|e| panic!("baseline {op} body invalid: {e:#?}"));
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut v = good.clone();
    let props = v.as_object_mut().unwrap().remove("properties").unwrap();
    v["props"] = props;
    cases.push(("properties renamed to props", v));
    let mut v = good.clone();
    v["systemData"]["createdAt"] = json!(1_700_000_000);
    cases.push(("systemData.createdAt is a number", v));
    let mut v = good.clone();
    v["properties"]["tags"] = json!(["a"]);
    cases.push(("properties.tags is an array", v));
    let mut v = good.clone();
    v["properties"]["unexpectedProperty"] = json!(true);
    cases.push(("undeclared property in a closed definition", v));
    let mut v = good.clone();
    v["properties"]["isAnonymous"] = json!("false");
    cases.push(("boolean as string", v));
    for (what, body) in cases {
        match s.validate_response(op, 200, &body) {
            Ok(()) => panic!("{op}: corruption `{what}` was accepted"),
            Err(errs) => assert!(errs.iter().all(|e| e.contains(" at /")), "{what}: no pointer in {errs:#?}"),
        }
    }
}

