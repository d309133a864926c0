//! Which Redis the native runner talks to, and the checks that make a wrong choice fail with one
//! clear line: unreachable, wrong password, a replica, or cluster mode where standalone was asked
//! (and the reverse).

use redis::IntoConnectionInfo;

use crate::backend::{Backend, CONNECT_TIMEOUT, manager_config, new_prefix};
use crate::server::{LocalRedis, find_on_path};

/// What the user asked for on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// Nothing given: a private redis-server if one is installed, else the in-memory store.
    Embedded,
    Redis(String),
    /// Several independent servers (Redlock, client-side sharding).
    Nodes(Vec<String>),
    Cluster(String),
}

/// A target that cannot be used, with the reason in one line.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("invalid Redis URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} is not a Redis server: it answered something other than Redis's protocol ({reason})")]
    NotRedis { url: String, reason: String },
    #[error("{url}: authentication failed ({reason}); check the password in the URL")]
    Auth { url: String, reason: String },
    #[error("{url} is a replica (role:slave); point distlab at its primary")]
    Replica { url: String },
    #[error("{url} has cluster mode enabled; use --cluster instead of --redis")]
    UnexpectedCluster { url: String },
    #[error("{url} is not a cluster (cluster_enabled:0); use --redis instead of --cluster")]
    NotACluster { url: String },
    #[error(
        "--redis-nodes: {first} and {second} are the same server (host and port; its databases crash, pause and restart together); Redlock and sharding need independent ones"
    )]
    DuplicateNode { first: String, second: String },
    #[error("the embedded redis-server could not start: {0}")]
    Embedded(#[from] crate::server::ServerError),
}

/// A connected target: the backends patterns use, what to tell the user, and the private server
/// (if any) that is stopped when this is dropped.
#[derive(Debug)]
pub struct Target {
    /// One backend, or one per independent node for `--redis-nodes`.
    pub backends: Vec<Backend>,
    /// The first line of output: which store this run uses.
    pub description: String,
    embedded: Vec<LocalRedis>,
}

impl Target {
    /// Connects with a fresh prefix for this run's keys (and, embedded, the servers Redlock needs).
    pub async fn connect(spec: &TargetSpec) -> Result<Target, TargetError> {
        Target::connect_with(spec, &new_prefix(), EMBEDDED_SERVERS).await
    }

    /// Connects with a fresh prefix, starting `embedded_servers` private servers for the
    /// embedded default (a replay starts one per store it replays).
    pub async fn connect_servers(spec: &TargetSpec, embedded_servers: usize) -> Result<Target, TargetError> {
        Target::connect_with(spec, &new_prefix(), embedded_servers).await
    }

    /// Connects with the given prefix (`distlab:<name>:` for a run that resumes an earlier one),
    /// starting `embedded_servers` private servers for the embedded default.
    pub async fn connect_with(spec: &TargetSpec, prefix: &str, embedded_servers: usize) -> Result<Target, TargetError> {
        let prefix = prefix.to_owned();
        match spec {
            TargetSpec::Embedded => embedded(&prefix, embedded_servers.max(1)).await,
            TargetSpec::Redis(url) => {
                let backend = standalone(url, &prefix).await?;
                let description = format!("target: Redis at {} (keys under {prefix})", redact(url));
                Ok(Target { backends: vec![backend], description, embedded: Vec::new() })
            }
            TargetSpec::Nodes(urls) => {
                refuse_duplicates(urls)?;
                let mut backends = Vec::with_capacity(urls.len());
                for url in urls {
                    backends.push(standalone(url, &prefix).await?);
                }
                let list = urls.iter().map(|u| redact(u)).collect::<Vec<_>>().join(", ");
                let description =
                    format!("target: {} independent Redis nodes: {list} (keys under {prefix})", urls.len());
                Ok(Target { backends, description, embedded: Vec::new() })
            }
            TargetSpec::Cluster(url) => {
                let backend = cluster(url, &prefix).await?;
                let description = format!("target: Redis Cluster via {} (keys under {prefix})", redact(url));
                Ok(Target { backends: vec![backend], description, embedded: Vec::new() })
            }
        }
    }

    pub fn primary(&self) -> &Backend {
        &self.backends[0]
    }

    /// Deletes this run's keys from every backend (never anything else), trying every one even
    /// when some fail. A private server is simply stopped, with everything in it, when the
    /// target is dropped.
    pub async fn cleanup(&self) -> Result<u64, crate::backend::BackendError> {
        if !self.embedded.is_empty() {
            return Ok(0);
        }
        let mut total = 0;
        let mut failures = Vec::new();
        for (i, b) in self.backends.iter().enumerate() {
            match b.delete_own_keys().await {
                Ok(n) => total += n,
                Err(e) => failures.push(format!("node {}: {e}", i + 1)),
            }
        }
        if failures.is_empty() { Ok(total) } else { Err(crate::backend::BackendError(failures.join("; "))) }
    }
}

/// Private servers the embedded default starts: one for everything, and four more so that
/// Redlock has its five independent instances.
pub const EMBEDDED_SERVERS: usize = 5;

async fn embedded(prefix: &str, count: usize) -> Result<Target, TargetError> {
    if find_on_path("redis-server").is_none() {
        return Ok(Target {
            backends: vec![Backend::memory(prefix)],
            description: "target: the engine's in-memory store in real time (redis-server is not on PATH)".to_owned(),
            embedded: Vec::new(),
        });
    }
    let servers =
        tokio::task::spawn_blocking(move || (0..count).map(|_| LocalRedis::start()).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(|e| TargetError::Embedded(crate::server::ServerError::Spawn(std::io::Error::other(e))))??;
    let mut backends = Vec::with_capacity(servers.len());
    for server in &servers {
        backends.push(standalone(&server.url(), prefix).await?);
    }
    let others: Vec<String> = servers[1..].iter().map(|s| s.port().to_string()).collect();
    let mut description = format!(
        "target: embedded redis-server on 127.0.0.1:{} (private, no persistence, stopped at exit)",
        servers[0].port()
    );
    if !others.is_empty() {
        description +=
            &format!(", and {} more independent ones (Redlock, sharding) on ports {}", others.len(), others.join(", "));
    }
    Ok(Target { backends, description, embedded: servers })
}

fn client(url: &str) -> Result<(redis::Client, redis::ConnectionInfo), TargetError> {
    let invalid = |e: redis::RedisError| TargetError::InvalidUrl { url: redact(url), reason: e.to_string() };
    let info = url.into_connection_info().map_err(invalid)?;
    let client = redis::Client::open(info.clone()).map_err(invalid)?;
    Ok((client, info))
}

/// The server a URL names: its addresses (the host resolved, so that `localhost` and
/// `127.0.0.1` meet; a Unix socket by its path), its port and its database.
#[derive(Debug, PartialEq)]
struct Server {
    addresses: Vec<String>,
    port: u16,
}

impl Server {
    fn of(info: &redis::ConnectionInfo) -> Server {
        let (host, port) = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) | redis::ConnectionAddr::TcpTls { host, port, .. } => {
                (host.clone(), *port)
            }
            other => (other.to_string(), 0),
        };
        let mut addresses: Vec<String> = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|found| found.map(|a| a.ip().to_string()).collect())
            .unwrap_or_default();
        if addresses.is_empty() {
            addresses.push(host);
        }
        Server { addresses, port }
    }

    fn same(&self, other: &Server) -> bool {
        self.port == other.port && self.addresses.iter().any(|a| other.addresses.contains(a))
    }
}

/// Refuses two URLs for one server: Redlock over "five" instances that are one would be a lie.
fn refuse_duplicates(urls: &[String]) -> Result<(), TargetError> {
    let mut seen: Vec<(&String, Server)> = Vec::new();
    for url in urls {
        let (_, info) = client(url)?;
        let server = Server::of(&info);
        if let Some((first, _)) = seen.iter().find(|(_, s)| s.same(&server)) {
            return Err(TargetError::DuplicateNode { first: redact(first), second: redact(url) });
        }
        seen.push((url, server));
    }
    Ok(())
}

fn connect_error(url: &str, e: &redis::RedisError) -> TargetError {
    let reason = e.to_string();
    let auth = e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
        || reason.contains("WRONGPASS")
        || reason.contains("NOAUTH");
    // A server that answers, but not in RESP (an HTTP server, say): the client cannot parse it.
    let foreign =
        reason.contains("Parse error") || reason.contains("Incompatible type") || reason.contains("parse error");
    if auth {
        TargetError::Auth { url: redact(url), reason }
    } else if foreign {
        let first_line = reason.lines().next().unwrap_or_default().trim().to_owned();
        TargetError::NotRedis { url: redact(url), reason: first_line }
    } else {
        TargetError::Unreachable { url: redact(url), reason }
    }
}

/// Awaits a connection step for at most [`CONNECT_TIMEOUT`], turning its failure into the
/// one-line error the user sees.
async fn within<T>(url: &str, step: impl Future<Output = redis::RedisResult<T>>) -> Result<T, TargetError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, step).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(connect_error(url, &e)),
        Err(_) => {
            Err(TargetError::Unreachable { url: redact(url), reason: format!("no answer within {CONNECT_TIMEOUT:?}") })
        }
    }
}

async fn standalone(url: &str, prefix: &str) -> Result<Backend, TargetError> {
    let (client, _) = client(url)?;
    let mut con = within(url, redis::aio::ConnectionManager::new_with_config(client.clone(), manager_config())).await?;
    let info: String =
        redis::cmd("INFO").arg("replication").query_async(&mut con).await.map_err(|e| connect_error(url, &e))?;
    if info.lines().any(|l| l.trim() == "role:slave") {
        return Err(TargetError::Replica { url: redact(url) });
    }
    let info: String =
        redis::cmd("INFO").arg("cluster").query_async(&mut con).await.map_err(|e| connect_error(url, &e))?;
    if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
        return Err(TargetError::UnexpectedCluster { url: redact(url) });
    }
    Ok(Backend::standalone(con, client, prefix))
}

async fn cluster(url: &str, prefix: &str) -> Result<Backend, TargetError> {
    let (plain, info) = client(url)?;
    // Ask the seed node first: a clear error for a non-cluster server beats a client timeout.
    let probe = async {
        let mut con = plain.get_multiplexed_async_connection().await?;
        redis::cmd("INFO").arg("cluster").query_async::<String>(&mut con).await
    };
    let seed_info = within(url, probe).await?;
    if !seed_info.lines().any(|l| l.trim() == "cluster_enabled:1") {
        return Err(TargetError::NotACluster { url: redact(url) });
    }
    let client = redis::cluster::ClusterClient::new(vec![info.clone()])
        .map_err(|e| TargetError::InvalidUrl { url: redact(url), reason: e.to_string() })?;
    let con = within(url, client.get_async_connection()).await?;
    Ok(Backend::cluster(con, info, prefix))
}

/// The URL with its password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{userinfo}@{host}"),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("redis://:secret@h:1/0"), "redis://:***@h:1/0");
        assert_eq!(redact("rediss://alice:secret@h:1"), "rediss://alice:***@h:1");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }
}
