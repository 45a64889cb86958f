//! XML bodies of the Azure Files emulator (shapes of file.json's `ListSharesResponse`,
//! `ListFilesAndDirectoriesSegmentResponse` and `StorageError`), written by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::store::{iso7, rfc1123, DirListItem, ShareListItem};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// Escapes text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Characters XML 1.0 cannot carry at all (even escaped).
fn xml_invalid(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A `<Name>` (or `<Prefix>`) element: plain when XML can carry the value, else
/// `Encoded="true"` with the value percent-encoded, as Azure does.
fn string_encoded(tag: &str, value: &str) -> String {
    if value.chars().any(xml_invalid) {
        let enc = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
        format!("<{tag} Encoded=\"true\">{enc}</{tag}>")
    } else {
        format!("<{tag}>{}</{tag}>", escape(value))
    }
}

fn opt_elem(out: &mut String, tag: &str, value: Option<&str>) {
    match value {
        Some(v) if !v.is_empty() => {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape(v));
        }
        _ => {
            let _ = write!(out, "<{tag} />");
        }
    }
}

fn metadata(out: &mut String, md: &BTreeMap<String, String>) {
    out.push_str("<Metadata>");
    for (k, v) in md {
        let _ = write!(out, "<{k}>{}</{k}>", escape(v));
    }
    out.push_str("</Metadata>");
}

/// Request echo shared by both lists.
#[derive(Debug, Clone, Default)]
pub struct ListEcho<'a> {
    pub prefix: Option<&'a str>,
    pub marker: Option<&'a str>,
    pub max_results: Option<usize>,
}

/// `EnumerationResults` of List Shares.
pub fn list_shares(service_endpoint: &str, echo: &ListEcho<'_>, items: &[ShareListItem], include_metadata: bool, next_marker: Option<&str>) -> String {
    let mut out = String::from(DECL);
    let _ = write!(out, "<EnumerationResults ServiceEndpoint=\"{}\">", escape(service_endpoint));
    opt_elem(&mut out, "Prefix", echo.prefix);
    if let Some(m) = echo.marker {
        let _ = write!(out, "<Marker>{}</Marker>", escape(m));
    }
    if let Some(n) = echo.max_results {
        let _ = write!(out, "<MaxResults>{n}</MaxResults>");
    }
    out.push_str("<Shares>");
    for s in items {
        out.push_str("<Share>");
        let _ = write!(out, "<Name>{}</Name>", escape(&s.name));
        if let Some(v) = &s.snapshot {
            let _ = write!(out, "<Snapshot>{}</Snapshot>", escape(v));
        }
        let _ = write!(
            out,
            "<Properties><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Quota>{}</Quota><AccessTier>TransactionOptimized</AccessTier><EnabledProtocols>SMB</EnabledProtocols></Properties>",
            rfc1123(s.props.last_modified),
            escape(&s.props.etag),
            s.props.quota
        );
        if include_metadata {
            metadata(&mut out, &s.props.metadata);
        }
        out.push_str("</Share>");
    }
    out.push_str("</Shares>");
    opt_elem(&mut out, "NextMarker", next_marker);
    out.push_str("</EnumerationResults>");
    out
}

/// What `include=` asked for in a directory listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListInclude {
    pub timestamps: bool,
    pub etag: bool,
    pub attributes: bool,
    pub permission_key: bool,
}

impl ListInclude {
    /// Parses `Timestamps,ETag,Attributes,PermissionKey` (case-insensitive, `All` = every one).
    pub fn parse(v: &str) -> ListInclude {
        let mut i = ListInclude::default();
        for p in v.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match p.as_str() {
                "timestamps" => i.timestamps = true,
                "etag" => i.etag = true,
                "attributes" => i.attributes = true,
                "permissionkey" => i.permission_key = true,
                "all" => i = ListInclude { timestamps: true, etag: true, attributes: true, permission_key: true },
                _ => {}
            }
        }
        i
    }
}

/// The default permission key Azure reports for inherited security descriptors (opaque).
pub const PERMISSION_KEY: &str = "13873153619128295839*422928105932735866";

/// `EnumerationResults` of List Directories and Files.
#[allow(clippy::too_many_arguments)]
pub fn list_directory(
    service_endpoint: &str,
    share: &str,
    snapshot: Option<&str>,
    directory_path: &str,
    directory_id: u64,
    echo: &ListEcho<'_>,
    items: &[DirListItem],
    include: ListInclude,
    extended: bool,
    next_marker: Option<&str>,
) -> String {
    let mut out = String::from(DECL);
    let _ = write!(out, "<EnumerationResults ServiceEndpoint=\"{}\" ShareName=\"{}\"", escape(service_endpoint), escape(share));
    if let Some(v) = snapshot {
        let _ = write!(out, " ShareSnapshot=\"{}\"", escape(v));
    }
    let _ = write!(out, " DirectoryPath=\"{}\">", escape(directory_path));
    out.push_str(&string_encoded("Prefix", echo.prefix.unwrap_or("")));
    if let Some(m) = echo.marker {
        let _ = write!(out, "<Marker>{}</Marker>", escape(m));
    }
    if let Some(n) = echo.max_results {
        let _ = write!(out, "<MaxResults>{n}</MaxResults>");
    }
    if extended {
        let _ = write!(out, "<DirectoryId>{directory_id}</DirectoryId>");
    }
    out.push_str("<Entries>");
    for it in items {
        let tag = if it.is_dir { "Directory" } else { "File" };
        let _ = write!(out, "<{tag}>{}", string_encoded("Name", &it.name));
        if extended || include != ListInclude::default() {
            let _ = write!(out, "<FileId>{}</FileId>", it.node.file_id);
        }
        out.push_str("<Properties>");
        if !it.is_dir {
            let _ = write!(out, "<Content-Length>{}</Content-Length>", it.size);
        }
        if include.timestamps {
            let (c, m) = (iso7(it.node.created), iso7(it.node.last_modified));
            let _ = write!(out, "<CreationTime>{c}</CreationTime><LastAccessTime>{m}</LastAccessTime><LastWriteTime>{m}</LastWriteTime><ChangeTime>{m}</ChangeTime><Last-Modified>{}</Last-Modified>", rfc1123(it.node.last_modified));
        }
        if include.etag {
            let _ = write!(out, "<Etag>{}</Etag>", escape(&it.node.etag));
        }
        out.push_str("</Properties>");
        if include.attributes {
            let _ = write!(out, "<Attributes>{}</Attributes>", if it.is_dir { "Directory" } else { "Archive" });
        }
        if include.permission_key {
            let _ = write!(out, "<PermissionKey>{PERMISSION_KEY}</PermissionKey>");
        }
        let _ = write!(out, "</{tag}>");
    }
    out.push_str("</Entries>");
    opt_elem(&mut out, "NextMarker", next_marker);
    out.push_str("</EnumerationResults>");
    out
}

/// `<Error><Code>…</Code><Message>…</Message>[<AuthenticationErrorDetail>…]</Error>`.
pub fn error(code: &str, message: &str, detail: Option<&str>) -> String {
    let mut out = String::from(DECL);
    let _ = write!(out, "<Error><Code>{}</Code><Message>{}</Message>", escape(code), escape(message));
    if let Some(d) = detail {
        let _ = write!(out, "<AuthenticationErrorDetail>{}</AuthenticationErrorDetail>", escape(d));
    }
    out.push_str("</Error>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::store::{Node, Page, ShareProps};

    fn node(id: u64) -> Node {
        Node { file_id: id, etag: "\"0x1\"".into(), last_modified: 0, created: 0, metadata: BTreeMap::new() }
    }

    #[test]
    fn list_shares_xml_has_the_spec_shape() {
        let props = ShareProps { etag: "\"0x8D\"".into(), last_modified: 0, quota: 5120, metadata: BTreeMap::from([("k".to_string(), "v&w".to_string())]) };
        let items = vec![
            ShareListItem { name: "code-a".into(), snapshot: Some("2026-11-26T10:00:00.0000000Z".into()), props: props.clone() },
            ShareListItem { name: "code-a".into(), snapshot: None, props },
        ];
        let x = list_shares("http://127.0.0.1:1/acct/", &ListEcho { prefix: Some("code"), marker: None, max_results: Some(2) }, &items, true, Some("M2"));
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://127.0.0.1:1/acct/\">\
             <Prefix>code</Prefix><MaxResults>2</MaxResults><Shares>\
             <Share><Name>code-a</Name><Snapshot>2026-11-26T10:00:00.0000000Z</Snapshot><Properties><Last-Modified>Thu, 01 Jan 1970 00:00:00 GMT</Last-Modified><Etag>&quot;0x8D&quot;</Etag><Quota>5120</Quota><AccessTier>TransactionOptimized</AccessTier><EnabledProtocols>SMB</EnabledProtocols></Properties><Metadata><k>v&amp;w</k></Metadata></Share>\
             <Share><Name>code-a</Name><Properties><Last-Modified>Thu, 01 Jan 1970 00:00:00 GMT</Last-Modified><Etag>&quot;0x8D&quot;</Etag><Quota>5120</Quota><AccessTier>TransactionOptimized</AccessTier><EnabledProtocols>SMB</EnabledProtocols></Properties><Metadata><k>v&amp;w</k></Metadata></Share>\
             </Shares><NextMarker>M2</NextMarker></EnumerationResults>"
        );
    }

    #[test]
    fn list_directory_xml_encodes_names_and_pages() {
        let page = Page {
            items: vec![
                DirListItem { name: "ノート".into(), is_dir: true, size: 0, node: node(7) },
                DirListItem { name: "a<b>\u{1}.ipynb".into(), is_dir: false, size: 42, node: node(8) },
            ],
            next: None,
        };
        let x = list_directory("http://h/acct/", "s", Some("2026-11-26T10:00:00.0000000Z"), "Users/zoë", 3, &ListEcho::default(), &page.items, ListInclude::default(), false, None);
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://h/acct/\" ShareName=\"s\" ShareSnapshot=\"2026-11-26T10:00:00.0000000Z\" DirectoryPath=\"Users/zoë\">\
             <Prefix></Prefix><Entries>\
             <Directory><Name>ノート</Name><Properties></Properties></Directory>\
             <File><Name Encoded=\"true\">a%3Cb%3E%01%2Eipynb</Name><Properties><Content-Length>42</Content-Length></Properties></File>\
             </Entries><NextMarker /></EnumerationResults>"
        );
        let x = list_directory("http://h/acct/", "s", None, "", 0, &ListEcho { prefix: Some("a"), marker: Some("m"), max_results: Some(5) }, &page.items[..1], ListInclude::parse("Timestamps,ETag,Attributes,PermissionKey"), true, Some("n"));
        assert!(x.contains("<Marker>m</Marker><MaxResults>5</MaxResults><DirectoryId>0</DirectoryId>"), "{x}");
        assert!(x.contains("<Directory><Name>ノート</Name><FileId>7</FileId><Properties><CreationTime>1970-01-01T00:00:00.0000000Z</CreationTime>"), "{x}");
        assert!(x.contains("<Etag>&quot;0x1&quot;</Etag></Properties><Attributes>Directory</Attributes><PermissionKey>"), "{x}");
        assert!(x.ends_with("<NextMarker>n</NextMarker></EnumerationResults>"), "{x}");
    }

    #[test]
    fn error_xml() {
        assert_eq!(
            error("AuthenticationFailed", "Server failed to authenticate the request.", Some("a<b")),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message><AuthenticationErrorDetail>a&lt;b</AuthenticationErrorDetail></Error>"
        );
    }
}
