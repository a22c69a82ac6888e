//! Serving with graceful shutdown.
//!
//! Services bind their own listener (port 0 in tests) and serve until SIGTERM or SIGINT, then
//! stop accepting and give in-flight requests `drain` to finish (ECS kills 30 s after SIGTERM).

use std::time::Duration;

use poem::{
    Endpoint, Server,
    listener::{Acceptor, TcpAcceptor},
    web::{LocalAddr, RemoteAddr},
};
use tokio::net::{TcpListener, TcpStream};

/// Binds `host:port`; port 0 picks a free one.
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind((host, port)).await?;
    Ok(listener)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// Accepts TCP connections with Nagle's algorithm off. poem leaves it on, and a response
/// written in more than one piece (a streamed or proxied body) then waits for the peer's
/// delayed ACK before its second piece: about 40 ms added to some requests.
pub struct NoDelayAcceptor(TcpAcceptor);

impl NoDelayAcceptor {
    pub fn new(listener: TcpListener) -> std::io::Result<Self> {
        TcpAcceptor::from_tokio(listener).map(Self)
    }
}

impl Acceptor for NoDelayAcceptor {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let accepted = self.0.accept().await?;
        if let Err(e) = accepted.0.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        Ok(accepted)
    }
}

/// Serves `app` on `listener` until `signal` resolves, then drains for at most `drain`.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    signal: impl std::future::Future<Output = ()> + Send,
    drain: Duration,
) -> anyhow::Result<()>
where
    E: Endpoint + 'static,
{
    let acceptor = NoDelayAcceptor::new(listener)?;
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, signal, Some(drain))
        .await?;
    Ok(())
}

/// For `healthcheck` subcommands: GET `http://127.0.0.1:{port}/health/live`, true on 200.
pub async fn probe_live(port: u16) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap_or_default();
    client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

/// What a service provides to be run by [`Application`]: how to build its state from its
/// settings, and the route table built from that state.
pub trait Service: Sized + Send + 'static {
    /// For the "listening" log line.
    const NAME: &'static str;
    type Settings: Send;
    /// Connects to what the service needs (database, storage…), applying migrations.
    fn build(
        settings: Self::Settings,
    ) -> impl std::future::Future<Output = anyhow::Result<Self>> + Send;
    fn common(&self) -> &crate::config::CommonSettings;
    fn routes(self) -> poem::endpoint::BoxEndpoint<'static, poem::Response>;
}

/// A service bound to its port (0 in tests), ready to serve until a signal.
pub struct Application<S> {
    listener: TcpListener,
    port: u16,
    state: S,
}

impl<S: Service> Application<S> {
    /// Builds the state and binds `HOST:PORT`.
    pub async fn build(settings: S::Settings) -> anyhow::Result<Self> {
        let state = S::build(settings).await?;
        let listener = bind(&state.common().host, state.common().port).await?;
        Self::with_listener(state, listener)
    }

    /// Builds the state and serves on a listener bound beforehand: for services that must
    /// know each other's addresses before either is built (tests), without releasing a
    /// port and hoping nobody takes it in between.
    pub async fn build_on(settings: S::Settings, listener: TcpListener) -> anyhow::Result<Self> {
        Self::with_listener(S::build(settings).await?, listener)
    }

    fn with_listener(state: S, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &S {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let drain = self.state.common().shutdown_drain;
        tracing::info!(port = self.port, "{} listening", S::NAME);
        serve(self.listener, self.state.routes(), signal, drain).await
    }
}
