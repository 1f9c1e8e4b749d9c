//! `server`: parse the configuration, start logging, serve until SIGINT/SIGTERM.

use clap::Parser;
use server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|err| {
        eprintln!(
            "invalid --log filter {:?} ({err}); using \"info\"",
            config.log
        );
        EnvFilter::new("info")
    });
    // Lines go through a bounded queue to a writer thread: a slow terminal,
    // pipe or disk never stalls the runtime. When the queue is full (128k
    // lines behind) further lines are dropped, not waited for. The guard
    // flushes what is queued when `main` returns.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking(std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .init();

    match server::spawn(&config, shutdown_signal()).await {
        Ok((addr, _state, task)) => {
            tracing::info!(
                "listening on http://{addr} (serving {})",
                config.dist.display()
            );
            match task.await {
                Ok(Ok(())) => std::process::ExitCode::SUCCESS,
                Ok(Err(err)) => {
                    tracing::error!(%err, "server failed");
                    std::process::ExitCode::FAILURE
                }
                Err(err) => {
                    tracing::error!(%err, "server task panicked");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
