//! Code: a versioned asset (a component's or a job's snapshot of source files, `codeUri`: a blob
//! folder URL) whose files are copied and compared by sha256. `az ml` has no YAML of its own for
//! it: it is written inside a component's or a job's folder.

use super::kind::{AssetKind, Kind, Names};

pub struct Code;

impl AssetKind for Code {
    fn kind(&self) -> Kind {
        Kind::Code
    }
    fn names(&self) -> &'static Names {
        &Names { name: "code", plural: "code", aliases: &["code", "codes"], segment: "codes" }
    }
    fn location_pointer(&self) -> Option<&'static str> {
        Some("/codeUri")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_a_folder_of_files_without_yaml() {
        assert_eq!((Code.names().segment, Code.names().plural), ("codes", "code"));
        assert_eq!(Code.location_pointer(), Some("/codeUri"));
        assert!(Code.yaml_file().is_none() && Code.schema().is_none());
        assert_eq!(Kind::parse_list("codes,code").unwrap(), [Kind::Code]);
    }
}
