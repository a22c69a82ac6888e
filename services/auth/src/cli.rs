//! The command line: `serve` (default), `healthcheck`, `openapi`, `migrate`, `create-user`.

use std::{io::Read as _, process::ExitCode};

use docket_platform::{
    auth::Role,
    cli::{Cli, Command, load_settings},
    config::Source,
    db::Db,
};

use crate::{
    Application, Settings,
    domain::{DisplayName, Email, Password, PasswordHasher},
    repo::users::{self, NewUser},
    startup::MIGRATIONS,
};

const USAGE: &str = "usage: docket-auth [serve | healthcheck | openapi | migrate | create-user --email E --name N [--role admin|agent|requester]]
migrate applies the database migrations this build has and the database lacks, then exits.
create-user reads the password from standard input (or the DOCKET_PASSWORD variable).";

const CLI: Cli = Cli {
    name: "docket-auth",
    default_port: 8081,
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
        "create-user" | "create-admin" => {
            let (command, rest) = (command.to_owned(), rest.to_vec());
            Some(Box::pin(async move { create_user(&command, &rest).await }))
        }
        _ => None,
    })
    .await
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Creates a user with a chosen role (or promotes an existing one), for the first admin.
async fn create_user(command: &str, args: &[String]) -> anyhow::Result<()> {
    let email = Email::parse(
        flag(args, "--email").ok_or_else(|| anyhow::anyhow!("--email is required\n{USAGE}"))?,
    )
    .map_err(anyhow::Error::msg)?;
    let name = DisplayName::parse(flag(args, "--name").unwrap_or("Administrator"))
        .map_err(anyhow::Error::msg)?;
    let default_role = if command == "create-admin" {
        "admin"
    } else {
        "requester"
    };
    let role: Role = flag(args, "--role")
        .unwrap_or(default_role)
        .parse()
        .map_err(anyhow::Error::msg)?;
    let raw = match std::env::var("DOCKET_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut buf = String::new();
            std::io::stdin().read_to_string(&mut buf)?;
            buf.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(&raw).map_err(anyhow::Error::msg)?;
    let source = Source::load().await?;
    let settings = Settings::from_source(&source)?;
    let db = Db::connect(settings.database_url.expose(), MIGRATIONS, 2).await?;
    let hasher = PasswordHasher::new(settings.hash_limits)?;
    let hash = hasher.hash(&password).await?;
    if let Some(existing) = users::find_by_email(&db.pool, email.as_str()).await? {
        sqlx::query("UPDATE users SET role = $1, active = 1, password_hash = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(&hash)
            .bind(existing.id.to_string())
            .execute(&db.pool)
            .await?;
        println!(
            "updated {} ({}) as {}",
            email.as_str(),
            existing.id,
            role.as_str()
        );
        return Ok(());
    }
    let user = users::insert(
        &db.pool,
        NewUser {
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &hash,
            role,
        },
    )
    .await?;
    println!(
        "created {} ({}) as {}",
        email.as_str(),
        user.id,
        role.as_str()
    );
    Ok(())
}
