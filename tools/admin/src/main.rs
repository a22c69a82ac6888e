//! `docket-admin`: see `docket-admin help` and [`docket_admin::cli`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    docket_admin::cli::run(&args).await
}
