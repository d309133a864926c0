//! What the long native commands (`saga`, `mq`) do with a run kept in Redis (`--name`): its
//! options checked on resume, its keys kept or deleted at the end, and the report printed after.

use std::io::Write;

use anyhow::anyhow;
use distlab::backend::{Backend, new_prefix};
use distlab::target::{Target, TargetSpec};
use distlab_engine::store::{Cmd, Reply, SetCondition};

use crate::Failure;

/// A named run remembers its options: resuming with others would judge the state by the wrong
/// plan. The first run stores them; a later one must bring the same.
pub async fn same_options(backend: &Backend, options: &str) -> Result<(), Failure> {
    let set = Cmd::Set {
        key: "options".into(),
        value: options.to_owned(),
        condition: Some(SetCondition::Nx),
        expiry: None,
        get: true,
    };
    let fail = |e: String| Failure::runtime(anyhow!("checking the run's options: {e}"));
    match backend.exec(&set).await.map_err(|e| fail(e.to_string()))? {
        Reply::Nil => Ok(()),
        Reply::Bulk(earlier) if earlier == options => Ok(()),
        Reply::Bulk(earlier) => Err(Failure::bad_input(anyhow!(
            "this run was started with {earlier}; resume it with the same options (now {options})"
        ))),
        Reply::Error(e) => Err(fail(e)),
        other => Err(fail(format!("unexpected reply {other:?}"))),
    }
}

/// Where a long command's run is kept: under `prefix`, for `--name`, deleted at the end unless
/// kept to be resumed.
pub struct Kept<'a> {
    pub command: &'static str,
    pub name: Option<&'a str>,
    pub clean: bool,
    pub prefix: &'a str,
}

impl Kept<'_> {
    /// Cleans up (or says what is kept) before the report is printed: a reader that goes away
    /// must not leave the run's keys behind. A named run is kept unless `--clean` and it `holds`.
    pub async fn settle<R>(
        &self,
        target: &Target,
        result: Result<R, Failure>,
        holds: impl Fn(&R) -> bool,
    ) -> Result<R, Failure> {
        let over = result.as_ref().is_ok_and(&holds);
        let prefix = self.prefix;
        match self.name {
            Some(name) if !(self.clean && over) => eprintln!(
                "kept in Redis (keys {prefix}*): `distlab {} --name {name}` with the same options resumes or re-checks it{}",
                self.command,
                if self.clean { "" } else { "; add --clean to delete it once it is over" }
            ),
            _ => {
                if let Err(e) = target.cleanup().await {
                    eprintln!("warning: could not delete this run's keys (under {prefix}): {e}");
                }
            }
        }
        result
    }
}

/// The report on stdout, as JSON or as text (a closed pipe is an error `main` ends quietly on,
/// not a panic).
pub fn print<R: serde::Serialize>(
    report: &R,
    json: bool,
    text: impl Fn(&mut std::io::StdoutLock<'static>, &R) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let printed = if json {
        serde_json::to_writer_pretty(&mut out, report).map_err(std::io::Error::from).and_then(|()| writeln!(out))
    } else {
        text(&mut out, report)
    };
    printed.map_err(|e| Failure::runtime(anyhow::Error::new(e).context("printing the report")))
}

/// Connects a long command to its one store, under the run's namespace: `distlab:<command>-<name>:`
/// for a named run (which needs a Redis that outlives the process), a fresh one otherwise.
/// `whose` and `kept` word the refusals (`a queue's` keys, `--name` keeps `a queue`).
pub async fn connect(
    spec: &TargetSpec,
    command: &str,
    whose: &str,
    kept: &str,
    name: Option<&str>,
) -> Result<(Target, String), Failure> {
    if matches!(spec, TargetSpec::Nodes(_)) {
        return Err(Failure::bad_input(anyhow!(
            "{whose} keys live on one store: give --redis or --cluster (--redis-nodes is for Redlock)"
        )));
    }
    let prefix = match name {
        Some(_) if matches!(spec, TargetSpec::Embedded) => {
            return Err(Failure::bad_input(anyhow!(
                "--name keeps {kept} in Redis to resume it; the embedded server does not outlive this process: give --redis or --cluster"
            )));
        }
        Some(name) => format!("distlab:{command}-{name}:"),
        None => new_prefix(),
    };
    let target = Target::connect_with(spec, &prefix, 1).await.map_err(Failure::bad_input)?;
    Ok((target, prefix))
}
