//! Shared helpers of the conformance tests (spec loading, schema conversion,
//! example-shape comparison). See `spec.rs` for the conversion rules.
#![allow(dead_code)]

pub mod mutate;
pub mod shape;
pub mod spec;
