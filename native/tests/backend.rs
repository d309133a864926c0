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
