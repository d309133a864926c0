//! Where the native runner's store commands go: a real Redis (standalone or Cluster) through the
//! `redis` crate, or the engine's own in-memory keyspace in real time when no server is around.
//!
//! Every command is rewritten so that its keys live under the run's prefix (`distlab:<run>:`),
//! and [`Backend::delete_own_keys`] removes exactly the keys under that prefix at exit: the tool
//! never deletes, and never flushes, what it did not write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use distlab_engine::store::{Cmd, Keyspace, Reply, ScriptName};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;

use crate::reply;

/// A failure that is not a Redis reply: the connection broke, or the server went away.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl From<redis::RedisError> for BackendError {
    /// A connection that broke says so: "broken pipe" alone reads like the output's pipe.
    fn from(e: redis::RedisError) -> Self {
        if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
            BackendError(format!("Redis connection lost ({e})"))
        } else {
            BackendError(e.to_string())
        }
    }
}

/// The named scripts, prepared once (their SHA-1 is computed at construction). One field per
/// script, so that a new `ScriptName` cannot be forgotten here.
#[derive(Clone)]
struct Scripts(Arc<[redis::Script; ScriptName::ALL.len()]>);

impl Scripts {
    fn new() -> Self {
        Scripts(Arc::new(ScriptName::ALL.map(|name| redis::Script::new(name.lua()))))
    }

    /// `ScriptName::ALL` lists the scripts in declaration order (tested in the engine).
    fn get(&self, name: ScriptName) -> &redis::Script {
        &self.0[name as usize]
    }
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(ScriptName::ALL.iter().map(|n| (n.as_str(), self.get(*n).get_hash()))).finish()
    }
}

/// How long connecting to a server, or its answer to one request, may take before it counts as
/// unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How every standalone connection is managed: bounded waits, and one reconnection attempt.
pub fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(CONNECT_TIMEOUT))
        .set_number_of_retries(1)
}

#[derive(Clone)]
enum Conn {
    /// The connection, and the client that opened it (for [`Backend::own_connection`]).
    Standalone(ConnectionManager, Box<redis::Client>),
    Cluster(ClusterConnection),
    Memory {
        keyspace: Arc<Mutex<Keyspace>>,
        epoch: Instant,
    },
}

/// One store the runner talks to. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct Backend {
    conn: Conn,
    prefix: String,
    scripts: Scripts,
    /// Whether the scripts were loaded on this connection's server(s) for pipelines.
    scripts_loaded: Arc<AtomicBool>,
    /// Set for a cluster: the URL template used to reach each master directly for cleanup.
    cluster_info: Option<redis::ConnectionInfo>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.conn {
            Conn::Standalone(..) => "standalone",
            Conn::Cluster(_) => "cluster",
            Conn::Memory { .. } => "memory",
        };
        f.debug_struct("Backend").field("kind", &kind).field("prefix", &self.prefix).finish()
    }
}

/// `cmdstat_<command>:calls=N,usec=M,…` of an `INFO commandstats` reply: (calls, usec).
fn parse_command_stats(info: &str, command: &str) -> Option<(u64, u64)> {
    let prefix = format!("cmdstat_{}:", command.to_ascii_lowercase());
    let line = info.lines().find_map(|l| l.strip_prefix(prefix.as_str()))?;
    let field = |name: &str| {
        line.split(',').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).and_then(|v| v.trim().parse().ok())
    };
    Some((field("calls")?, field("usec")?))
}

impl Backend {
    pub fn standalone(con: ConnectionManager, client: redis::Client, prefix: &str) -> Self {
        Backend::new(Conn::Standalone(con, Box::new(client)), prefix, None)
    }

    /// The same server and prefix on a connection of its own, for a command that waits at the
    /// server (`XREADGROUP … BLOCK`): on the shared connection it would hold up every request
    /// behind it. `None` where there is none to have: a cluster (whose connection to each node
    /// is shared) and the in-memory store.
    pub async fn own_connection(&self) -> Result<Option<Backend>, BackendError> {
        let Conn::Standalone(_, client) = &self.conn else { return Ok(None) };
        let con = ConnectionManager::new_with_config((**client).clone(), manager_config()).await?;
        Ok(Some(Backend::standalone(con, (**client).clone(), &self.prefix)))
    }

    /// The server's own count of `command` calls so far and the microseconds of its thread they
    /// took (`INFO commandstats`): what one call costs Redis, free of the client's and the
    /// network's share. `None` where the target cannot say: a cluster (a node each), the
    /// in-memory store, an `INFO` refused or never answered.
    pub async fn command_stats(&self, command: &str) -> Option<(u64, u64)> {
        let Conn::Standalone(con, _) = &self.conn else { return None };
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut con.clone()).await.ok()?;
        Some(parse_command_stats(&info, command).unwrap_or((0, 0)))
    }

    pub fn cluster(con: ClusterConnection, info: redis::ConnectionInfo, prefix: &str) -> Self {
        Backend::new(Conn::Cluster(con), prefix, Some(info))
    }

    /// The engine's keyspace behind a lock, on a real-time clock starting now.
    pub fn memory(prefix: &str) -> Self {
        Backend::new(
            Conn::Memory { keyspace: Arc::new(Mutex::new(Keyspace::new())), epoch: Instant::now() },
            prefix,
            None,
        )
    }

    fn new(conn: Conn, prefix: &str, cluster_info: Option<redis::ConnectionInfo>) -> Self {
        let (scripts, scripts_loaded) = (Scripts::new(), Arc::default());
        Backend { conn, prefix: prefix.to_owned(), scripts, scripts_loaded, cluster_info }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn is_memory(&self) -> bool {
        matches!(self.conn, Conn::Memory { .. })
    }

    /// Executes one command (its keys prefixed). Server error replies are `Ok(Reply::Error)`;
    /// only a broken connection is an `Err`.
    /// Replies that name a key name it without the prefix, as if the run had the store alone.
    pub async fn exec(&self, cmd: &Cmd) -> Result<Reply, BackendError> {
        let prefixed = cmd.with_key_prefix(&self.prefix);
        let reply = match &self.conn {
            Conn::Standalone(con, _) => self.exec_on(&mut con.clone(), &prefixed).await?,
            Conn::Cluster(con) => self.exec_on(&mut con.clone(), &prefixed).await?,
            Conn::Memory { keyspace, epoch } => memory_apply(keyspace, *epoch, &prefixed),
        };
        Ok(cmd.reply_without_key_prefix(&self.prefix, reply))
    }

    async fn exec_on<C: redis::aio::ConnectionLike + Send>(
        &self,
        con: &mut C,
        cmd: &Cmd,
    ) -> Result<Reply, BackendError> {
        let result = match cmd {
            Cmd::Script { script, keys, args } => {
                let mut invocation = self.scripts.get(*script).prepare_invoke();
                for k in keys {
                    invocation.key(k);
                }
                for a in args {
                    invocation.arg(a);
                }
                invocation.invoke_async::<redis::Value>(con).await
            }
            other => reply::to_redis_cmd(other).query_async::<redis::Value>(con).await,
        };
        match result {
            Ok(v) => Ok(reply::from_value(v)),
            Err(e) => reply::from_server_error(&e).ok_or_else(|| BackendError::from(e)),
        }
    }

    /// Executes `cmds` as one pipeline (one round trip) and returns one reply per command.
    /// Scripts are sent as `EVALSHA`, loaded on every node first if this backend has not loaded
    /// them yet. A pipeline is never sent twice (that would run its other commands twice): if the
    /// server has forgotten a script since (`SCRIPT FLUSH`, a restart), only the commands that
    /// answered `NOSCRIPT` — which therefore did not run — are run again, after the pipeline.
    pub async fn exec_pipeline(&self, cmds: &[Cmd]) -> Result<Vec<Reply>, BackendError> {
        let prefixed: Vec<Cmd> = cmds.iter().map(|c| c.with_key_prefix(&self.prefix)).collect();
        let replies = match &self.conn {
            Conn::Memory { keyspace, epoch } => prefixed.iter().map(|c| memory_apply(keyspace, *epoch, c)).collect(),
            Conn::Standalone(con, _) => self.pipeline_on(&mut con.clone(), &prefixed).await?,
            Conn::Cluster(con) => self.pipeline_on(&mut con.clone(), &prefixed).await?,
        };
        Ok(cmds.iter().zip(replies).map(|(cmd, reply)| cmd.reply_without_key_prefix(&self.prefix, reply)).collect())
    }

    async fn pipeline_on<C: redis::aio::ConnectionLike + Send>(
        &self,
        con: &mut C,
        cmds: &[Cmd],
    ) -> Result<Vec<Reply>, BackendError> {
        let has_scripts = cmds.iter().any(|c| matches!(c, Cmd::Script { .. }));
        if has_scripts && !self.scripts_loaded.load(Ordering::Relaxed) {
            self.load_scripts(con).await?;
        }
        let mut pipe = redis::pipe();
        for c in cmds {
            match c {
                Cmd::Script { script, keys, args } => {
                    pipe.cmd("EVALSHA").arg(self.scripts.get(*script).get_hash()).arg(keys.len()).arg(keys).arg(args);
                }
                other => {
                    pipe.add_command(reply::to_redis_cmd(other));
                }
            }
        }
        let mut replies = self.run_pipeline(con, &pipe).await?;
        for (reply, cmd) in replies.iter_mut().zip(cmds) {
            if reply.error_code() == Some("NOSCRIPT") {
                self.scripts_loaded.store(false, Ordering::Relaxed);
                *reply = self.exec_on(con, cmd).await?; // invoke_async loads the script
            }
        }
        Ok(replies)
    }

    async fn load_scripts<C: redis::aio::ConnectionLike + Send>(&self, con: &mut C) -> Result<(), BackendError> {
        for name in ScriptName::ALL {
            self.scripts.get(name).prepare_invoke().load_async(con).await?;
        }
        self.scripts_loaded.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Sends the pipeline; a command's error reply stays that command's reply.
    async fn run_pipeline<C: redis::aio::ConnectionLike + Send>(
        &self,
        con: &mut C,
        pipe: &redis::Pipeline,
    ) -> Result<Vec<Reply>, BackendError> {
        let mut pipe = pipe.clone();
        let results: Vec<redis::RedisResult<redis::Value>> = pipe.ignore_errors().query_async(con).await?;
        results
            .into_iter()
            .map(|r| match r {
                Ok(v) => Ok(reply::from_value(v)),
                Err(e) => reply::from_server_error(&e).ok_or_else(|| BackendError::from(e)),
            })
            .collect()
    }

    /// Deletes every key under this run's prefix, and nothing else. Returns how many it deleted.
    pub async fn delete_own_keys(&self) -> Result<u64, BackendError> {
        match &self.conn {
            Conn::Memory { .. } => Ok(0), // the keyspace dies with the process
            Conn::Standalone(con, _) => delete_prefix(&mut con.clone(), &self.prefix).await,
            Conn::Cluster(con) => {
                let mut total = 0;
                for info in self.cluster_masters(&mut con.clone()).await? {
                    let client = redis::Client::open(info)?;
                    let mut direct = client.get_multiplexed_async_connection().await?;
                    total += delete_prefix(&mut direct, &self.prefix).await?;
                }
                Ok(total)
            }
        }
    }

    /// This run's keys under `sub` on this server (the in-memory store keeps no keys it could
    /// list), without the prefix: what a sharding report counts. Not for a cluster connection.
    pub async fn own_keys(&self, sub: &str) -> Result<Vec<String>, BackendError> {
        match &self.conn {
            Conn::Standalone(con, _) => scan_prefix(&mut con.clone(), &format!("{}{sub}", self.prefix)).await,
            Conn::Memory { .. } | Conn::Cluster(_) => {
                Err(BackendError("listing keys needs a standalone Redis server".into()))
            }
        }
    }

    /// This run's keys under `sub` on each master of the cluster, by master address.
    pub async fn own_keys_by_master(&self, sub: &str) -> Result<Vec<(String, Vec<String>)>, BackendError> {
        let Conn::Cluster(con) = &self.conn else {
            return Err(BackendError("not a cluster connection".into()));
        };
        let mut out = Vec::new();
        for info in self.cluster_masters(&mut con.clone()).await? {
            let address = info.addr().to_string();
            let client = redis::Client::open(info)?;
            let mut direct = client.get_multiplexed_async_connection().await?;
            out.push((address, scan_prefix(&mut direct, &format!("{}{sub}", self.prefix)).await?));
        }
        Ok(out)
    }

    /// Every master of the cluster, with this connection's credentials and TLS settings.
    async fn cluster_masters(&self, con: &mut ClusterConnection) -> Result<Vec<redis::ConnectionInfo>, BackendError> {
        let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(con).await?;
        let template = self.cluster_info.clone().ok_or_else(|| BackendError("no cluster address".into()))?;
        let mut out = Vec::new();
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let is_master = fields.get(2).is_some_and(|flags| flags.split(',').any(|f| f == "master"));
            let Some((host, port)) = fields.get(1).and_then(|a| a.split('@').next()).and_then(|a| a.rsplit_once(':'))
            else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if is_master {
                let addr = match template.addr() {
                    redis::ConnectionAddr::TcpTls { insecure, tls_params, .. } => redis::ConnectionAddr::TcpTls {
                        host: host.to_owned(),
                        port,
                        insecure: *insecure,
                        tls_params: tls_params.clone(),
                    },
                    _ => redis::ConnectionAddr::Tcp(host.to_owned(), port),
                };
                out.push(template.clone().set_addr(addr));
            }
        }
        Ok(out)
    }
}

/// `SCAN MATCH <prefix>*` through the whole keyspace of one server, `UNLINK`ing what it finds one
/// key per command (cluster nodes refuse multi-key commands across slots).
async fn delete_prefix<C: redis::aio::ConnectionLike + Send>(con: &mut C, prefix: &str) -> Result<u64, BackendError> {
    assert!(prefix.starts_with("distlab:") && prefix.ends_with(':'), "refusing to delete outside distlab's namespace");
    let pattern = format!("{}*", escape_glob(prefix));
    let mut cursor: u64 = 0;
    let mut deleted = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1_000).query_async(con).await?;
        let mut pipe = redis::pipe();
        for k in keys.iter().filter(|k| k.starts_with(prefix)) {
            pipe.cmd("UNLINK").arg(k);
        }
        if !keys.is_empty() {
            let counts: Vec<u64> = pipe.query_async(con).await?;
            deleted += counts.iter().sum::<u64>();
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// Every key of one server starting with `prefix`, found by `SCAN MATCH`, with the prefix cut off.
async fn scan_prefix<C: redis::aio::ConnectionLike + Send>(
    con: &mut C,
    prefix: &str,
) -> Result<Vec<String>, BackendError> {
    let pattern = format!("{}*", escape_glob(prefix));
    let mut cursor: u64 = 0;
    let mut found = Vec::new();
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1_000).query_async(con).await?;
        found.extend(keys.iter().filter_map(|k| k.strip_prefix(prefix)).map(str::to_owned));
        if next == 0 {
            return Ok(found);
        }
        cursor = next;
    }
}

/// Escapes the glob characters Redis's MATCH understands.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn memory_apply(keyspace: &Mutex<Keyspace>, epoch: Instant, cmd: &Cmd) -> Reply {
    let now_ms = i64::try_from(epoch.elapsed().as_millis()).unwrap_or(i64::MAX);
    match keyspace.lock() {
        Ok(mut ks) => ks.apply(now_ms, cmd),
        Err(poisoned) => poisoned.into_inner().apply(now_ms, cmd),
    }
}

/// A new run's key prefix: `distlab:<8 hex digits>:`, unique per process and moment.
pub fn new_prefix() -> String {
    let now = std::time::UNIX_EPOCH.elapsed().unwrap_or(Duration::ZERO);
    let nanos = now.as_secs().wrapping_mul(1_000_000_000) ^ u64::from(now.subsec_nanos());
    let mixed = nanos ^ (u64::from(std::process::id()) << 32);
    format!("distlab:{:08x}:", mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32)
}

#[cfg(test)]
mod tests {
    use super::parse_command_stats;

    #[test]
    fn command_stats_are_read_from_their_line_and_nowhere_else() {
        let info = "# Commandstats\r\ncmdstat_evalsha_ro:calls=9,usec=9,usec_per_call=1.00\r\ncmdstat_evalsha:calls=310300,usec=556243,usec_per_call=1.79,rejected_calls=0,failed_calls=0\r\n";
        assert_eq!(parse_command_stats(info, "EVALSHA"), Some((310_300, 556_243)));
        assert_eq!(parse_command_stats(info, "get"), None);
        assert_eq!(parse_command_stats("cmdstat_get:calls=x,usec=1", "get"), None);
    }
}
