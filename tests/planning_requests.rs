//! Planning by listing (issue 16): the storage requests of `plan` and `verify` are a function of
//! the listing pages, not of the number of versions. A counting test, not a timing test: the
//! storage proxy in front of Azurite records every request the tool sends.

mod common;

use common::*;
use std::collections::BTreeMap;

/// Storage requests by kind: `list` (List Blobs pages), `head`, `read` (GET of a blob), `other`.
fn storage_requests(tb: &TestBed) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for r in tb.storage_proxy().expect("bed with the storage proxy").requests() {
        let kind = match (r.method.as_str(), r.query.as_deref().unwrap_or_default().contains("comp=list")) {
            ("GET", true) => "list",
            ("GET", false) => "read",
            ("HEAD", _) => "head",
            _ => "other",
        };
        *out.entry(kind).or_insert(0) += 1;
    }
    out
}

/// N versions (bulk-seeded: every version's content among a few shared blobs, half of them
/// already in the failover workspace as `copy` leaves them): `plan` lists each side's container
/// once — one page each here — and asks nothing per version; the only other requests are reads
/// of a source file whose target copy has other bytes and records no source (N/100 of the
/// versions in odd containers: the one such conflict at N = 400, none at N = 200). The same for
/// `verify`. Before planning by listing, this was a listing or a HEAD per version and side.
#[test]
fn plan_and_verify_ask_storage_per_listing_page_not_per_version() {
    for (n, reads) in [(200usize, 0usize), (400, 1)] {
        let tb = TestBed::start(TestBedOptions { storage_proxy: true, ..Default::default() }).expect("test bed starts (run scripts/setup.sh first)");
        let seeded = tb.seed_bulk(n, 100).expect("bulk seed");
        let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
        let proxy = tb.storage_proxy().unwrap();

        proxy.reset_counters();
        let r = run(command(&tb), &["plan", "--from", &from, "--to", &to, "-o", "json"]);
        assert!(r.code == 0 || r.code == 1, "plan exit {}\n{}", r.code, r.stderr);
        let mut actions = BTreeMap::new();
        for i in r.json()["items"].as_array().expect("items") {
            *actions.entry(i["action"].as_str().unwrap_or_default().to_string()).or_insert(0usize) += 1;
        }
        let e = &seeded.expected;
        let want: BTreeMap<String, usize> = [("conflict", e.conflict), ("copy", e.copy), ("skip", e.skip)].into_iter().filter(|(_, v)| *v > 0).map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(actions, want, "the plan of {n} bulk versions");
        let asked = storage_requests(&tb);
        let expected: BTreeMap<&str, usize> = [("list", 2), ("read", reads)].into_iter().filter(|(_, v)| *v > 0).collect();
        assert_eq!(asked, expected, "plan of {n} versions: one listing page per container and side, reads only where no hash is recorded");

        proxy.reset_counters();
        let r = run(command(&tb), &["verify", "--from", &from, "--to", &to, "-o", "json"]);
        assert_eq!(r.code, 7, "verify exits 7 (drifted: half the versions are missing)\n{}", r.stderr);
        assert_eq!(r.json()["summary"]["items"].as_u64(), Some(n as u64), "verify of {n} versions");
        let asked = storage_requests(&tb);
        assert_eq!(asked, expected, "verify of {n} versions: one listing page per container and side");
    }
}
