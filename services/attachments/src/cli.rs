//! The command line: `serve` (default), `healthcheck`, `openapi`, `sweep`.

use std::{process::ExitCode, time::Duration};

use docket_platform::{config::Source, db::Db, telemetry};

use crate::{Application, Settings, startup::MIGRATIONS, storage};

const USAGE: &str =
    "usage: docket-attachments [serve | healthcheck | openapi | sweep [--older-than SECS]]
sweep removes what a crash left behind: stale pending/deleting rows (and their objects), objects
no row names, and spool files, all older than --older-than seconds (default 3600).";

pub async fn run(args: Vec<String>) -> ExitCode {
    let command = args.first().map(String::as_str).unwrap_or("serve");
    let result = match command {
        "serve" => serve().await,
        "healthcheck" => {
            let port = std::env::var("PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(8083);
            return if docket_platform::server::probe_live(port).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        "openapi" => {
            println!("{}", crate::api::openapi().spec());
            Ok(())
        }
        "sweep" => sweep(&args[1..]).await,
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docket-attachments: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let source = Source::load().await?;
    let settings = Settings::from_source(&source)?;
    telemetry::init(&settings.common.log_level, settings.common.log_format);
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}

async fn sweep(args: &[String]) -> anyhow::Result<()> {
    let older_than = match args.iter().position(|a| a == "--older-than") {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("--older-than takes a number of seconds\n{USAGE}"))?,
        None => 3600,
    };
    let source = Source::load().await?;
    let settings = Settings::from_source(&source)?;
    telemetry::init(&settings.common.log_level, settings.common.log_format);
    let db = Db::connect(settings.database_url.expose(), MIGRATIONS, 2).await?;
    let storage = storage::from_settings(&settings).await?;
    let report = crate::sweep::sweep(
        &db,
        &storage,
        &settings.upload_dir.join("tmp"),
        Duration::from_secs(older_than),
    )
    .await?;
    println!(
        "swept: {} stale rows, {} orphan objects, {} spool files; {} failures",
        report.stale_rows_removed,
        report.orphan_objects_removed,
        report.spool_files_removed,
        report.failures
    );
    if report.failures > 0 {
        anyhow::bail!("some orphans could not be removed; run the sweep again");
    }
    Ok(())
}
