//! The command line: `serve` (default), `healthcheck`, `openapi`.

use std::process::ExitCode;

use docket_platform::cli::{Cli, Command, load_settings, no_extra};

use crate::{Application, Settings};

const CLI: Cli = Cli {
    name: "docket-tickets",
    default_port: 8082,
    usage: "usage: docket-tickets [serve | healthcheck | openapi]",
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
    CLI.run(&args, serve, no_extra).await
}
