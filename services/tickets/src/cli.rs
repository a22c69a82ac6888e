//! The command line: `serve` (default), `healthcheck`, `openapi`, `migrate`, `reindex`.

use std::process::ExitCode;

use docket_platform::cli::{Cli, Command, load_settings};

use crate::{Application, Settings, startup::MIGRATIONS};

const CLI: Cli = Cli {
    name: "docket-tickets",
    default_port: 8082,
    usage: "usage: docket-tickets [serve | healthcheck | openapi | migrate | reindex]
migrate applies the database migrations this build has and the database lacks, then exits.
reindex rebuilds every ticket's search document from the stored tickets and comments.",
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

pub async fn run(args: Vec<String>) -> ExitCode {
    CLI.run(&args, serve, |command, _| match command {
        "migrate" => Some(migrate()),
        "reindex" => Some(reindex()),
        _ => None,
    })
    .await
}

fn migrate() -> Command {
    Box::pin(async {
        let settings = load_settings(Settings::from_source, |s| &s.common).await?;
        docket_platform::cli::migrate(CLI.name, settings.database_url.expose(), MIGRATIONS).await
    })
}

fn reindex() -> Command {
    Box::pin(async {
        let settings = load_settings(Settings::from_source, |s| &s.common).await?;
        crate::reindex::run(&settings).await?;
        println!("{}: search documents rebuilt", CLI.name);
        Ok(())
    })
}
