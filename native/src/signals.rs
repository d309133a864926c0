//! How a long command learns it must stop: Ctrl-C (SIGINT), SIGTERM (a service manager, `kill`)
//! or SIGHUP (the terminal closed). Each ends the run the same way — every task stopped, the
//! run's keys deleted, private servers and their directories gone — and exits with 128 plus the
//! signal's number, as a shell reports a process killed by it.
//!
//! The signals are caught from the moment the runtime starts ([`listen`]), before any server is
//! started, and the first one is kept: a signal that arrives while the command is still starting
//! its servers is seen by [`stopped`] as soon as the command looks, so the servers it just
//! started are stopped too (left to the default action, it would end the process at once and
//! leave them running).

use std::sync::OnceLock;

use tokio::sync::watch;

use crate::Failure;

/// The first stop asked for: its exit code and what to say.
type Stop = Option<(u8, &'static str)>;

fn stops() -> &'static watch::Sender<Stop> {
    static STOPS: OnceLock<watch::Sender<Stop>> = OnceLock::new();
    STOPS.get_or_init(|| watch::channel(None).0)
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on and keeps the first: called first thing on the
/// runtime (`on_runtime`).
#[cfg(unix)]
pub fn listen() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) =
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    else {
        return;
    };
    tokio::spawn(async move {
        let stop = tokio::select! {
            _ = int.recv() => (130, "interrupted"),
            _ = term.recv() => (143, "terminated (SIGTERM)"),
            _ = hup.recv() => (129, "hung up (SIGHUP)"),
        };
        stops().send_replace(Some(stop));
    });
}

/// Catches Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
pub fn listen() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            stops().send_replace(Some((130, "interrupted")));
        }
    });
}

/// Resolves when the process has been asked to stop (at once if it already was), with the
/// failure to end with.
pub async fn stopped() -> Failure {
    let mut asked = stops().subscribe();
    let stop = asked.wait_for(Option::is_some).await.ok().and_then(|s| *s);
    let (code, what) = stop.unwrap_or((130, "interrupted"));
    Failure { code, error: anyhow::anyhow!("{what}") }
}
