//! One backend-neutral test suite every [`Store`] runs (local directory here; Azure Blob
//! against Azurite), so the transfer engine can rely on the same contract everywhere.

#![cfg(test)]

use super::{FinishInfo, Store, StorePath};
use crate::error::Result;
use bytes::Bytes;
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Writes `data` in blocks of `block` bytes and finishes with its hashes.
pub async fn write_all(s: &dyn Store, p: &StorePath, data: &[u8], block: usize) -> Result<bool> {
    let mut w = s.writer(p, data.len() as u64).await?;
    for chunk in data.chunks(block.max(1)) {
        w.write_block(Bytes::copy_from_slice(chunk), Md5::digest(chunk).into(), super::Hold::none()).await?;
    }
    w.finish(FinishInfo { sha256: hex::encode(Sha256::digest(data)), md5: Md5::digest(data).into(), source: Some("0123456789abcdef-0x1".into()) }).await
}

pub async fn run_all(s: &dyn Store) {
    put_get_head_list_delete(s).await;
    nothing_visible_until_finish(s).await;
    empty_and_multi_block_objects(s).await;
}

async fn put_get_head_list_delete(s: &dyn Store) {
    let a = StorePath::parse("conf/a.txt").unwrap();
    let b = StorePath::parse("conf/sub/b.bin").unwrap();
    let c = StorePath::parse("other/c.txt").unwrap();
    write_all(s, &a, b"hello", 2).await.unwrap();
    let b_confirmed = write_all(s, &b, &[7u8; 1000], 300).await.unwrap();
    write_all(s, &c, b"x", 10).await.unwrap();
    assert_eq!(&s.get_range(&a, 0, 5).await.unwrap()[..], b"hello");
    assert_eq!(&s.get_range(&a, 1, 4).await.unwrap()[..], b"ell");
    let listed: Vec<String> = s.list("conf").await.unwrap().into_iter().map(|m| m.path.to_string()).collect();
    assert_eq!(listed, ["conf/a.txt", "conf/sub/b.bin"]);
    let m = s.head(&b).await.unwrap().expect("exists");
    assert_eq!(m.size, 1000);
    // The contract: a write the service did not confirm is not marked verified (a crash
    // before the engine's read-back must not leave it trusted); `set_verified` marks it.
    if !b_confirmed {
        assert!(m.sha256.is_none(), "{}: an unconfirmed write was marked verified before any read-back", s.describe());
        s.set_verified(&b, &hex::encode(Sha256::digest([7u8; 1000])), Some("0123456789abcdef-0x1")).await.unwrap();
    }
    let m = s.head(&b).await.unwrap().expect("exists");
    if let Some(sha) = &m.sha256 {
        assert_eq!(sha, &hex::encode(Sha256::digest([7u8; 1000])));
        assert_eq!(m.source.as_deref(), Some("0123456789abcdef-0x1"), "the source tag is kept with the sha256");
    }
    assert!(s.head(&StorePath::parse("conf/missing").unwrap()).await.unwrap().is_none());
    s.delete(&a).await.unwrap();
    s.delete(&a).await.unwrap();
    assert!(s.head(&a).await.unwrap().is_none());
    // Overwrite replaces.
    write_all(s, &c, b"yy", 1).await.unwrap();
    assert_eq!(&s.get_range(&c, 0, 2).await.unwrap()[..], b"yy");
}

async fn nothing_visible_until_finish(s: &dyn Store) {
    let p = StorePath::parse("conf/unfinished.bin").unwrap();
    {
        let mut w = s.writer(&p, 20).await.unwrap();
        w.write_block(Bytes::from_static(b"0123456789"), Md5::digest(b"0123456789").into(), super::Hold::none()).await.unwrap();
        w.write_block(Bytes::from_static(b"0123456789"), Md5::digest(b"0123456789").into(), super::Hold::none()).await.unwrap();
        // Dropped without finish.
    }
    assert!(s.head(&p).await.unwrap().is_none(), "{}: an unfinished write became visible", s.describe());
    assert!(s.list("conf").await.unwrap().iter().all(|m| m.path != p));
}

async fn empty_and_multi_block_objects(s: &dyn Store) {
    let e = StorePath::parse("conf/empty").unwrap();
    write_all(s, &e, b"", 10).await.unwrap();
    assert_eq!(s.head(&e).await.unwrap().unwrap().size, 0);
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let p = StorePath::parse("conf/big.bin").unwrap();
    write_all(s, &p, &big, 16 * 1024).await.unwrap();
    assert_eq!(&s.get_range(&p, 0, big.len() as u64).await.unwrap()[..], &big[..]);
    assert_eq!(&s.get_range(&p, 99_990, 100_000).await.unwrap()[..], &big[99_990..]);
}
