//! What a named run (`--name`) keeps in Redis to be resumed: the options it was started with.

use anyhow::anyhow;
use distlab::backend::Backend;
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
