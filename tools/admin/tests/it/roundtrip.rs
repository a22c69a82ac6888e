//! Backup → wipe → restore, on SQLite and Postgres, with local files and with S3: every row
//! and every object the same afterwards, the services answer on the restored data, and the
//! refusals (a non-empty target, another schema).

use std::time::Instant;

use docket_admin::{
    backup::{BackupOptions, BackupReport, backup},
    location::{Location, Sse},
    manifest::MigrationRecord,
    restore::{RestoreOptions, RestoreReport, restore},
};
use docket_testkit::Backend;

use crate::helpers::{
    Place, Stack, StorageKind, assert_same_rows, delete_objects, execute, key_pem, list_bucket,
    new_bucket, objects, place_rows, row_count, s3, seed, seeded_place,
};

/// Runs each `async fn name(backend, storage)` on SQLite and Postgres, local and S3.
macro_rules! matrix {
    ($($name:ident),*) => {
        mod sqlite_local { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Sqlite, super::StorageKind::Local).await } )* }
        mod sqlite_s3 { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Sqlite, super::StorageKind::S3).await } )* }
        mod postgres_local { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Postgres, super::StorageKind::Local).await } )* }
        mod postgres_s3 { $( #[tokio::test] async fn $name() { super::$name(docket_testkit::Backend::Postgres, super::StorageKind::S3).await } )* }
    };
}

matrix!(a_restored_backup_holds_every_row_and_object_and_serves_them);

/// A backup place: a folder for local storage, an S3 prefix of a bucket of its own for S3.
async fn backup_place(storage: StorageKind) -> (String, Option<tempfile::TempDir>, Option<String>) {
    match storage {
        StorageKind::Local => {
            let dir = tempfile::tempdir().unwrap();
            let spec = dir.path().join("backup").to_str().unwrap().to_owned();
            (spec, Some(dir), None)
        }
        StorageKind::S3 => {
            let bucket = new_bucket(&s3().await).await;
            (format!("s3://{bucket}/nightly/one"), None, Some(bucket))
        }
    }
}

/// Backs `place` up to `spec`, its objects' bytes too when `copy_objects`.
async fn backup_to(place: &Place, spec: &str, copy_objects: bool) -> anyhow::Result<BackupReport> {
    backup(&BackupOptions {
        databases: place.urls(),
        storage: place.tool_storage().await,
        to: Location::open(spec, Sse::Aes256).await.unwrap(),
        copy_objects,
    })
    .await
}

/// Restores `place` from the backup at `spec`.
async fn restore_from(place: &Place, spec: &str) -> anyhow::Result<RestoreReport> {
    restore(&RestoreOptions {
        databases: place.urls(),
        storage: place.tool_storage().await,
        from: Location::open(spec, Sse::Aes256).await.unwrap(),
    })
    .await
}

/// How many tickets a search for `q` finds for the holder of `token`, and the answer.
async fn search(stack: &Stack, q: &str, token: &str) -> (usize, serde_json::Value) {
    let found = stack
        .get(format!("{}/api/tickets?q={q}", stack.tickets), token)
        .await;
    (found["items"].as_array().unwrap().len(), found)
}

/// Asserts that no SQLite file of `place` (a SQLite place) exists: nothing was written.
fn assert_no_database_file(place: &Place, what: &str) {
    for db in place.urls() {
        let docket_admin::db::DbUrl::Sqlite(path) = db else {
            unreachable!()
        };
        assert!(!path.exists(), "{what}: {} was written", path.display());
    }
}

async fn a_restored_backup_holds_every_row_and_object_and_serves_them(
    backend: Backend,
    storage: StorageKind,
) {
    let place = Place::new(backend, storage).await;
    let key = key_pem();
    let stack = Stack::start(&place, &key).await;
    let seeded = seed(&stack, &place, 6).await;
    stack.stop().await;
    let rows = place_rows(&place).await;
    let objs = objects(&place).await;
    assert_eq!(objs.len(), seeded.attachments.len());
    assert!(objs.len() >= 8, "{objs:?}");

    let (spec, _dir, backup_bucket) = backup_place(storage).await;
    let started = Instant::now();
    let report = backup_to(&place, &spec, true).await.unwrap();
    let backup_secs = started.elapsed().as_secs_f64();
    assert_eq!(report.manifest.objects.objects.len(), objs.len());
    assert!(report.manifest.objects.missing.is_empty());
    if let Some(bucket) = &backup_bucket {
        // Everything in the backup prefix is encrypted at rest.
        let client = s3().await;
        let keys = list_bucket(&client, bucket, "nightly/one/").await;
        assert!(
            keys.iter().any(|k| k.ends_with("manifest.json")),
            "{keys:?}"
        );
        assert!(keys.len() > objs.len(), "{keys:?}");
        for k in keys {
            let head = client
                .head_object()
                .bucket(bucket)
                .key(&k)
                .send()
                .await
                .unwrap();
            assert_eq!(
                head.server_side_encryption().map(|s| s.as_str()),
                Some("AES256"),
                "{k}"
            );
        }
    }

    place.wipe().await;
    assert!(objects(&place).await.is_empty());
    // As a new deployment leaves the databases: the services started once (their migrations
    // applied, on SQLite the search index file made), a sweep's lease taken. Still empty.
    Stack::start(&place, &key).await.stop().await;
    execute(
        place.url(2),
        "INSERT INTO leases (name, holder, expires_at) VALUES ('sweep', 'a-new-task', 1)",
    )
    .await;
    let started = Instant::now();
    let restored = restore_from(&place, &spec).await.unwrap();
    let restore_secs = started.elapsed().as_secs_f64();
    assert_eq!(restored.objects_written, objs.len());
    assert_same_rows(&place_rows(&place).await, &rows, "after the restore");
    assert_eq!(
        objects(&place).await,
        objs,
        "objects differ after the restore"
    );
    eprintln!(
        "round trip {backend:?}/{storage:?}: {} rows, {} objects; backup {backup_secs:.2} s, \
         restore {restore_secs:.2} s",
        row_count(&rows),
        objs.len()
    );

    let again = || restore_from(&place, &spec);
    // Run again, it finds everything in place and writes nothing.
    let second = again().await.unwrap();
    assert_eq!(second.databases_already_there, 3, "{second}");
    assert_eq!(second.objects_written, 0, "{second}");
    // As an interrupted restore leaves it (one database not yet written): run again, it
    // completes.
    place.wipe_db(1).await;
    let resumed = again().await.unwrap();
    assert_eq!(resumed.databases_already_there, 2, "{resumed}");
    assert_same_rows(&place_rows(&place).await, &rows, "after a resumed restore");

    // The services work on what came back: search (SQLite rebuilds its index file), notes'
    // visibility, downloads.
    let stack = Stack::start(&place, &key).await;
    let agent = &seeded.agent.token;
    let alice = &seeded.requesters[0].token;
    let (hits, found) = search(&stack, "secretword0", agent).await;
    assert_eq!(hits, 1, "{found}");
    let (hits, hidden) = search(&stack, "secretword0", alice).await;
    assert_eq!(hits, 0, "{hidden}");
    let (hits, public) = search(&stack, "publicword0", alice).await;
    assert_eq!(hits, 1, "{public}");
    for (id, bytes) in &seeded.attachments {
        assert_eq!(&stack.download(id, &seeded.admin.token).await, bytes);
    }
    // Data written since: a restore over it is refused, naming what holds rows.
    stack.open_ticket(alice, "after the restore").await;
    stack.stop().await;
    let err = again().await.unwrap_err();
    assert!(format!("{err:#}").contains("is not empty"), "{err:#}");
}

/// A backup whose manifest records other migrations than this build's is refused before
/// anything is written, whichever way they differ.
#[tokio::test]
async fn a_backup_of_another_schema_is_refused_and_nothing_is_written() {
    let (place, _) = seeded_place(Backend::Sqlite, StorageKind::Local, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("b").to_str().unwrap().to_owned();
    backup_to(&place, &spec, true).await.unwrap();
    let manifest_path = dir.path().join("b/manifest.json");
    let original = std::fs::read(&manifest_path).unwrap();
    place.wipe().await;

    type Change = fn(&mut Vec<MigrationRecord>);
    let changes: [(&str, Change); 3] = [
        ("a newer migration", |m| {
            m.push(MigrationRecord {
                version: 9999,
                checksum: "00".into(),
            })
        }),
        ("an edited migration", |m| m[0].checksum = "ff".repeat(48)),
        ("a missing migration", |m| {
            m.pop();
        }),
    ];
    for (what, change) in changes {
        let mut manifest: docket_admin::manifest::Manifest =
            serde_json::from_slice(&original).unwrap();
        change(&mut manifest.services.get_mut("tickets").unwrap().migrations);
        std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        let err = restore_from(&place, &spec).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("tickets: refusing to restore: the backup's schema is not this build's"),
            "{what}: {text}"
        );
        assert_no_database_file(&place, what);
        assert!(
            objects(&place).await.is_empty(),
            "{what}: objects were written"
        );
    }

    // The unchanged manifest restores.
    std::fs::write(&manifest_path, &original).unwrap();
    restore_from(&place, &spec).await.unwrap();
}

/// A backup is never written over another one.
#[tokio::test]
async fn a_backup_refuses_a_place_that_holds_one() {
    let (place, _) = seeded_place(Backend::Sqlite, StorageKind::Local, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().to_str().unwrap().to_owned();
    backup_to(&place, &spec, true).await.unwrap();
    let err = backup_to(&place, &spec, true).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("already holds a backup"),
        "{err:#}"
    );
}

/// What storage holds is checked against what the rows name: an object a row names but storage
/// lacks is listed as missing, an object no row names is left out; and a backup made without
/// the objects' bytes restores only while storage still holds them.
#[tokio::test]
async fn a_backup_lists_missing_objects_leaves_out_orphans_and_can_keep_only_the_list() {
    let (place, seeded) = seeded_place(Backend::Sqlite, StorageKind::S3, 2).await;
    let storage = place.tool_storage().await;
    let keys = storage.list().await.unwrap();
    assert_eq!(keys.len(), seeded.attachments.len());
    storage
        .put("attachments/orphan.pdf", b"%PDF-1.4 no row".to_vec(), None)
        .await
        .unwrap();
    let docket_admin::objects::Storage::S3 { client, bucket } = &storage else {
        unreachable!()
    };
    delete_objects(client, bucket, &keys[..1]).await;

    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("b").to_str().unwrap().to_owned();
    let report = backup_to(&place, &spec, false).await.unwrap();
    let listed = &report.manifest.objects;
    assert_eq!(listed.missing, vec![keys[0].clone()]);
    assert_eq!(listed.objects.len(), keys.len() - 1);
    assert_eq!(report.orphans_skipped, 1);
    assert!(!listed.copied);
    assert!(!dir.path().join("b/objects").exists(), "bytes were copied");

    // Databases lost, bucket kept: the listed objects are found in place.
    for i in 0..3 {
        place.wipe_db(i).await;
    }
    let restored = restore_from(&place, &spec).await.unwrap();
    assert_eq!(restored.objects_already_there, keys.len() - 1);
    assert_eq!(restored.objects_written, 0);

    // Bucket lost too: nothing to restore the bytes from, refused before any write.
    place.wipe().await;
    let err = restore_from(&place, &spec).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("does not hold its bytes"),
        "{err:#}"
    );
    assert_no_database_file(&place, "after the refusal");
}
