//! The command line: `serve` (default), `healthcheck`, `openapi`, `migrate`, `sweep`.

use std::{process::ExitCode, time::Duration};

use docket_platform::{
    cli::{Cli, Command, load_settings},
    db::Db,
};

use crate::{Application, Settings, startup::MIGRATIONS, storage};

const USAGE: &str =
    "usage: docket-attachments [serve | healthcheck | openapi | migrate | sweep [--older-than SECS]]
migrate applies the database migrations this build has and the database lacks, then exits.
sweep removes what a crash left behind: stale pending/deleting rows (and their objects), objects
no row names, and spool files, all older than --older-than seconds (default SWEEP_GRACE_SECS,
3600). The service itself sweeps every SWEEP_INTERVAL_SECS; this runs one sweep now.";

const CLI: Cli = Cli {
    name: "docket-attachments",
    default_port: 8083,
    usage: USAGE,
    openapi: Some(openapi),
};

fn openapi() -> String {
    crate::api::openapi().spec()
}

fn serve() -> Command {
    Box::pin(async {
        let settings = load_settings(Settings::from_source, |s| &s.common).await?;
        Application::build(settings)
            .await?
            .run_until_stopped()
            .await
    })
}

fn migrate() -> Command {
    Box::pin(async {
        let settings = load_settings(Settings::from_source, |s| &s.common).await?;
        docket_platform::cli::migrate(CLI.name, settings.database_url.expose(), MIGRATIONS).await
    })
}

pub async fn run(args: Vec<String>) -> ExitCode {
    CLI.run(&args, serve, |command, rest| match command {
        "migrate" => Some(migrate()),
        "sweep" => {
            let rest = rest.to_vec();
            Some(Box::pin(async move { sweep(&rest).await }))
        }
        _ => None,
    })
    .await
}

async fn sweep(args: &[String]) -> anyhow::Result<()> {
    let older_than: Option<u64> = match args.iter().position(|a| a == "--older-than") {
        Some(i) => Some(
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("--older-than takes a number of seconds\n{USAGE}")
                })?,
        ),
        None => None,
    };
    let settings = load_settings(Settings::from_source, |s| &s.common).await?;
    let grace = older_than.map_or(settings.sweep_grace, Duration::from_secs);
    let db = Db::connect(settings.database_url.expose(), MIGRATIONS, 2).await?;
    let storage = storage::from_settings(&settings).await?;
    let report =
        crate::sweep::sweep(&db, &storage, &settings.upload_dir.join("tmp"), grace).await?;
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
