//! Private `redis-server` processes: the embedded default target of `distlab` and the test
//! harness. Each one listens on 127.0.0.1 on a free port, keeps its files in its own temporary
//! directory, persists nothing, and is stopped (and its directory removed) when the handle is
//! dropped — at the end of a command, on Ctrl-C, and when a test panics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh server may take to answer `PING`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a fresh cluster may take to report `cluster_state:ok`.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a private server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("`{0}` is not installed (not found on PATH); install it with: apt-get install -y redis-server redis-tools")]
    NotInstalled(&'static str),
    #[error("cannot start redis-server: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("cannot prepare a directory for redis-server: {0}")]
    Dir(#[source] std::io::Error),
    #[error("no free port found on 127.0.0.1")]
    NoFreePort,
    #[error("redis-server on port {port} did not answer within {timeout:?}; its log ends with:\n{log}")]
    NotAnswering { port: u16, timeout: Duration, log: String },
    #[error("redis-cli --cluster create failed: {0}")]
    ClusterCreate(String),
    #[error("cannot make a TLS certificate with openssl: {0}")]
    Certificate(String),
}

/// Extra settings for a private server.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// `requirepass`: clients must authenticate.
    pub password: Option<String>,
    /// `cluster-enabled yes` (the port is then chosen so that port + 10000 is free too).
    pub cluster: bool,
    /// `replicaof 127.0.0.1 <port>`: start as a replica of another server.
    pub replica_of: Option<u16>,
    /// Serve TLS only, with a fresh self-signed certificate (made with the `openssl` tool).
    pub tls: bool,
}

/// One private redis-server, stopped on drop.
#[derive(Debug)]
pub struct LocalRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    tls: bool,
}

/// Finds `program` on PATH.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

impl LocalRedis {
    /// Starts a plain server: no password, no cluster, no persistence.
    pub fn start() -> Result<LocalRedis, ServerError> {
        LocalRedis::start_with(&ServerOptions::default())
    }

    pub fn start_with(options: &ServerOptions) -> Result<LocalRedis, ServerError> {
        let binary = find_on_path("redis-server").ok_or(ServerError::NotInstalled("redis-server"))?;
        let port = if options.cluster { free_cluster_port()? } else { free_port()? };
        let dir = unique_dir(port).map_err(ServerError::Dir)?;
        let log = std::fs::File::create(dir.join("redis.log")).map_err(ServerError::Dir)?;
        let mut cmd = Command::new(binary);
        if options.tls {
            self_signed_certificate(&dir)?;
            cmd.args(["--port", "0", "--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
                .args(["--tls-cert-file", "cert.pem", "--tls-key-file", "key.pem", "--tls-ca-cert-file", "cert.pem"])
                .current_dir(&dir);
        } else {
            cmd.args(["--port", &port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(["--daemonize", "no"]);
        if let Some(pw) = &options.password {
            cmd.args(["--requirepass", pw]);
        }
        if options.cluster {
            cmd.args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
        }
        if let Some(primary) = options.replica_of {
            cmd.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        // Its own process group: a Ctrl-C in the terminal reaches distlab, which stops it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let log_err = log.try_clone().map_err(ServerError::Dir)?;
        let child = cmd.stdout(log).stderr(log_err).stdin(Stdio::null()).spawn().map_err(ServerError::Spawn)?;
        let mut server = LocalRedis { child, port, dir, password: options.password.clone(), tls: options.tls };
        server.wait_until_answering()?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://[:password@]127.0.0.1:port/`, or `rediss://...:port/#insecure` with TLS (the
    /// certificate is self-signed, so the client must not verify it).
    pub fn url(&self) -> String {
        let auth = self.password.as_ref().map(|pw| format!(":{pw}@")).unwrap_or_default();
        if self.tls {
            format!("rediss://{auth}127.0.0.1:{}/#insecure", self.port)
        } else {
            format!("redis://{auth}127.0.0.1:{}/", self.port)
        }
    }

    /// The process id, so tests can check that nothing is left running.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_until_answering(&mut self) -> Result<(), ServerError> {
        let started = Instant::now();
        while started.elapsed() < STARTUP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                break; // it exited: report its log
            }
            let up = if self.tls { listening(self.port) } else { ping(self.port) };
            if up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(ServerError::NotAnswering { port: self.port, timeout: STARTUP_TIMEOUT, log: log_tail(&self.dir) })
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        // Nothing to save (no persistence): a kill is a clean stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of private servers, masters only, stopped on drop.
#[derive(Debug)]
pub struct LocalCluster {
    nodes: Vec<LocalRedis>,
}

impl LocalCluster {
    /// Starts `masters` cluster-enabled servers and joins them with `redis-cli --cluster create`.
    pub fn start(masters: usize) -> Result<LocalCluster, ServerError> {
        let cli = find_on_path("redis-cli").ok_or(ServerError::NotInstalled("redis-cli"))?;
        let options = ServerOptions { cluster: true, ..ServerOptions::default() };
        let nodes = (0..masters).map(|_| LocalRedis::start_with(&options)).collect::<Result<Vec<_>, _>>()?;
        let out = Command::new(cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .map_err(|e| ServerError::ClusterCreate(e.to_string()))?;
        if !out.status.success() {
            return Err(ServerError::ClusterCreate(String::from_utf8_lossy(&out.stdout).into_owned()));
        }
        let cluster = LocalCluster { nodes };
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    /// A URL of one of the nodes (a cluster client discovers the rest).
    pub fn url(&self) -> String {
        self.nodes[0].url()
    }

    pub fn nodes(&self) -> &[LocalRedis] {
        &self.nodes
    }

    fn wait_until_ok(&self) -> Result<(), ServerError> {
        let started = Instant::now();
        while started.elapsed() < CLUSTER_TIMEOUT {
            let all_ok = self
                .nodes
                .iter()
                .all(|n| query(n.port, &["CLUSTER", "INFO"]).is_some_and(|info| info.contains("cluster_state:ok")));
            if all_ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(ServerError::ClusterCreate(format!(
            "the cluster did not reach cluster_state:ok within {CLUSTER_TIMEOUT:?}"
        )))
    }
}

/// True when something on `port` answers a RESP `PING` (with `+PONG`, or `-NOAUTH` when a
/// password is set, or `-LOADING`): the server is up and speaking Redis.
fn ping(port: u16) -> bool {
    query(port, &["PING"]).is_some()
}

/// Sends one command in RESP and returns the raw reply text (enough for probes: `PING`,
/// `CLUSTER INFO`), or `None` when nothing answers.
fn query(port: u16, args: &[&str]) -> Option<String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    let mut request = format!("*{}\r\n", args.len());
    for a in args {
        request.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(request.as_bytes()).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    let n = stream.read(&mut buf).ok()?;
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// True when something accepts TCP connections on `port` (a TLS server cannot be pinged in
/// plain text).
fn listening(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// `cert.pem` and `key.pem` in `dir`, valid for 127.0.0.1 for a day.
fn self_signed_certificate(dir: &Path) -> Result<(), ServerError> {
    let openssl = find_on_path("openssl").ok_or(ServerError::NotInstalled("openssl"))?;
    let out = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .output()
        .map_err(|e| ServerError::Certificate(e.to_string()))?;
    if !out.status.success() {
        return Err(ServerError::Certificate(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(())
}

fn free_port() -> Result<u16, ServerError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|_| ServerError::NoFreePort)?;
    listener.local_addr().map(|a| a.port()).map_err(|_| ServerError::NoFreePort)
}

/// A port below 55536 whose cluster bus port (+10000) is free as well.
fn free_cluster_port() -> Result<u16, ServerError> {
    let seed =
        u64::from(std::process::id()) ^ u64::from(std::time::UNIX_EPOCH.elapsed().unwrap_or_default().subsec_nanos());
    (0..2_000u64)
        .map(|i| 20_000 + u16::try_from((seed.wrapping_mul(31).wrapping_add(i * 7_919)) % 20_000).unwrap_or(0))
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok() && TcpListener::bind(("127.0.0.1", *p + 10_000)).is_ok())
        .ok_or(ServerError::NoFreePort)
}

fn unique_dir(port: u16) -> std::io::Result<PathBuf> {
    let nanos = std::time::UNIX_EPOCH.elapsed().unwrap_or_default().as_nanos();
    let dir = std::env::temp_dir().join(format!("distlab-redis-{}-{port}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
