//! The same behaviour from both stores: what one commits the other would too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// One of each store (the temp dir keeps the redb file alive).
pub(super) fn both() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(&dir.path().join("t.redb")).unwrap();
    vec![
        ("memory", Arc::new(MemoryStore::new()), None),
        ("redb", Arc::new(redb), Some(dir)),
    ]
}

async fn put(store: &dyn Store, key: &[u8], value: &[u8]) {
    let (key, value) = (key.to_vec(), value.to_vec());
    write::<_, StoreError, _>(store, move |_| {
        let mut c = Changes::new();
        c.put(Table::Meta, key, value);
        Ok(((), c))
    })
    .await
    .unwrap();
}

fn keys(store: &dyn Store, prefix: &[u8], start: Option<&[u8]>, reverse: bool) -> Vec<Vec<u8>> {
    let snap = store.snapshot().unwrap();
    let mut out = Vec::new();
    snap.scan(Table::Meta, prefix, start, reverse, &mut |k, _| {
        out.push(k.to_vec());
        Ok(true)
    })
    .unwrap();
    out
}

#[tokio::test]
async fn scans_respect_prefix_start_and_direction() {
    for (name, store, _dir) in both() {
        for k in [&b"a1"[..], b"a2", b"a3", b"b1", b"a\xff"] {
            put(&*store, k, b"v").await;
        }
        put(&*store, b"\xff\xff", b"edge").await;
        let fwd = keys(&*store, b"a", None, false);
        assert_eq!(
            fwd,
            vec![b"a1".to_vec(), b"a2".into(), b"a3".into(), b"a\xff".into()],
            "{name}"
        );
        let from2 = keys(&*store, b"a", Some(b"a2"), false);
        assert_eq!(from2.len(), 3, "{name}");
        let rev = keys(&*store, b"a", Some(b"a2"), true);
        assert_eq!(rev, vec![b"a2".to_vec(), b"a1".into()], "{name}");
        assert_eq!(keys(&*store, b"\xff", None, false).len(), 1, "{name}");
    }
}

#[tokio::test]
async fn a_failed_operation_writes_nothing() {
    for (name, store, _dir) in both() {
        let r: Result<(), StoreError> = write(&*store, |_| Err(StoreError::Closed)).await;
        assert!(r.is_err());
        assert!(keys(&*store, b"", None, false).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn concurrent_writers_see_each_others_committed_changes() {
    // Each job increments a counter it reads inside the writer, so a lost
    // update would show as a total below the number of jobs.
    for (name, store, _dir) in both() {
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                write::<_, StoreError, _>(&*store, |view| {
                    let n = view
                        .get(Table::Meta, b"n")?
                        .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
                        .unwrap_or(0);
                    let mut c = Changes::new();
                    c.put(Table::Meta, b"n".to_vec(), (n + 1).to_be_bytes().to_vec());
                    Ok(((), c))
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let snap = store.snapshot().unwrap();
        let n = snap.get(Table::Meta, b"n").unwrap().unwrap();
        assert_eq!(u64::from_be_bytes(n.try_into().unwrap()), 200, "{name}");
    }
}

#[tokio::test]
async fn listeners_hear_every_committed_mutation() {
    for (name, store, _dir) in both() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        store.on_commit(Arc::new(move |m: &[Mutation]| {
            counter.fetch_add(m.len(), Ordering::SeqCst);
        }));
        put(&*store, b"x", b"1").await;
        put(&*store, b"y", b"2").await;
        let _: Result<(), StoreError> = write(&*store, |_| Err(StoreError::Closed)).await;
        assert_eq!(seen.load(Ordering::SeqCst), 2, "{name}");
    }
}

#[tokio::test]
async fn redb_keeps_commits_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        put(&store, b"k", b"durable").await;
        store.close();
    }
    let store = RedbStore::open(&path).unwrap();
    let snap = store.snapshot().unwrap();
    assert_eq!(snap.get(Table::Meta, b"k").unwrap().unwrap(), b"durable");
}

#[tokio::test]
async fn a_closed_store_refuses_writes_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("c.redb")).unwrap();
    store.close();
    let r: Result<(), StoreError> = write(&store, |_| Ok(((), Changes::new()))).await;
    assert!(matches!(r, Err(StoreError::Closed)));
}

#[tokio::test]
async fn a_read_nested_in_a_scan_of_the_same_table_fails_cleanly_on_redb() {
    // Tables stay open across a batch and are lent to one use at a time; a
    // job that reads a table while scanning it gets an error, not a panic.
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("n.redb")).unwrap();
    put(&store, b"a", b"1").await;
    let r: Result<(), StoreError> = write(&store, |view| {
        let mut inner = Ok(None);
        view.scan(Table::Meta, b"", None, false, &mut |_, _| {
            inner = view.get(Table::Meta, b"a");
            Ok(false)
        })?;
        inner?;
        Ok(((), Changes::new()))
    })
    .await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    // The store goes on working.
    put(&store, b"b", b"2").await;
    assert_eq!(keys(&store, b"", None, false).len(), 2);
}

#[tokio::test]
async fn a_panicking_job_is_told_apart_from_a_closed_store_and_harms_no_neighbour() {
    for (name, store, _dir) in both() {
        let panics = write::<(), StoreError, _>(&*store, |_| panic!("a bug in the job"));
        let fine = put(&*store, b"neighbour", b"v");
        let (panicked, ()) = tokio::join!(panics, fine);
        assert!(
            matches!(panicked, Err(StoreError::JobPanicked)),
            "{name}: {panicked:?}"
        );
        assert_eq!(keys(&*store, b"neighbour", None, false).len(), 1, "{name}");
    }
}

/// A long run of ascending deletes (swept in one pass on redb) removes
/// exactly its keys, whether or not they exist, around puts and shorter or
/// unordered runs in the same job.
#[tokio::test]
async fn long_runs_of_deletes_remove_exactly_their_keys() {
    let key = |n: u16| n.to_be_bytes().to_vec();
    for (name, store, _dir) in both() {
        write::<_, StoreError, _>(&*store, move |_| {
            let mut c = Changes::new();
            for n in 0..300 {
                c.put(Table::Meta, key(n), vec![1]);
            }
            Ok(((), c))
        })
        .await
        .unwrap();
        write::<_, StoreError, _>(&*store, move |_| {
            let mut c = Changes::new();
            // Every third key from 30 to 400: a sweep, past the last key.
            for n in (30..400).step_by(3) {
                c.delete(Table::Meta, key(n));
            }
            c.put(Table::Meta, key(31), vec![2]);
            // Descending: not a sweep.
            for n in (0..10).rev() {
                c.delete(Table::Meta, key(n));
            }
            Ok(((), c))
        })
        .await
        .unwrap();
        let want: Vec<Vec<u8>> = (10..300)
            .filter(|n| !(*n >= 30 && n % 3 == 0))
            .map(key)
            .collect();
        assert_eq!(keys(&*store, b"", None, false), want, "{name}");
        let snap = store.snapshot().unwrap();
        assert_eq!(
            snap.get(Table::Meta, &key(31)).unwrap(),
            Some(vec![2]),
            "{name}"
        );
    }
}
