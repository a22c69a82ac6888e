//! The command line: `serve` (default), `healthcheck`, `openapi`, `migrate`.

use std::process::ExitCode;

use docket_platform::cli::{Cli, Command, load_settings};

use crate::{Application, Settings, startup::MIGRATIONS};

const USAGE: &str = "usage: docket-notifications [serve | healthcheck | openapi | migrate]
serve follows the tickets service's history and sends the mail it calls for (EMAIL_BACKEND).
migrate applies the database migrations this build has and the database lacks, then exits.";

const CLI: Cli = Cli {
    name: "docket-notifications",
    default_port: 8084,
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
    CLI.run(&args, serve, |command, _| match command {
        "migrate" => Some(migrate()),
        _ => None,
    })
    .await
}
