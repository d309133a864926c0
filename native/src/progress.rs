//! What the long native commands (`saga`, `mq`) share: their progress line, the names of runs
//! kept in Redis, and percentiles for their reports.

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Aborts a task when dropped (an interrupted run must not leave its ticker printing).
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
}

/// Prints `line(done, seconds)` on stderr every second on a terminal (rewritten in place), every
/// five seconds otherwise, until dropped. Must be called inside a `LocalSet`.
pub fn ticker(done: Rc<Cell<u64>>, line: impl Fn(u64, f64) -> String + 'static) -> Ticker {
    let started = Instant::now();
    Ticker(tokio::task::spawn_local(async move {
        let tty = std::io::stderr().is_terminal();
        let mut tick = tokio::time::interval(Duration::from_secs(if tty { 1 } else { 5 }));
        tick.tick().await; // the first tick is immediate
        loop {
            tick.tick().await;
            let text = line(done.get(), started.elapsed().as_secs_f64());
            if tty {
                eprint!("\r{text}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("{text}");
            }
        }
    }))
}

/// A run's name for `--name`: short, plain, safe inside a key.
pub fn parse_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(s.to_owned()) } else { Err(format!("{s:?}: use 1 to 40 letters, digits, '-' or '_'")) }
}

/// The value below which `per_mille` thousandths of `values` lie (nearest rank): 500 the median,
/// 999 the p999.
pub fn percentile(values: &[u64], per_mille: usize) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    Some(sorted[(sorted.len() * per_mille / 1000).min(sorted.len() - 1)])
}
