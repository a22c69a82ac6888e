//! The command line every service binary shares: `serve` (the default), `healthcheck` (for
//! container health checks: `GET /health/live` on `$PORT`, exit 0 or 1, no shell tools
//! needed), `openapi` (print the service's document), `help`, and whatever a service adds
//! (each service with a database adds `migrate`, through [`migrate`]).

use std::{future::Future, pin::Pin, process::ExitCode};

use crate::{
    config::{CommonSettings, ConfigError, Source},
    db::{Db, Migrations},
    telemetry,
};

/// What one command does.
pub type Command = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;

pub struct Cli {
    /// The binary's name, for messages.
    pub name: &'static str,
    pub default_port: u16,
    pub usage: &'static str,
    /// Prints the OpenAPI document, for services that have one.
    pub openapi: Option<fn() -> String>,
}

impl Cli {
    /// Runs `args` (without the program name). `extra` handles the service's own commands and
    /// answers `None` for a command it does not know.
    pub async fn run(
        &self,
        args: &[String],
        serve: impl FnOnce() -> Command,
        extra: impl FnOnce(&str, &[String]) -> Option<Command>,
    ) -> ExitCode {
        let command = args.first().map(String::as_str).unwrap_or("serve");
        let rest = args.get(1..).unwrap_or_default();
        let result = match command {
            "serve" => serve().await,
            "healthcheck" => {
                let port = std::env::var("PORT")
                    .ok()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(self.default_port);
                return if crate::server::probe_live(port).await {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                };
            }
            "openapi" if self.openapi.is_some() => {
                if let Some(spec) = self.openapi {
                    println!("{}", spec());
                }
                Ok(())
            }
            "-h" | "--help" | "help" => {
                println!("{}", self.usage);
                Ok(())
            }
            other => match extra(other, rest) {
                Some(run) => run.await,
                None => Err(anyhow::anyhow!("unknown command {other:?}\n{}", self.usage)),
            },
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{}: {e:#}", self.name);
                ExitCode::FAILURE
            }
        }
    }
}

/// No commands beyond the shared ones.
pub fn no_extra(_: &str, _: &[String]) -> Option<Command> {
    None
}

/// Loads a service's settings from the environment (and Secrets Manager) and starts logging.
pub async fn load_settings<T>(
    parse: impl FnOnce(&Source) -> Result<T, ConfigError>,
    common: impl FnOnce(&T) -> &CommonSettings,
) -> anyhow::Result<T> {
    let source = Source::load().await?;
    let settings = parse(&source)?;
    let c = common(&settings);
    telemetry::init(&c.log_level, c.log_format);
    Ok(settings)
}

/// `migrate`: applies the service's pending migrations to `url` and exits, 0 once the schema
/// is current (a second run applies nothing and succeeds). The deploy runs it as a one-off
/// task before the services update, which then start with `MIGRATE_ON_START=false`.
pub async fn migrate(name: &str, url: &str, migrations: Migrations) -> anyhow::Result<()> {
    let report = Db::migrate(url, migrations).await?;
    let current = report
        .current
        .map_or_else(|| "none".to_owned(), |v| v.to_string());
    if report.applied.is_empty() {
        println!("{name}: schema already current (version {current}); nothing applied");
    } else {
        let list: Vec<String> = report.applied.iter().map(i64::to_string).collect();
        println!(
            "{name}: applied {} migration(s) ({}); schema at version {current}",
            report.applied.len(),
            list.join(", ")
        );
    }
    Ok(())
}
