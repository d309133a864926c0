//! How a long command learns it must stop: Ctrl-C (SIGINT), SIGTERM (a service manager, `kill`)
//! or SIGHUP (the terminal closed). Each ends the run the same way — every task stopped, the
//! run's keys deleted, private servers and their directories gone — and exits with 128 plus the
//! signal's number, as a shell reports a process killed by it.

use crate::Failure;

/// Resolves when the process is asked to stop, with the failure to end with.
#[cfg(unix)]
pub async fn stopped() -> Failure {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = |code: u8, what: &str| Failure { code, error: anyhow::anyhow!("{what}") };
    let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        let _ = tokio::signal::ctrl_c().await;
        return Failure::interrupted();
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Failure::interrupted(),
        _ = term.recv() => stop(143, "terminated (SIGTERM)"),
        _ = hup.recv() => stop(129, "hung up (SIGHUP)"),
    }
}

/// Resolves at Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
pub async fn stopped() -> Failure {
    let _ = tokio::signal::ctrl_c().await;
    Failure::interrupted()
}
