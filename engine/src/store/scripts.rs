//! Named scripts: each is a Lua text (sent to a real Redis with `EVALSHA`) and its Rust twin
//! (run by the simulated store). The two must agree reply for reply; the differential tests hold
//! them to it. Lua runs atomically in Redis, and the twin runs inside one `apply`, so both are
//! atomic with respect to other commands.

use serde::{Deserialize, Serialize};

use super::cmd::{Cmd, Reply, ScoreBound, SetCondition, SetExpiry, XPendingRange};
use super::keyspace::Keyspace;
use super::{errors, number};

mod rate_limit;

/// The scripts the store knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptName {
    /// `KEYS[1]`, `ARGV[1] = expected`: delete the key only if it holds `expected`.
    CompareAndDelete,
    /// `KEYS[1]`, `ARGV[1] = expected`, `ARGV[2] = ms`: `PEXPIRE` only if it holds `expected`.
    CompareAndPExpire,
    /// `KEYS[1] = lock`, `KEYS[2] = counter`, `ARGV[1] = owner`, `ARGV[2] = lease ms`: `SET NX PX`
    /// and, if it set, the fencing token `INCR counter`; 0 when the lock is held.
    AcquireFenced,
    /// `KEYS[1] = lock`, `ARGV[1] = owner`, `ARGV[2] = lease ms`, `ARGV[3] = "read" | "write"`:
    /// Redisson's read-write lock (a hash of `mode` and one hold count per owner), reentrant; the
    /// owner's hold count, 0 when not available.
    RwAcquire,
    /// `KEYS[1] = lock`, `ARGV[1] = owner`, `ARGV[2] = lease ms`: one hold given back; the owner's
    /// remaining count, -1 when it held nothing.
    RwRelease,
    /// `KEYS[1] = lock`, `ARGV[1] = owner`, `ARGV[2] = ms`: `PEXPIRE` only while the owner holds it.
    RwRenew,
    /// `KEYS[1]`, `ARGV[1] = rank`, `ARGV[2] = value`, `ARGV[3] = ms`: `SET key "rank:value" PX ms`
    /// unless the key holds a value whose leading rank is at least `rank`; 1 if set, else 0.
    SetIfNewer,
    /// `KEYS[1] = account`, `KEYS[2] = saga log`, `KEYS[3] = outbox`, `KEYS[4] = outbox sequence`,
    /// `ARGV = tx, amount, "do" | "undo", state if ok, state if refused, expected state, service`:
    /// a saga's step, its log entry and its outgoing event in one atomic write; 1 done, 0 refused,
    /// -1 when the log no longer holds the expected state (nothing written).
    SagaStep,
    /// `KEYS[1] = ids seen`, `KEYS[2] = effects`, `ARGV[1] = id`, `ARGV[2] = field`: count the
    /// effect once per id; 1 applied, 0 a duplicate.
    ConsumeOnce,
    /// `KEYS[1] = delayed (sorted set)`, `KEYS[2] = stream`, `ARGV[1] = most to move`: every
    /// member due by the server's clock becomes a stream entry `msg = member` (46.2's delayed
    /// delivery); how many moved.
    MqPromote,
    /// `KEYS[1] = ids published`, `KEYS[2] = stream`, `KEYS[3] = delayed`, `ARGV = triples of id,
    /// body, delay ms`: idempotent publishes, each to the stream at once or to the delayed set
    /// scored by the server's clock plus its delay; an integer a triple (1 published, 0 published
    /// before).
    MqPublish,
    /// `KEYS[1] = stream`, `KEYS[2] = dead letters`, `ARGV = group, id, last error`: a pending entry
    /// copied to the dead-letter stream with its delivery count, and acknowledged, at once; the
    /// dead-letter entry's id, 0 when it was not pending.
    MqDeadLetter,
    /// `KEYS[1] = stream`, `KEYS[2] = effects`, `ARGV = group, dedup (0 or 1), then pairs of entry
    /// id and message id`: a consumer's batch, each effect written (once by `HSETNX` with dedup)
    /// and its entry acked at once; two integers a pair (the effect, XACK's answer).
    MqSettle,
    /// `KEYS[1]` a limiter's state, `ARGV = algorithm, limit, period µs, burst, now µs or ""`
    /// (the server's clock): one check of a distributed rate limiter, decided as the engine's
    /// local limiter would; `{1, remaining}`, `{2, wait µs}` or `{0, retry after µs}`, then the
    /// time decided at.
    RateLimit,
}

impl ScriptName {
    pub const ALL: [ScriptName; 14] = [
        ScriptName::CompareAndDelete,
        ScriptName::CompareAndPExpire,
        ScriptName::AcquireFenced,
        ScriptName::RwAcquire,
        ScriptName::RwRelease,
        ScriptName::RwRenew,
        ScriptName::SetIfNewer,
        ScriptName::SagaStep,
        ScriptName::ConsumeOnce,
        ScriptName::MqPromote,
        ScriptName::MqPublish,
        ScriptName::MqDeadLetter,
        ScriptName::MqSettle,
        ScriptName::RateLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => "compare_and_delete",
            ScriptName::CompareAndPExpire => "compare_and_pexpire",
            ScriptName::AcquireFenced => "acquire_fenced",
            ScriptName::RwAcquire => "rw_acquire",
            ScriptName::RwRelease => "rw_release",
            ScriptName::RwRenew => "rw_renew",
            ScriptName::SetIfNewer => "set_if_newer",
            ScriptName::SagaStep => "saga_step",
            ScriptName::ConsumeOnce => "consume_once",
            ScriptName::MqPromote => "mq_promote",
            ScriptName::MqPublish => "mq_publish",
            ScriptName::MqSettle => "mq_settle",
            ScriptName::MqDeadLetter => "mq_dead_letter",
            ScriptName::RateLimit => "rate_limit",
        }
    }

    /// The Lua text a real Redis runs.
    pub fn lua(self) -> &'static str {
        match self {
            ScriptName::CompareAndDelete => include_str!("scripts/compare_and_delete.lua"),
            ScriptName::CompareAndPExpire => include_str!("scripts/compare_and_pexpire.lua"),
            ScriptName::AcquireFenced => include_str!("scripts/acquire_fenced.lua"),
            ScriptName::RwAcquire => include_str!("scripts/rw_acquire.lua"),
            ScriptName::RwRelease => include_str!("scripts/rw_release.lua"),
            ScriptName::RwRenew => include_str!("scripts/rw_renew.lua"),
            ScriptName::SetIfNewer => include_str!("scripts/set_if_newer.lua"),
            ScriptName::SagaStep => include_str!("scripts/saga_step.lua"),
            ScriptName::ConsumeOnce => include_str!("scripts/consume_once.lua"),
            ScriptName::MqPromote => include_str!("scripts/mq_promote.lua"),
            ScriptName::MqPublish => include_str!("scripts/mq_publish.lua"),
            ScriptName::MqDeadLetter => include_str!("scripts/mq_dead_letter.lua"),
            ScriptName::MqSettle => include_str!("scripts/mq_settle.lua"),
            ScriptName::RateLimit => include_str!("scripts/rate_limit.lua"),
        }
    }

    /// `(keys, args)` counts the script expects (`mq_publish` and `mq_settle` take any number of
    /// triples or pairs and check their arguments themselves).
    fn arity(self) -> (usize, usize) {
        match self {
            ScriptName::CompareAndDelete => (1, 1),
            ScriptName::CompareAndPExpire => (1, 2),
            ScriptName::AcquireFenced => (2, 2),
            ScriptName::RwAcquire => (1, 3),
            ScriptName::RwRelease | ScriptName::RwRenew => (1, 2),
            ScriptName::SetIfNewer => (1, 3),
            ScriptName::SagaStep => (4, 7),
            ScriptName::ConsumeOnce => (2, 2),
            ScriptName::MqPromote => (2, 1),
            ScriptName::MqDeadLetter => (2, 3),
            ScriptName::MqPublish => (3, 3),
            ScriptName::MqSettle => (2, 2),
            ScriptName::RateLimit => (1, 5),
        }
    }

    /// The Rust twin of [`ScriptName::lua`].
    pub(crate) fn run(self, ks: &mut Keyspace, now_ms: i64, keys: &[String], args: &[String]) -> Reply {
        let variadic = match self {
            ScriptName::MqPublish => keys.len() == 3,
            ScriptName::MqSettle => keys.len() == 2,
            _ => false,
        };
        if (keys.len(), args.len()) != self.arity() && !variadic {
            let (k, a) = self.arity();
            return Reply::Error(format!(
                "ERR script {} takes {k} key(s) and {a} argument(s), got {} and {}",
                self.as_str(),
                keys.len(),
                args.len()
            ));
        }
        match self {
            ScriptName::AcquireFenced => return acquire_fenced(ks, now_ms, &keys[0], &keys[1], &args[0], &args[1]),
            ScriptName::SetIfNewer => return set_if_newer(ks, now_ms, &keys[0], &args[0], &args[1], &args[2]),
            ScriptName::RwAcquire | ScriptName::RwRelease | ScriptName::RwRenew => {
                let mut lua = Lua { ks, now_ms };
                let (key, owner, ms) = (&keys[0], &args[0], &args[1]);
                return match self {
                    ScriptName::RwAcquire => lua.rw_acquire(key, owner, ms, &args[2]),
                    ScriptName::RwRelease => lua.rw_release(key, owner, ms),
                    _ => lua.rw_renew(key, owner, ms),
                }
                .map_or_else(
                    |e| e,
                    |reply| match reply {
                        Reply::Int(n) => Reply::Int(through_lua_number(n)),
                        other => other,
                    },
                );
            }
            ScriptName::SagaStep => return Lua { ks, now_ms }.saga_step(keys, args).unwrap_or_else(|e| e),
            ScriptName::ConsumeOnce => {
                return Lua { ks, now_ms }.consume_once(keys, args).unwrap_or_else(|e| e);
            }
            ScriptName::MqPromote => return Lua { ks, now_ms }.mq_promote(keys, args).unwrap_or_else(|e| e),
            ScriptName::MqDeadLetter => return Lua { ks, now_ms }.mq_dead_letter(keys, args).unwrap_or_else(|e| e),
            ScriptName::MqPublish => return Lua { ks, now_ms }.mq_publish(keys, args).unwrap_or_else(|e| e),
            ScriptName::MqSettle => return Lua { ks, now_ms }.mq_settle(keys, args).unwrap_or_else(|e| e),
            ScriptName::RateLimit => return Lua { ks, now_ms }.rate_limit(keys, args).unwrap_or_else(|e| e),
            ScriptName::CompareAndDelete | ScriptName::CompareAndPExpire => {}
        }
        let key = &keys[0];
        let holds_expected = match ks.get(now_ms, key) {
            Reply::Bulk(v) => v == args[0],
            Reply::Nil => false,
            err => return err,
        };
        match self {
            ScriptName::CompareAndDelete if holds_expected => ks.del(now_ms, std::slice::from_ref(key)),
            ScriptName::CompareAndPExpire if holds_expected => match number::parse_i64(&args[1]) {
                Some(ms) => ks.pexpire(now_ms, key, ms),
                None => Reply::err(errors::NOT_AN_INTEGER),
            },
            _ => Reply::Int(0),
        }
    }
}

/// The twin of `acquire_fenced.lua`: the `SET` with its argument checks, then `INCR`.
fn acquire_fenced(ks: &mut Keyspace, now_ms: i64, lock: &str, counter: &str, owner: &str, lease: &str) -> Reply {
    let Some(lease_ms) = number::parse_i64(lease) else {
        return Reply::err(errors::NOT_AN_INTEGER);
    };
    let set = Cmd::Set {
        key: lock.to_owned(),
        value: owner.to_owned(),
        condition: Some(SetCondition::Nx),
        expiry: Some(SetExpiry::Px(lease_ms)),
        get: false,
    };
    match ks.apply(now_ms, &set) {
        Reply::Status(_) => match ks.apply(now_ms, &Cmd::Incr { key: counter.to_owned() }) {
            Reply::Int(token) => Reply::Int(through_lua_number(token)),
            other => other,
        },
        Reply::Nil => Reply::Int(0),
        err => err,
    }
}

/// The twin of `set_if_newer.lua`. Ranks compare as Lua numbers (doubles), as the script does.
fn set_if_newer(ks: &mut Keyspace, now_ms: i64, key: &str, rank: &str, value: &str, ms: &str) -> Reply {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    if rank.is_empty() || digits(rank) != rank.len() {
        return Reply::Error("ERR rank is not a non-negative integer".to_owned());
    }
    let as_number = |d: &str| d.parse::<f64>().unwrap_or(f64::INFINITY);
    match ks.get(now_ms, key) {
        Reply::Bulk(current) => {
            let held = &current[..digits(&current)];
            if !held.is_empty() && as_number(held) >= as_number(rank) {
                return Reply::Int(0);
            }
        }
        Reply::Nil => {}
        err => return err,
    }
    let Some(ms) = number::parse_i64(ms) else {
        return Reply::err(errors::NOT_AN_INTEGER);
    };
    let set = Cmd::Set {
        key: key.to_owned(),
        value: format!("{rank}:{value}"),
        condition: None,
        expiry: Some(SetExpiry::Px(ms)),
        get: false,
    };
    match ks.apply(now_ms, &set) {
        Reply::Status(_) => Reply::Int(1),
        other => other,
    }
}

/// A script's `redis.call`: the command's reply, or its error, which ends the script (writes made
/// before it stay, as in Redis, which does not roll a script back).
struct Lua<'a> {
    ks: &'a mut Keyspace,
    now_ms: i64,
}

impl Lua<'_> {
    fn call(&mut self, cmd: Cmd) -> Result<Reply, Reply> {
        match self.ks.apply(self.now_ms, &cmd) {
            Reply::Error(e) => Err(Reply::Error(e)),
            reply => Ok(reply),
        }
    }

    /// `redis.call("HGET", key, field) == false`.
    fn hget_is_nil(&mut self, key: &str, field: &str) -> Result<bool, Reply> {
        Ok(self.call(Cmd::HGet { key: key.to_owned(), field: field.to_owned() })? == Reply::Nil)
    }

    /// `redis.call("XADD", key, "*", ...fields)`.
    fn xadd(&mut self, key: &str, fields: Vec<(String, String)>) -> Result<Reply, Reply> {
        self.call(Cmd::XAdd { key: key.to_owned(), no_mkstream: false, maxlen: None, id: "*".to_owned(), fields })
    }

    /// `redis.call("HSETNX", key, field, "1")`.
    fn hsetnx(&mut self, key: &str, field: &str) -> Result<i64, Reply> {
        let cmd = Cmd::HSetNx { key: key.to_owned(), field: field.to_owned(), value: "1".to_owned() };
        match self.call(cmd)? {
            Reply::Int(n) => Ok(n),
            other => Err(Reply::Error(format!("ERR unexpected HSETNX reply {other:?}"))),
        }
    }

    fn hincrby(&mut self, key: &str, field: &str, delta: i64) -> Result<i64, Reply> {
        match self.call(Cmd::HIncrBy { key: key.to_owned(), field: field.to_owned(), delta })? {
            Reply::Int(n) => Ok(n),
            other => Err(Reply::Error(format!("ERR unexpected HINCRBY reply {other:?}"))),
        }
    }

    /// `PEXPIRE` with a string argument, as a script passes `ARGV`.
    fn pexpire(&mut self, key: &str, ms: &str) -> Result<Reply, Reply> {
        let ms = number::parse_i64(ms).ok_or_else(|| Reply::err(errors::NOT_AN_INTEGER))?;
        self.call(Cmd::PExpire { key: key.to_owned(), ms })
    }

    /// The twin of `rw_acquire.lua`, line for line.
    fn rw_acquire(&mut self, key: &str, owner: &str, ms: &str, mode: &str) -> Result<Reply, Reply> {
        if mode != "read" && mode != "write" {
            return Ok(Reply::Error("ERR mode must be read or write".to_owned()));
        }
        let held = match self.call(Cmd::HGet { key: key.to_owned(), field: "mode".to_owned() })? {
            Reply::Bulk(m) => Some(m),
            _ => None,
        };
        match held.as_deref() {
            None => {
                self.call(Cmd::HSet { key: key.to_owned(), fields: vec![("mode".to_owned(), mode.to_owned())] })?;
            }
            Some("read") if mode == "read" => {}
            Some(m) => {
                if m != "write" || self.hget_is_nil(key, owner)? {
                    return Ok(Reply::Int(0));
                }
            }
        }
        let n = self.hincrby(key, owner, 1)?;
        self.pexpire(key, ms)?;
        Ok(Reply::Int(n))
    }

    /// The twin of `rw_release.lua`.
    fn rw_release(&mut self, key: &str, owner: &str, ms: &str) -> Result<Reply, Reply> {
        if self.hget_is_nil(key, owner)? {
            return Ok(Reply::Int(-1));
        }
        let n = self.hincrby(key, owner, -1)?;
        if n > 0 {
            self.pexpire(key, ms)?;
            return Ok(Reply::Int(n));
        }
        self.call(Cmd::HDel { key: key.to_owned(), fields: vec![owner.to_owned()] })?;
        if let Reply::Array(items) = self.call(Cmd::HGetAll { key: key.to_owned() })?
            && items.len() <= 2
        {
            self.call(Cmd::Del { keys: vec![key.to_owned()] })?;
        }
        Ok(Reply::Int(0))
    }

    /// `HGET` as a script sees it: the string, or `None` for Lua's `false`.
    fn hget(&mut self, key: &str, field: &str) -> Result<Option<String>, Reply> {
        match self.call(Cmd::HGet { key: key.to_owned(), field: field.to_owned() })? {
            Reply::Bulk(v) => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    /// The twin of `saga_step.lua`: the same checks of plain decimal integers, before any write.
    fn saga_step(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        let (account, log, outbox, sequence) = (&keys[0], &keys[1], &keys[2], &keys[3]);
        // Lua's `^%-?(%d+)$` with at most 15 digits.
        let integer = |s: &str, what: &str| {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let plain = (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            s.parse::<i64>().ok().filter(|_| plain).ok_or_else(|| Reply::Error(format!("ERR saga_step: {what}")))
        };
        let amount = integer(&args[1], "the amount must be a non-negative integer")?;
        if args[1].starts_with('-') {
            return Err(Reply::err("ERR saga_step: the amount must be a non-negative integer"));
        }
        let tx = &args[0];
        if self.hget(log, tx)?.unwrap_or_default() != args[5] {
            return Ok(Reply::Int(-1));
        }
        let field = format!("order:{tx}");
        let seen = self.hget(account, &field)?;
        let mut ok = 1;
        if args[2] == "do" {
            match seen {
                None => {
                    let available = self.hget(account, "available")?.unwrap_or_else(|| "0".to_owned());
                    if integer(&available, "available is not an integer")? >= amount {
                        self.hincrby(account, "available", -amount)?;
                        self.hincrby(account, "moved", amount)?;
                        self.call(Cmd::HSet {
                            key: account.clone(),
                            fields: vec![(field, format!("done:{}", args[1]))],
                        })?;
                    } else {
                        self.call(Cmd::HSet { key: account.clone(), fields: vec![(field, "refused".to_owned())] })?;
                        ok = 0;
                    }
                }
                Some(state) if !state.starts_with("done:") => ok = 0,
                Some(_) => {}
            }
        } else {
            if let Some(done) = seen.as_deref().and_then(|s| s.strip_prefix("done:")) {
                let amount = integer(done, "the step's amount is not an integer")?;
                self.hincrby(account, "available", amount)?;
                self.hincrby(account, "moved", -amount)?;
            }
            self.call(Cmd::HSet { key: account.clone(), fields: vec![(field, "compensated".to_owned())] })?;
        }
        let state = if ok == 1 { &args[3] } else { &args[4] };
        self.call(Cmd::HSet { key: log.clone(), fields: vec![(tx.clone(), state.clone())] })?;
        let seq = match self.call(Cmd::Incr { key: sequence.clone() })? {
            Reply::Int(n) => n,
            other => return Err(Reply::Error(format!("ERR unexpected INCR reply {other:?}"))),
        };
        #[expect(clippy::cast_precision_loss, reason = "ZADD's score is a double, as the script's number is")]
        let score = seq as f64;
        let event = format!("{seq}:{tx}:{}:{}:{ok}", args[6], args[2]);
        self.call(Cmd::ZAdd { key: outbox.clone(), members: vec![(score, event)] })?;
        Ok(Reply::Int(ok))
    }

    /// The twin of `consume_once.lua`.
    fn consume_once(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        if !self.hget_is_nil(&keys[0], &args[0])? {
            return Ok(Reply::Int(0));
        }
        self.call(Cmd::HSet { key: keys[0].clone(), fields: vec![(args[0].clone(), "1".to_owned())] })?;
        self.hincrby(&keys[1], &args[1], 1)?;
        Ok(Reply::Int(1))
    }

    /// The twin of `mq_promote.lua`; the server's clock is the store's.
    fn mq_promote(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        let limit = match plain_integer(&args[0]) {
            Some(limit) => limit,
            None => return Ok(Reply::err("ERR mq_promote: the limit must be a non-negative integer")),
        };
        #[expect(clippy::cast_precision_loss, reason = "milliseconds since 1970: well within 2^53, exact")]
        let max = ScoreBound::Inclusive(self.now_ms as f64);
        let zrange = Cmd::ZRangeByScore {
            key: keys[0].clone(),
            min: ScoreBound::NegInf,
            max,
            with_scores: false,
            limit: Some((0, limit)),
        };
        let Reply::Array(due) = self.call(zrange)? else {
            return Err(Reply::err("ERR unexpected ZRANGEBYSCORE reply"));
        };
        for member in &due {
            let Reply::Bulk(member) = member else { continue };
            let fields = vec![("msg".to_owned(), member.clone())];
            self.xadd(&keys[1], fields)?;
            self.call(Cmd::ZRem { key: keys[0].clone(), members: vec![member.clone()] })?;
        }
        Ok(Reply::Int(i64::try_from(due.len()).unwrap_or(i64::MAX)))
    }

    /// The twin of `mq_publish.lua`.
    fn mq_publish(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        if args.is_empty() || !args.len().is_multiple_of(3) {
            return Ok(Reply::err("ERR mq_publish: give triples of a message id, its body and its delay in ms"));
        }
        let Some(delays) = args.chunks(3).map(|t| plain_integer(&t[2])).collect::<Option<Vec<_>>>() else {
            return Ok(Reply::err("ERR mq_publish: the delay must be a non-negative integer"));
        };
        let mut out = Vec::with_capacity(delays.len());
        for (triple, delay) in args.chunks(3).zip(delays) {
            let (id, body) = (&triple[0], &triple[1]);
            if self.hsetnx(&keys[0], id)? == 0 {
                out.push(Reply::Int(0));
                continue;
            }
            let written = if delay > 0 {
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "milliseconds since 1970 plus a delay: well within 2^53"
                )]
                let due = (self.now_ms + delay) as f64;
                self.call(Cmd::ZAdd { key: keys[2].clone(), members: vec![(due, format!("{id}|{body}"))] })
            } else {
                let fields = vec![("id".to_owned(), id.clone()), ("body".to_owned(), body.clone())];
                self.xadd(&keys[1], fields)
            };
            if let Err(error) = written {
                self.call(Cmd::HDel { key: keys[0].clone(), fields: vec![id.clone()] })?;
                return Ok(error);
            }
            out.push(Reply::Int(1));
        }
        Ok(Reply::Array(out))
    }

    /// The twin of `mq_settle.lua`.
    fn mq_settle(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        if args.len() < 2 || !args.len().is_multiple_of(2) || (args[1] != "0" && args[1] != "1") {
            return Ok(Reply::err(
                "ERR mq_settle: give the group, 0 or 1 for dedup, then pairs of entry and message ids",
            ));
        }
        let (group, dedup) = (&args[0], args[1] == "1");
        let mut out = Vec::new();
        for pair in args[2..].chunks(2) {
            let (entry, id) = (&pair[0], &pair[1]);
            let applied = if dedup { self.hsetnx(&keys[1], id)? } else { self.hincrby(&keys[1], id, 1)? };
            out.push(Reply::Int(applied));
            out.push(self.call(Cmd::XAck { key: keys[0].clone(), group: group.clone(), ids: vec![entry.clone()] })?);
        }
        Ok(Reply::Array(out))
    }

    /// The twin of `mq_dead_letter.lua`.
    fn mq_dead_letter(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        let (stream, group) = (&keys[0], &args[0]);
        let range =
            XPendingRange { min_idle_ms: None, start: args[1].clone(), end: args[1].clone(), count: 1, consumer: None };
        let pending = self.call(Cmd::XPending { key: stream.clone(), group: group.clone(), range: Some(range) })?;
        let Reply::Array(rows) = pending else {
            return Err(Reply::err("ERR unexpected XPENDING reply"));
        };
        let Some(Reply::Array(row)) = rows.first() else {
            return Ok(Reply::Int(0));
        };
        let (Some(Reply::Bulk(id)), Some(Reply::Int(deliveries))) = (row.first(), row.get(3)) else {
            return Err(Reply::err("ERR unexpected XPENDING reply"));
        };
        let mut fields = vec![
            ("source".to_owned(), id.clone()),
            ("error".to_owned(), args[2].clone()),
            ("deliveries".to_owned(), deliveries.to_string()),
        ];
        let entry = self.call(Cmd::XRange { key: stream.clone(), start: id.clone(), end: id.clone(), count: None })?;
        if let Reply::Array(found) = entry
            && let Some(Reply::Array(entry)) = found.first()
            && let Some(Reply::Array(flat)) = entry.get(1)
        {
            for pair in flat.chunks(2) {
                if let [Reply::Bulk(f), Reply::Bulk(v)] = pair {
                    fields.push((f.clone(), v.clone()));
                }
            }
        }
        let dead = self.xadd(&keys[1], fields)?;
        self.call(Cmd::XAck { key: stream.clone(), group: group.clone(), ids: vec![id.clone()] })?;
        Ok(dead)
    }

    /// The twin of `rw_renew.lua`.
    fn rw_renew(&mut self, key: &str, owner: &str, ms: &str) -> Result<Reply, Reply> {
        if self.hget_is_nil(key, owner)? {
            return Ok(Reply::Int(0));
        }
        self.pexpire(key, ms)
    }
}

/// What the queue scripts accept as a count or a delay: Lua's `"0"` or `^[1-9]%d*$`, at most 15
/// digits, so exact as a double and read alike by a score (a float) and a `LIMIT` (an integer).
fn plain_integer(s: &str) -> Option<i64> {
    let plain = s.len() <= 15
        && (s == "0" || s.starts_with(|c| ('1'..='9').contains(&c)))
        && s.bytes().all(|b| b.is_ascii_digit());
    if plain { s.parse().ok() } else { None }
}

/// A Lua number is a double, and Redis turns a script's number back into an integer reply with
/// C's `(long long)` cast: integers beyond 2^53 lose precision, and 2^63 (the double nearest to
/// `i64::MAX`) becomes `i64::MIN`, as x86 converts an out-of-range double. The differential tests
/// caught the difference; no lock will ever see such a token, but the twin must answer as Redis.
#[expect(clippy::cast_possible_truncation, reason = "C's double to long long conversion, on purpose")]
fn through_lua_number(v: i64) -> i64 {
    let d = v as f64;
    if d >= 9_223_372_036_854_775_808.0 { i64::MIN } else { d as i64 }
}

#[cfg(test)]
mod tests {
    use super::through_lua_number;

    #[test]
    fn all_lists_every_script_in_declaration_order() {
        for (i, name) in super::ScriptName::ALL.iter().enumerate() {
            assert_eq!(*name as usize, i, "{name:?}");
        }
    }

    #[test]
    fn script_integers_pass_through_a_double() {
        assert_eq!(through_lua_number(42), 42);
        assert_eq!(through_lua_number(9_007_199_254_740_993), 9_007_199_254_740_992, "2^53 + 1 rounds");
        assert_eq!(through_lua_number(i64::MIN + 1), i64::MIN);
        assert_eq!(through_lua_number(i64::MAX - 2), i64::MIN, "rounds to 2^63, which x86 turns into i64::MIN");
    }
}
