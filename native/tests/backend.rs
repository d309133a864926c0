//! The Redis backend's command paths against a real server: single commands, pipelines with
//! error replies in the middle, and scripts the server has forgotten (`SCRIPT FLUSH`).

use distlab::server::LocalRedis;
use distlab::target::{Target, TargetSpec};
use distlab_engine::store::{Cmd, Reply, ScriptName, WRONGTYPE};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn set(key: &str, value: &str) -> Cmd {
    Cmd::Set { key: key.into(), value: value.into(), condition: None, expiry: None, get: false }
}

fn cad(key: &str, token: &str) -> Cmd {
    Cmd::Script { script: ScriptName::CompareAndDelete, keys: vec![key.into()], args: vec![token.into()] }
}

#[test]
fn pipelines_keep_each_commands_reply_and_reload_forgotten_scripts() {
    let server = LocalRedis::start().unwrap();
    let rt = runtime();
    let target = rt.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let b = target.primary();
    let cmds = [
        set("s", "1"),
        Cmd::HSet { key: "h".into(), fields: vec![("f".into(), "v".into())] },
        Cmd::Incr { key: "h".into() },
        Cmd::Incr { key: "s".into() },
        cad("s", "2"),
        cad("s", "2"),
    ];
    let replies = rt.block_on(b.exec_pipeline(&cmds)).unwrap();
    assert_eq!(
        replies,
        vec![Reply::ok(), Reply::Int(1), Reply::err(WRONGTYPE), Reply::Int(2), Reply::Int(1), Reply::Int(0)]
    );
    let mut con = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    let again = rt.block_on(b.exec_pipeline(&[set("t", "x"), cad("t", "x")])).unwrap();
    assert_eq!(again, vec![Reply::ok(), Reply::Int(1)], "NOSCRIPT: loaded and sent again");
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    assert_eq!(rt.block_on(b.exec(&cad("t", "x"))).unwrap(), Reply::Int(0), "EVALSHA falls back to loading");
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(keys.iter().all(|k| k.starts_with(b.prefix())), "{keys:?}");
    assert_eq!(rt.block_on(target.cleanup()).unwrap(), 1, "only h is left: the scripts deleted s and t");
    let left: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// Replies that name a key (`XREADGROUP`, `NOGROUP` errors) name it as the caller does, without
/// the run's prefix, from a single command and from a pipeline alike.
#[test]
fn stream_replies_name_keys_without_the_prefix() {
    let server = LocalRedis::start().unwrap();
    let rt = runtime();
    let target = rt.block_on(Target::connect(&TargetSpec::Redis(server.url()))).unwrap();
    let b = target.primary();
    let fields = vec![("f".to_owned(), "v".to_owned())];
    let add = Cmd::XAdd { key: "q".into(), no_mkstream: false, maxlen: None, id: "1-0".into(), fields };
    let group = Cmd::XGroupCreate { key: "q".into(), group: "g".into(), id: "0".into(), mkstream: false };
    let read = |key: &str| Cmd::XReadGroup {
        group: "g".into(),
        consumer: "c".into(),
        count: None,
        block_ms: Some(10),
        streams: vec![(key.into(), "0".into())],
    };
    let replies = rt.block_on(b.exec_pipeline(&[add, group, read("q"), read("none")])).unwrap();
    let history = Reply::Array(vec![Reply::Array(vec![Reply::Bulk("q".into()), Reply::Array(vec![])])]);
    let nogroup = Reply::err("NOGROUP No such key 'none' or consumer group 'g' in XREADGROUP with GROUP option");
    assert_eq!(replies, vec![Reply::Bulk("1-0".into()), Reply::ok(), history.clone(), nogroup.clone()]);
    assert_eq!(rt.block_on(b.exec(&read("q"))).unwrap(), history);
    assert_eq!(rt.block_on(b.exec(&read("none"))).unwrap(), nogroup);
    assert_eq!(rt.block_on(target.cleanup()).unwrap(), 1);
}
