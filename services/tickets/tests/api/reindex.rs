//! `docket-tickets reindex`, the real binary: after the search documents were lost behind the
//! service's back, it restores what searches find, on both databases, with the service running.

use std::process::Command;

use docket_testkit::{Backend, backend_tests};
use sqlx::{Connection as _, Executor as _};

use crate::helpers::{ids, spawn};

backend_tests!(reindex_restores_search_results_after_the_index_was_cleared);

async fn reindex_restores_search_results_after_the_index_was_cleared(backend: Backend) {
    let app = spawn(backend).await;
    let agent = app.user_with_role(docket_platform::auth::Role::Agent).await;
    let id = app.ticket(&agent, "Printer kx0042 jams").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let search = "/api/tickets?q=kx0042";
    assert_eq!(
        ids(&app.json(search, &agent).await),
        std::slice::from_ref(&id)
    );

    // Lose every search document without the service noticing.
    match backend {
        Backend::Sqlite => {
            let index: String =
                sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'search'")
                    .fetch_one(&app.pool)
                    .await
                    .unwrap();
            let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{index}"))
                .await
                .unwrap();
            conn.execute("INSERT INTO ticket_text (ticket_text) VALUES ('delete-all')")
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            app.pool
                .execute("UPDATE tickets SET search = to_tsvector('simple', '')")
                .await
                .unwrap();
        }
    }
    assert!(ids(&app.json(search, &agent).await).is_empty());

    let out = Command::new(env!("CARGO_BIN_EXE_docket-tickets"))
        .arg("reindex")
        .env_clear()
        .env("DATABASE_URL", &app.db_url)
        .env("LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reindex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&app.json(search, &agent).await), [id]);
}
