//! An in-memory keyspace with Redis's semantics, as Redis 7.0 implements them.
//!
//! Expiry follows Redis exactly: a key with expiry time `when` (milliseconds on the store
//! node's clock) exists while `now <= when` and is gone once `now > when`; a PTTL read at
//! `now == when` answers 0. Expired keys are removed lazily when touched, which is all that
//! command replies can observe (Redis's active expiry only reclaims memory sooner). Empty hashes
//! and sorted sets are deleted, as Redis does; empty streams stay, as they do in Redis.
//! Streams and their consumer groups are in [`streams`].

mod streams;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::cmd::{Cmd, Reply, ScoreBound, SetCondition, SetExpiry};
use super::{errors, number};

/// A sorted-set score with a total order (NaN never gets in).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Score(f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    /// Numeric order; `-0` and `0` compare equal, as C's `<` does in Redis.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(std::cmp::Ordering::Equal)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct ZSet {
    scores: BTreeMap<String, Score>,
    /// Members ordered as Redis orders them: by score, then by member bytes.
    order: BTreeSet<(Score, String)>,
}

impl ZSet {
    /// Inserts or updates; true when the member is new. `-0` is stored as `0`, as Redis does.
    fn insert(&mut self, member: &str, score: f64) -> bool {
        let score = Score(if score == 0.0 { 0.0 } else { score });
        match self.scores.insert(member.to_owned(), score) {
            Some(old) => {
                self.order.remove(&(old, member.to_owned()));
                self.order.insert((score, member.to_owned()));
                false
            }
            None => {
                self.order.insert((score, member.to_owned()));
                true
            }
        }
    }

    fn remove(&mut self, member: &str) -> bool {
        match self.scores.remove(member) {
            Some(score) => self.order.remove(&(score, member.to_owned())),
            None => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
enum Value {
    String(String),
    Hash(BTreeMap<String, String>),
    Zset(ZSet),
    Stream(streams::Stream),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    value: Value,
    /// Milliseconds on the store's clock; `None` for a key without expiry.
    expires_at_ms: Option<i64>,
}

/// The keyspace of one store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Keyspace {
    entries: BTreeMap<String, Entry>,
}

impl Keyspace {
    pub fn new() -> Self {
        Keyspace::default()
    }

    /// Keys that exist at `now_ms` (expired keys excluded).
    pub fn len(&self, now_ms: i64) -> usize {
        self.entries.values().filter(|e| !is_expired(e, now_ms)).count()
    }

    pub fn is_empty(&self, now_ms: i64) -> bool {
        self.len(now_ms) == 0
    }

    /// Executes one command at `now_ms` on the store's clock.
    pub fn apply(&mut self, now_ms: i64, cmd: &Cmd) -> Reply {
        match cmd {
            Cmd::Get { key } => self.get(now_ms, key),
            Cmd::Set { key, value, condition, expiry, get } => self.set(now_ms, key, value, *condition, *expiry, *get),
            Cmd::Del { keys } => self.del(now_ms, keys),
            Cmd::Exists { keys } => self.exists(now_ms, keys),
            Cmd::PExpire { key, ms } => self.pexpire(now_ms, key, *ms),
            Cmd::PTtl { key } => self.pttl(now_ms, key),
            Cmd::Incr { key } => self.incr_by(now_ms, key, 1),
            Cmd::IncrBy { key, delta } => self.incr_by(now_ms, key, *delta),
            Cmd::HSet { key, fields } => self.hset(now_ms, key, fields),
            Cmd::HSetNx { key, field, value } => self.hsetnx(now_ms, key, field, value),
            Cmd::HGet { key, field } => self.hget(now_ms, key, field),
            Cmd::HDel { key, fields } => self.hdel(now_ms, key, fields),
            Cmd::HGetAll { key } => self.hgetall(now_ms, key),
            Cmd::HIncrBy { key, field, delta } => self.hincr_by(now_ms, key, field, *delta),
            Cmd::ZAdd { key, members } => self.zadd(now_ms, key, members),
            Cmd::ZRangeByScore { key, min, max, with_scores, limit } => {
                self.zrange_by_score(now_ms, key, *min, *max, *with_scores, *limit)
            }
            Cmd::ZRem { key, members } => self.zrem(now_ms, key, members),
            Cmd::XAdd { key, no_mkstream, maxlen, id, fields } => {
                self.xadd(now_ms, key, *no_mkstream, *maxlen, id, fields)
            }
            Cmd::XLen { key } => self.xlen(now_ms, key),
            Cmd::XRange { key, start, end, count } => self.xrange(now_ms, key, start, end, *count),
            Cmd::XDel { key, ids } => self.xdel(now_ms, key, ids),
            Cmd::XTrim { key, maxlen } => self.xtrim(now_ms, key, *maxlen),
            Cmd::XGroupCreate { key, group, id, mkstream } => self.xgroup_create(now_ms, key, group, id, *mkstream),
            Cmd::XGroupDestroy { key, group } => self.xgroup_destroy(now_ms, key, group),
            Cmd::XGroupCreateConsumer { key, group, consumer } => {
                self.xgroup_consumer(now_ms, key, group, consumer, false)
            }
            Cmd::XGroupDelConsumer { key, group, consumer } => self.xgroup_consumer(now_ms, key, group, consumer, true),
            Cmd::XReadGroup { group, consumer, count, block_ms, streams } => {
                self.xreadgroup(now_ms, group, consumer, *count, *block_ms, streams)
            }
            Cmd::XAck { key, group, ids } => self.xack(now_ms, key, group, ids),
            Cmd::XPending { key, group, range } => self.xpending(now_ms, key, group, range.as_ref()),
            Cmd::XClaim { key, group, consumer, min_idle_ms, ids, just_id } => {
                self.xclaim(now_ms, key, group, consumer, *min_idle_ms, ids, *just_id)
            }
            Cmd::XAutoClaim { key, group, consumer, min_idle_ms, start, count, just_id } => {
                self.xautoclaim(now_ms, key, group, consumer, *min_idle_ms, start, *count, *just_id)
            }
            Cmd::Script { script, keys, args } => script.run(self, now_ms, keys, args),
        }
    }

    /// The live entry under `key`, removing it first if it has expired.
    fn live(&mut self, now_ms: i64, key: &str) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| is_expired(e, now_ms)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// The string under `key`: `Ok(None)` when missing, `Err(WRONGTYPE)` for another type.
    fn string(&mut self, now_ms: i64, key: &str) -> Result<Option<&mut String>, Reply> {
        self.typed(now_ms, key, None, |v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    pub(crate) fn get(&mut self, now_ms: i64, key: &str) -> Reply {
        match self.string(now_ms, key) {
            Ok(Some(s)) => Reply::Bulk(s.clone()),
            Ok(None) => Reply::Nil,
            Err(e) => e,
        }
    }

    fn set(
        &mut self,
        now_ms: i64,
        key: &str,
        value: &str,
        condition: Option<SetCondition>,
        expiry: Option<SetExpiry>,
        get: bool,
    ) -> Reply {
        let expires_at_ms = match expiry.map(|e| expiry_deadline(now_ms, e)).transpose() {
            Ok(at) => at,
            Err(e) => return e,
        };
        let old = if get {
            match self.string(now_ms, key) {
                Ok(old) => Some(old.map_or(Reply::Nil, |s| Reply::Bulk(s.clone()))),
                Err(e) => return e,
            }
        } else {
            None
        };
        let found = self.live(now_ms, key).is_some();
        let blocked = match condition {
            Some(SetCondition::Nx) => found,
            Some(SetCondition::Xx) => !found,
            None => false,
        };
        if !blocked {
            let entry = Entry { value: Value::String(value.to_owned()), expires_at_ms };
            self.entries.insert(key.to_owned(), entry);
        }
        match old {
            Some(old) => old,
            None if blocked => Reply::Nil,
            None => Reply::ok(),
        }
    }

    pub(crate) fn del(&mut self, now_ms: i64, keys: &[String]) -> Reply {
        if keys.is_empty() {
            return Reply::err(&errors::arity("del"));
        }
        let n = keys.iter().filter(|k| self.live(now_ms, k).is_some() && self.entries.remove(*k).is_some()).count();
        Reply::Int(count(n))
    }

    fn exists(&mut self, now_ms: i64, keys: &[String]) -> Reply {
        if keys.is_empty() {
            return Reply::err(&errors::arity("exists"));
        }
        let n = keys.iter().filter(|k| self.live(now_ms, k).is_some()).count();
        Reply::Int(count(n))
    }

    pub(crate) fn pexpire(&mut self, now_ms: i64, key: &str, ms: i64) -> Reply {
        let Some(when) = ms.checked_add(now_ms) else {
            return Reply::err(&errors::invalid_expire("pexpire"));
        };
        let Some(entry) = self.live(now_ms, key) else {
            return Reply::Int(0);
        };
        if when <= now_ms {
            self.entries.remove(key);
        } else {
            entry.expires_at_ms = Some(when);
        }
        Reply::Int(1)
    }

    fn pttl(&mut self, now_ms: i64, key: &str) -> Reply {
        match self.live(now_ms, key) {
            None => Reply::Int(-2),
            Some(Entry { expires_at_ms: None, .. }) => Reply::Int(-1),
            Some(Entry { expires_at_ms: Some(when), .. }) => Reply::Int((*when - now_ms).max(0)),
        }
    }

    fn incr_by(&mut self, now_ms: i64, key: &str, delta: i64) -> Reply {
        let current = match self.string(now_ms, key) {
            Ok(None) => 0,
            Ok(Some(s)) => match number::parse_i64(s) {
                Some(v) => v,
                None => return Reply::err(errors::NOT_AN_INTEGER),
            },
            Err(e) => return e,
        };
        let Some(next) = current.checked_add(delta) else {
            return Reply::err(errors::OVERFLOW);
        };
        match self.string(now_ms, key) {
            Ok(Some(s)) => *s = next.to_string(),
            _ => {
                let entry = Entry { value: Value::String(next.to_string()), expires_at_ms: None };
                self.entries.insert(key.to_owned(), entry);
            }
        }
        Reply::Int(next)
    }

    /// The value of type `T` under `key`, picked out by `pick`: `Ok(None)` when missing (after
    /// creating it with `create`, if given), `Err(WRONGTYPE)` when the key holds another type.
    fn typed<T>(
        &mut self,
        now_ms: i64,
        key: &str,
        create: Option<fn() -> Value>,
        pick: fn(&mut Value) -> Option<&mut T>,
    ) -> Result<Option<&mut T>, Reply> {
        if let Some(make) = create
            && self.live(now_ms, key).is_none()
        {
            let entry = Entry { value: make(), expires_at_ms: None };
            self.entries.insert(key.to_owned(), entry);
        }
        match self.live(now_ms, key) {
            None => Ok(None),
            Some(entry) => pick(&mut entry.value).map(Some).ok_or_else(|| Reply::err(errors::WRONGTYPE)),
        }
    }

    /// The hash under `key`, created empty when missing if `create` is set.
    fn hash(&mut self, now_ms: i64, key: &str, create: bool) -> Result<Option<&mut BTreeMap<String, String>>, Reply> {
        let make: fn() -> Value = || Value::Hash(BTreeMap::new());
        self.typed(now_ms, key, create.then_some(make), |v| match v {
            Value::Hash(h) => Some(h),
            _ => None,
        })
    }

    fn hset(&mut self, now_ms: i64, key: &str, fields: &[(String, String)]) -> Reply {
        if fields.is_empty() {
            return Reply::err(&errors::arity("hset"));
        }
        match self.hash(now_ms, key, true) {
            Ok(Some(h)) => {
                let added = fields.iter().filter(|(f, v)| h.insert(f.clone(), v.clone()).is_none()).count();
                Reply::Int(count(added))
            }
            Ok(None) => Reply::Int(0),
            Err(e) => e,
        }
    }

    fn hsetnx(&mut self, now_ms: i64, key: &str, field: &str, value: &str) -> Reply {
        match self.hash(now_ms, key, true) {
            Ok(Some(h)) if h.contains_key(field) => Reply::Int(0),
            Ok(Some(h)) => {
                h.insert(field.to_owned(), value.to_owned());
                Reply::Int(1)
            }
            Ok(None) => Reply::Int(0),
            Err(e) => e,
        }
    }

    fn hget(&mut self, now_ms: i64, key: &str, field: &str) -> Reply {
        match self.hash(now_ms, key, false) {
            Ok(h) => h.and_then(|h| h.get(field)).map_or(Reply::Nil, |v| Reply::Bulk(v.clone())),
            Err(e) => e,
        }
    }

    fn hdel(&mut self, now_ms: i64, key: &str, fields: &[String]) -> Reply {
        if fields.is_empty() {
            return Reply::err(&errors::arity("hdel"));
        }
        let (removed, now_empty) = match self.hash(now_ms, key, false) {
            Ok(Some(h)) => (fields.iter().filter(|f| h.remove(*f).is_some()).count(), h.is_empty()),
            Ok(None) => (0, false),
            Err(e) => return e,
        };
        if now_empty {
            self.entries.remove(key);
        }
        Reply::Int(count(removed))
    }

    /// Field/value pairs in field order (Redis's order depends on its encoding; callers that
    /// compare with a real server compare pairs as sets).
    fn hgetall(&mut self, now_ms: i64, key: &str) -> Reply {
        match self.hash(now_ms, key, false) {
            Ok(h) => Reply::Array(
                h.into_iter()
                    .flat_map(|h| h.iter())
                    .flat_map(|(f, v)| [Reply::Bulk(f.clone()), Reply::Bulk(v.clone())])
                    .collect(),
            ),
            Err(e) => e,
        }
    }

    fn hincr_by(&mut self, now_ms: i64, key: &str, field: &str, delta: i64) -> Reply {
        let h = match self.hash(now_ms, key, true) {
            Ok(Some(h)) => h,
            Ok(None) => return Reply::Int(0),
            Err(e) => return e,
        };
        let current = match h.get(field).map(|v| number::parse_i64(v)) {
            None => 0,
            Some(Some(v)) => v,
            Some(None) => return Reply::err(errors::HASH_NOT_AN_INTEGER),
        };
        match current.checked_add(delta) {
            Some(next) => {
                h.insert(field.to_owned(), next.to_string());
                Reply::Int(next)
            }
            None => Reply::err(errors::OVERFLOW),
        }
    }

    /// The sorted set under `key`, created empty when missing if `create` is set.
    fn zset(&mut self, now_ms: i64, key: &str, create: bool) -> Result<Option<&mut ZSet>, Reply> {
        let make: fn() -> Value = || Value::Zset(ZSet::default());
        self.typed(now_ms, key, create.then_some(make), |v| match v {
            Value::Zset(z) => Some(z),
            _ => None,
        })
    }

    fn zadd(&mut self, now_ms: i64, key: &str, members: &[(f64, String)]) -> Reply {
        if members.is_empty() {
            return Reply::err(&errors::arity("zadd"));
        }
        if members.iter().any(|(score, _)| score.is_nan()) {
            return Reply::err(errors::NOT_A_FLOAT);
        }
        if let Err(e) = self.zset(now_ms, key, false) {
            return e;
        }
        match self.zset(now_ms, key, true) {
            Ok(Some(z)) => Reply::Int(count(members.iter().filter(|(s, m)| z.insert(m, *s)).count())),
            Ok(None) => Reply::Int(0),
            Err(e) => e,
        }
    }

    fn zrange_by_score(
        &mut self,
        now_ms: i64,
        key: &str,
        min: ScoreBound,
        max: ScoreBound,
        with_scores: bool,
        limit: Option<(i64, i64)>,
    ) -> Reply {
        if [min, max].iter().any(|b| matches!(b, ScoreBound::Inclusive(v) | ScoreBound::Exclusive(v) if v.is_nan())) {
            return Reply::err(errors::MIN_MAX_NOT_FLOAT);
        }
        let z = match self.zset(now_ms, key, false) {
            Ok(Some(z)) => z,
            Ok(None) => return Reply::Array(Vec::new()),
            Err(e) => return e,
        };
        let (offset, count) = limit.unwrap_or((0, -1));
        if offset < 0 {
            return Reply::Array(Vec::new());
        }
        let in_range = z.order.iter().filter(|(s, _)| above(s.0, min) && below(s.0, max));
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(count).unwrap_or(usize::MAX); // negative count: no limit
        let mut out = Vec::new();
        for (score, member) in in_range.skip(skip).take(take) {
            out.push(Reply::Bulk(member.clone()));
            if with_scores {
                out.push(Reply::Bulk(number::format_score(score.0)));
            }
        }
        Reply::Array(out)
    }

    fn zrem(&mut self, now_ms: i64, key: &str, members: &[String]) -> Reply {
        if members.is_empty() {
            return Reply::err(&errors::arity("zrem"));
        }
        let (removed, now_empty) = match self.zset(now_ms, key, false) {
            Ok(Some(z)) => (members.iter().filter(|m| z.remove(m)).count(), z.scores.is_empty()),
            Ok(None) => (0, false),
            Err(e) => return e,
        };
        if now_empty {
            self.entries.remove(key);
        }
        Reply::Int(count(removed))
    }

    /// What the page shows: up to `keys_max` live keys with their type, value and expiry.
    pub fn to_json(&self, now_ms: i64, keys_max: usize) -> serde_json::Value {
        let live: Vec<_> = self.entries.iter().filter(|(_, e)| !is_expired(e, now_ms)).collect();
        let keys: serde_json::Map<String, serde_json::Value> = live
            .iter()
            .take(keys_max)
            .map(|(k, e)| ((*k).clone(), serde_json::to_value(e).unwrap_or(serde_json::Value::Null)))
            .collect();
        serde_json::json!({ "keys": keys, "key_count": live.len() })
    }
}

fn is_expired(entry: &Entry, now_ms: i64) -> bool {
    entry.expires_at_ms.is_some_and(|when| now_ms > when)
}

/// The absolute expiry of `SET ... EX|PX`, rejecting what Redis rejects.
fn expiry_deadline(now_ms: i64, expiry: SetExpiry) -> Result<i64, Reply> {
    let invalid = || Reply::err(&errors::invalid_expire("set"));
    let ms = match expiry {
        SetExpiry::Ex(secs) => secs.checked_mul(1_000).ok_or_else(invalid)?,
        SetExpiry::Px(ms) => ms,
    };
    if ms <= 0 {
        return Err(invalid());
    }
    ms.checked_add(now_ms).ok_or_else(invalid)
}

/// `-inf` and `+inf` bounds are inclusive infinities, as Redis parses them: a member scored
/// `-inf` lies in `[-inf, -inf]`.
fn above(score: f64, min: ScoreBound) -> bool {
    match min {
        ScoreBound::NegInf => true,
        ScoreBound::PosInf => score >= f64::INFINITY,
        ScoreBound::Inclusive(v) => score >= v,
        ScoreBound::Exclusive(v) => score > v,
    }
}

fn below(score: f64, max: ScoreBound) -> bool {
    match max {
        ScoreBound::NegInf => score <= f64::NEG_INFINITY,
        ScoreBound::PosInf => true,
        ScoreBound::Inclusive(v) => score <= v,
        ScoreBound::Exclusive(v) => score < v,
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
