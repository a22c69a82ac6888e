//! The command line: `serve` (default) and `healthcheck`.

use std::process::ExitCode;

use docket_platform::{config::Source, telemetry};

use crate::{Application, Settings};

pub async fn run(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str).unwrap_or("serve") {
        "serve" => match serve().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("docket-gateway: {e:#}");
                ExitCode::FAILURE
            }
        },
        "healthcheck" => {
            let port = std::env::var("PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(8080);
            if docket_platform::server::probe_live(port).await {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        other => {
            eprintln!(
                "docket-gateway: unknown command {other:?}; usage: docket-gateway [serve | healthcheck]"
            );
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
