//! Fault injection (switchable at run time) and request counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// The next `count` matching requests (all of them while `count` is absent) get `status`
    /// (429 or 503) with `Retry-After: retry_after_secs` and ARM's body.
    Throttle {
        status: u16,
        #[serde(default)]
        retry_after_secs: u64,
        #[serde(default)]
        count: Option<u32>,
    },
    /// The next `count` matching requests (all while absent) get response headers, then the
    /// connection is aborted before the body.
    DropConnection {
        #[serde(default)]
        count: Option<u32>,
    },
    /// Every matching request is delayed by `delay_ms`.
    Slow { delay_ms: u64 },
    /// Every call for a workspace in the fault's `region` fails with 504 GatewayTimeout
    /// (every call when the fault has no region). JSON: `{"kind":"region_down","region":"eastus"}`.
    RegionDown {},
}

/// A fault plus the requests it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only requests for workspaces in this region (location, case-insensitive); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only this HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only paths containing this substring (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
}

impl Fault {
    fn new(kind: FaultKind) -> Fault {
        Fault { kind, region: None, method: None, path_contains: None }
    }
    pub fn throttle(status: u16, retry_after_secs: u64, count: u32) -> Fault {
        Fault::new(FaultKind::Throttle { status, retry_after_secs, count: Some(count) })
    }
    pub fn drop_connection(count: u32) -> Fault {
        Fault::new(FaultKind::DropConnection { count: Some(count) })
    }
    pub fn slow(delay_ms: u64) -> Fault {
        Fault::new(FaultKind::Slow { delay_ms })
    }
    pub fn region_down(region: impl Into<String>) -> Fault {
        Fault::new(FaultKind::RegionDown {}).in_region(region)
    }
    /// Restricts the fault to workspaces in `region`.
    pub fn in_region(mut self, region: impl Into<String>) -> Fault {
        self.region = Some(region.into());
        self
    }
    /// Restricts the fault to `method` requests whose path contains `path_contains`.
    pub fn on(mut self, method: impl Into<String>, path_contains: impl Into<String>) -> Fault {
        self.method = Some(method.into());
        self.path_contains = Some(path_contains.into());
        self
    }

    fn matches(&self, method: &str, path: &str, region: Option<&str>) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        if let Some(p) = &self.path_contains {
            if !path.to_ascii_lowercase().contains(&p.to_ascii_lowercase()) {
                return false;
            }
        }
        match &self.region {
            None => true,
            Some(r) => region.is_some_and(|x| x.eq_ignore_ascii_case(r)),
        }
    }
}

/// The action decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Throttle { status: u16, retry_after_secs: u64 },
    Drop,
    RegionDown,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub operation: String,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    faults: Vec<Fault>,
    log: Vec<RequestRecord>,
}

/// Shared handle on the faults and counters of a running emulator.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn set(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }
    pub fn clear(&self) {
        self.lock().faults.clear();
    }
    pub fn list(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Decides the fate of one request: a delay to apply first and at most one failing action.
    /// Consumes one unit of a counted fault.
    pub fn decide(&self, method: &str, path: &str, region: Option<&str>) -> (u64, Option<Action>) {
        let mut inner = self.lock();
        let mut delay = 0;
        let mut action = None;
        let mut exhausted = None;
        for (i, f) in inner.faults.iter_mut().enumerate() {
            if !f.matches(method, path, region) {
                continue;
            }
            match &mut f.kind {
                FaultKind::Slow { delay_ms } => delay = delay.max(*delay_ms),
                FaultKind::RegionDown {} => {
                    if action.is_none() {
                        action = Some(Action::RegionDown);
                    }
                }
                FaultKind::Throttle { status, retry_after_secs, count } => {
                    if action.is_none() {
                        action = Some(Action::Throttle { status: *status, retry_after_secs: *retry_after_secs });
                        if let Some(c) = count {
                            *c = c.saturating_sub(1);
                            if *c == 0 {
                                exhausted = Some(i);
                            }
                        }
                    }
                }
                FaultKind::DropConnection { count } => {
                    if action.is_none() {
                        action = Some(Action::Drop);
                        if let Some(c) = count {
                            *c = c.saturating_sub(1);
                            if *c == 0 {
                                exhausted = Some(i);
                            }
                        }
                    }
                }
            }
        }
        if let Some(i) = exhausted {
            inner.faults.remove(i);
        }
        (delay, action)
    }

    pub fn record(&self, rec: RequestRecord) {
        self.lock().log.push(rec);
    }

    /// Requests served with `method` (case-insensitive) whose path contains `path_substring`
    /// (case-insensitive), including those answered by a fault.
    pub fn request_count(&self, method: &str, path_substring: &str) -> usize {
        let needle = path_substring.to_ascii_lowercase();
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.to_ascii_lowercase().contains(&needle))
            .count()
    }

    /// Requests served per operationId (e.g. `ModelVersions_CreateOrUpdate`).
    pub fn operation_count(&self, operation: &str) -> usize {
        self.lock().log.iter().filter(|r| r.operation == operation).count()
    }

    pub fn counters(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in &self.lock().log {
            *out.entry(format!("{} {}", r.method, r.operation)).or_insert(0) += 1;
        }
        out
    }

    pub fn log(&self) -> Vec<RequestRecord> {
        self.lock().log.clone()
    }

    pub fn reset_counters(&self) {
        self.lock().log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_throttle_expires() {
        let f = Faults::default();
        f.set(Fault::throttle(429, 2, 1).on("GET", "/models"));
        assert_eq!(f.decide("PUT", "/x/models", None).1, None);
        assert_eq!(f.decide("GET", "/x/models", None).1, Some(Action::Throttle { status: 429, retry_after_secs: 2 }));
        assert_eq!(f.decide("GET", "/x/models", None).1, None);
        assert!(f.list().is_empty());
    }

    #[test]
    fn region_down_only_hits_its_region() {
        let f = Faults::default();
        f.set(Fault::region_down("eastus"));
        assert_eq!(f.decide("GET", "/a", Some("EastUS")).1, Some(Action::RegionDown));
        assert_eq!(f.decide("GET", "/a", Some("westus")).1, None);
        assert_eq!(f.decide("GET", "/a", None).1, None);
    }

    #[test]
    fn fault_json_shape() {
        let f: Fault = serde_json::from_str(r#"{"kind":"throttle","status":503,"retry_after_secs":1,"count":2,"region":"westus"}"#).unwrap();
        assert_eq!(f, Fault::throttle(503, 1, 2).in_region("westus"));
        let s: Fault = serde_json::from_str(r#"{"kind":"region_down","region":"eastus"}"#).unwrap();
        assert_eq!(s, Fault::region_down("eastus"));
    }
}
