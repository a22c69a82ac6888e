//! The command line: `serve` (default), `healthcheck`, `openapi`, `reindex`.

use std::process::ExitCode;

use docket_platform::cli::{Cli, Command, load_settings};

use crate::{Application, Settings};

const CLI: Cli = Cli {
    name: "docket-tickets",
    default_port: 8082,
    usage: "usage: docket-tickets [serve | healthcheck | openapi | reindex]
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
        "reindex" => Some(reindex()),
        _ => None,
    })
    .await
}

fn reindex() -> Command {
    Box::pin(async {
        let settings = load_settings(Settings::from_source, |s| &s.common).await?;
        crate::reindex::run(&settings).await?;
        println!("{}: search documents rebuilt", CLI.name);
        Ok(())
    })
}
