//! The command line: `serve` (default) and `healthcheck`.

use std::process::ExitCode;

use docket_platform::cli::{Cli, Command, load_settings, no_extra};

use crate::{Application, Settings};

const CLI: Cli = Cli {
    name: "docket-gateway",
    default_port: 8080,
    usage: "usage: docket-gateway [serve | healthcheck]",
    openapi: None,
};

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
