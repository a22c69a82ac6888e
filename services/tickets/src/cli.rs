//! The command line: `serve` (default), `healthcheck`, `openapi`.

use std::process::ExitCode;

use docket_platform::{config::Source, telemetry};

use crate::{Application, Settings};

const USAGE: &str = "usage: docket-tickets [serve | healthcheck | openapi]";

pub async fn run(args: Vec<String>) -> ExitCode {
    let command = args.first().map(String::as_str).unwrap_or("serve");
    let result = match command {
        "serve" => serve().await,
        "healthcheck" => {
            let port = std::env::var("PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(8082);
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
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docket-tickets: {e:#}");
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
