//! The Azure Files operations the emulator serves, as file.json (2027-03-07) names them.
//! Routing picks the entry matching the request's method, scope and `restype`/`comp`; the spec
//! test checks every entry against file.json.

/// Which part of the URL the operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/<account>`
    Service,
    /// `/<account>/<share>?restype=share`
    Share,
    /// `/<account>/<share>[/<dir>]?restype=directory` (no path: the share's root directory)
    Directory,
    /// `/<account>/<share>/<dir>/<file>`
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSpec {
    /// file.json's operationId.
    pub operation_id: &'static str,
    pub method: &'static str,
    pub scope: Scope,
    pub restype: Option<&'static str>,
    pub comp: Option<&'static str>,
    /// SAS permissions any one of which allows the operation.
    pub sas_permissions: &'static str,
}

const fn op(operation_id: &'static str, method: &'static str, scope: Scope, restype: Option<&'static str>, comp: Option<&'static str>, sas_permissions: &'static str) -> OpSpec {
    OpSpec { operation_id, method, scope, restype, comp, sas_permissions }
}

pub const OPERATIONS: &[OpSpec] = &[
    op("Service_ListSharesSegment", "GET", Scope::Service, None, Some("list"), "l"),
    op("Share_Create", "PUT", Scope::Share, Some("share"), None, "cw"),
    op("Share_GetProperties", "GET", Scope::Share, Some("share"), None, "r"),
    op("Share_Delete", "DELETE", Scope::Share, Some("share"), None, "d"),
    op("Share_CreateSnapshot", "PUT", Scope::Share, Some("share"), Some("snapshot"), "cw"),
    op("Directory_Create", "PUT", Scope::Directory, Some("directory"), None, "cw"),
    op("Directory_GetProperties", "GET", Scope::Directory, Some("directory"), None, "r"),
    op("Directory_Delete", "DELETE", Scope::Directory, Some("directory"), None, "d"),
    op("Directory_ListFilesAndDirectoriesSegment", "GET", Scope::Directory, Some("directory"), Some("list"), "l"),
    op("File_Create", "PUT", Scope::File, None, None, "cw"),
    op("File_Download", "GET", Scope::File, None, None, "r"),
    op("File_GetProperties", "HEAD", Scope::File, None, None, "r"),
    op("File_Delete", "DELETE", Scope::File, None, None, "d"),
    op("File_UploadRange", "PUT", Scope::File, None, Some("range"), "w"),
    op("File_SetHTTPHeaders", "PUT", Scope::File, None, Some("properties"), "w"),
    op("File_SetMetadata", "PUT", Scope::File, None, Some("metadata"), "w"),
    op("File_Rename", "PUT", Scope::File, None, Some("rename"), "w"),
];

impl OpSpec {
    /// The key of this operation's path in file.json's `x-ms-paths`.
    pub fn spec_path(&self) -> String {
        let base = match self.scope {
            Scope::Service => "/",
            Scope::Share => "/{shareName}",
            Scope::Directory => "/{shareName}/{directory}",
            Scope::File => "/{shareName}/{directory}/{fileName}",
        };
        let mut q = Vec::new();
        if let Some(r) = self.restype {
            q.push(format!("restype={r}"));
        }
        if let Some(c) = self.comp {
            q.push(format!("comp={c}"));
        }
        if q.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", q.join("&"))
        }
    }
}

/// The operation for a request, if the emulator serves it.
pub fn find(method: &str, has_share: bool, has_path: bool, restype: Option<&str>, comp: Option<&str>) -> Option<&'static OpSpec> {
    let scope = match (has_share, has_path, restype) {
        (false, _, _) => Scope::Service,
        (true, _, Some("directory")) => Scope::Directory,
        (true, false, _) => Scope::Share,
        (true, true, _) => Scope::File,
    };
    OPERATIONS.iter().find(|o| o.scope == scope && o.method.eq_ignore_ascii_case(method) && o.restype == restype && o.comp == comp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing() {
        assert_eq!(find("GET", false, false, None, Some("list")).unwrap().operation_id, "Service_ListSharesSegment");
        assert_eq!(find("PUT", true, false, Some("share"), Some("snapshot")).unwrap().operation_id, "Share_CreateSnapshot");
        assert_eq!(find("GET", true, false, Some("directory"), Some("list")).unwrap().operation_id, "Directory_ListFilesAndDirectoriesSegment");
        assert_eq!(find("GET", true, true, Some("directory"), Some("list")).unwrap().operation_id, "Directory_ListFilesAndDirectoriesSegment");
        assert_eq!(find("PUT", true, true, None, Some("range")).unwrap().operation_id, "File_UploadRange");
        assert_eq!(find("HEAD", true, true, None, None).unwrap().operation_id, "File_GetProperties");
        assert!(find("PUT", true, true, None, Some("lease")).is_none());
        assert!(find("GET", true, false, None, None).is_none());
        assert_eq!(OPERATIONS[4].spec_path(), "/{shareName}?restype=share&comp=snapshot");
        assert_eq!(OPERATIONS[0].spec_path(), "/?comp=list");
    }
}
