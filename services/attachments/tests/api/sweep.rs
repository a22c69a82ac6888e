//! The scheduled sweep: the service runs it by itself, on one replica at a time (a lease in
//! the database), and the lease works alike on SQLite and Postgres.

use std::time::Duration;

use docket_attachments::{repo::leases, storage::new_key, sweep::LEASE};
use docket_platform::db::now_ms;
use docket_testkit::{Backend, backend_tests};

use crate::helpers::{StorageKind, file, png, spawn, spawn_with};

backend_tests!(
    the_service_sweeps_on_its_schedule_only_while_no_other_replica_holds_the_lease,
    a_lease_has_one_holder_until_it_expires,
);

async fn the_service_sweeps_on_its_schedule_only_while_no_other_replica_holds_the_lease(
    b: Backend,
) {
    let app = spawn_with(
        b,
        StorageKind::Local,
        &[("SWEEP_INTERVAL_SECS", "1"), ("SWEEP_GRACE_SECS", "1")],
    )
    .await;
    // Another replica holds the lease for a minute.
    assert!(
        leases::take(&app.pool, LEASE, "other-replica", now_ms(), 60_000)
            .await
            .unwrap()
    );
    let user = app.requester().await;
    let ticket = app.ticket(&user).await;
    let kept = app
        .upload_ok(&user, &ticket, file("keep.png", None, &png()))
        .await;
    // What a crash could leave: an object no row names, and a spool file.
    let orphan = new_key(".png");
    let staged = app.upload_dir.join("tmp").join("staged");
    std::fs::write(&staged, png()).unwrap();
    app.state
        .storage
        .put(&orphan, &staged, png().len() as u64, "image/png")
        .await
        .unwrap();
    let spool = app.upload_dir.join("tmp").join("crashed.part");
    std::fs::write(&spool, b"partial").unwrap();

    // Three of this replica's ticks go by: the other replica's lease stops it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(app.objects().await.contains(&orphan));
    assert!(spool.exists());

    // The other replica is gone and its lease runs out: this one takes over and sweeps.
    sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1")
        .bind(LEASE)
        .execute(&app.pool)
        .await
        .unwrap();
    let mut swept = false;
    for _ in 0..100 {
        if !app.objects().await.contains(&orphan) && !spool.exists() {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(swept, "the orphan and the spool file are still there");
    let (holder, expires_at) = leases::holder(&app.pool, LEASE).await.unwrap().unwrap();
    assert_ne!(holder, "other-replica");
    assert!(expires_at > now_ms());
    let (bytes, _) = app.download(&user, kept["id"].as_str().unwrap()).await;
    assert!(!bytes.is_empty());
    assert_eq!(app.rows().await, 1);
}

async fn a_lease_has_one_holder_until_it_expires(b: Backend) {
    let app = spawn(b, StorageKind::Local).await;
    let pool = &app.pool;
    let t = now_ms();
    assert!(leases::take(pool, "job", "a", t, 10_000).await.unwrap());
    assert!(!leases::take(pool, "job", "b", t + 1, 10_000).await.unwrap());
    // Its holder renews it.
    assert!(
        leases::take(pool, "job", "a", t + 5_000, 10_000)
            .await
            .unwrap()
    );
    assert!(
        !leases::take(pool, "job", "b", t + 10_001, 10_000)
            .await
            .unwrap()
    );
    assert_eq!(
        leases::holder(pool, "job").await.unwrap(),
        Some(("a".to_owned(), t + 15_000))
    );
    // Expired: the next caller takes it, and the old holder no longer has it.
    assert!(
        leases::take(pool, "job", "b", t + 15_000, 10_000)
            .await
            .unwrap()
    );
    assert!(
        !leases::take(pool, "job", "a", t + 15_001, 10_000)
            .await
            .unwrap()
    );
    assert_eq!(
        leases::holder(pool, "job").await.unwrap(),
        Some(("b".to_owned(), t + 25_000))
    );
    // Leases are independent of each other.
    assert!(leases::take(pool, "other", "a", t, 10_000).await.unwrap());
}
