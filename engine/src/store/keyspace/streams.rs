//! Streams and consumer groups, as Redis 7.0's `t_stream.c` implements them: what the native
//! message queue of 46.2 runs on (a group's pending entries list is the in-flight state that
//! a crashed consumer's messages wait in, `XAUTOCLAIM`'s min-idle-time is the visibility timeout,
//! the delivery count decides when a message is dead).
//!
//! Each command checks its arguments, the key's type and the group in the order Redis does, so
//! that a command with several things wrong fails with Redis's error. Unlike hashes and sorted
//! sets, an emptied stream stays (with its last id, its groups and their pending entries), as
//! in Redis. Entries live in one ordered map: Redis's radix tree of listpacks is a memory
//! layout, which no reply shows (`MAXLEN ~`, which trims whole listpacks, is left out for that
//! reason).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Keyspace, Value, count};
use crate::store::cmd::{Reply, XPendingRange};
use crate::store::errors;
use crate::store::stream_id::{self, IdForm, StreamId};

/// `XAUTOCLAIM` examines at most this many entries per entry it may claim.
const XAUTOCLAIM_ATTEMPTS_FACTOR: i64 = 10;
/// `XAUTOCLAIM`'s `COUNT` when none is given.
const XAUTOCLAIM_COUNT_DEFAULT: i64 = 100;
/// The largest `XAUTOCLAIM` `COUNT` Redis accepts: `LONG_MAX / max(sizeof(streamID), 10)`.
const XAUTOCLAIM_COUNT_MAX: i64 = i64::MAX / 16;

/// Entries by id, each its field/value pairs in the order given (names may repeat, as in Redis).
type Entries = BTreeMap<StreamId, Vec<(String, String)>>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Stream {
    entries: Entries,
    /// The largest id ever added; deleting entries does not lower it.
    last_id: StreamId,
    groups: BTreeMap<String, Group>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Group {
    /// The last id delivered with `>`.
    last_id: StreamId,
    /// The pending entries list: delivered, not yet acknowledged.
    pending: BTreeMap<StreamId, Pending>,
    /// Consumers exist apart from their pending entries (`XGROUP CREATECONSUMER` tells).
    consumers: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pending {
    consumer: String,
    /// The store's clock when last delivered (or claimed).
    delivered_at_ms: i64,
    deliveries: u64,
}

impl Stream {
    /// Deletes the oldest entries beyond `maxlen`; how many.
    fn trim(&mut self, maxlen: i64) -> usize {
        let keep = usize::try_from(maxlen).unwrap_or(usize::MAX);
        let excess = self.entries.len().saturating_sub(keep);
        for _ in 0..excess {
            self.entries.pop_first();
        }
        excess
    }

    /// The group `name` and the entries, borrowed together.
    fn group(&mut self, name: &str) -> Option<(&mut Group, &Entries)> {
        let Stream { entries, groups, .. } = self;
        groups.get_mut(name).map(|g| (g, &*entries))
    }
}

impl Group {
    fn new(last_id: StreamId) -> Group {
        Group { last_id, pending: BTreeMap::new(), consumers: BTreeSet::new() }
    }

    /// Gives the pending entry `id` to `consumer`, delivered now, as `XCLAIM` and `XAUTOCLAIM`
    /// do: the delivery count goes up unless `JUSTID`.
    fn claim(&mut self, id: StreamId, consumer: &str, now_ms: i64, just_id: bool) {
        self.consumers.insert(consumer.to_owned());
        if let Some(p) = self.pending.get_mut(&id) {
            p.consumer = consumer.to_owned();
            p.delivered_at_ms = now_ms;
            if !just_id {
                p.deliveries += 1;
            }
        }
    }

    /// How long ago `id` was last delivered; `None` when it is not pending.
    fn idle_ms(&self, id: StreamId, now_ms: i64) -> Option<i64> {
        self.pending.get(&id).map(|p| now_ms.saturating_sub(p.delivered_at_ms))
    }
}

/// `[id, [field, value, ...]]`, or `[id, nil]` for an entry deleted since it was delivered.
fn entry_reply(entries: &Entries, id: StreamId) -> Reply {
    let fields = entries.get(&id).map_or(Reply::Nil, |fields| {
        Reply::Array(fields.iter().flat_map(|(f, v)| [Reply::Bulk(f.clone()), Reply::Bulk(v.clone())]).collect())
    });
    Reply::Array(vec![id_reply(id), fields])
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_string())
}

/// Parses every id strictly, all before any is used, as Redis does to act "all or nothing".
fn parse_all(ids: &[String]) -> Result<Vec<StreamId>, Reply> {
    ids.iter().map(|id| stream_id::parse(id, 0, IdForm::Strict)).collect()
}

fn stream_value() -> Value {
    Value::Stream(Stream::default())
}

impl Keyspace {
    /// The stream under `key`, created empty when missing if `create` is set.
    fn stream(&mut self, now_ms: i64, key: &str, create: bool) -> Result<Option<&mut Stream>, Reply> {
        let make: fn() -> Value = stream_value;
        self.typed(now_ms, key, create.then_some(make), |v| match v {
            Value::Stream(s) => Some(s),
            _ => None,
        })
    }

    /// The group `group` of the stream under `key`, with the stream's entries: `Ok(None)` when
    /// the key or the group is missing.
    fn group(&mut self, now_ms: i64, key: &str, group: &str) -> Result<Option<(&mut Group, &Entries)>, Reply> {
        Ok(self.stream(now_ms, key, false)?.and_then(|s| s.group(group)))
    }

    pub(super) fn xadd(
        &mut self,
        now_ms: i64,
        key: &str,
        no_mkstream: bool,
        maxlen: Option<i64>,
        id: &str,
        fields: &[(String, String)],
    ) -> Reply {
        // Redis's command table wants five arguments at least; the fields are counted again
        // once the options are read.
        let argc = 3 + usize::from(no_mkstream) + 3 * usize::from(maxlen.is_some()) + 2 * fields.len();
        if argc < 5 {
            return Reply::err(&errors::arity("xadd"));
        }
        if maxlen.is_some_and(|n| n < 0) {
            return Reply::err(errors::MAXLEN_NEGATIVE);
        }
        let given = if id == "*" {
            None
        } else {
            match stream_id::parse_for_xadd(id) {
                Ok(given) => Some(given),
                Err(e) => return e,
            }
        };
        if fields.is_empty() {
            return Reply::err(&errors::arity("xadd"));
        }
        if given == Some((StreamId::MIN, true)) {
            return Reply::err(errors::XADD_ID_ZERO);
        }
        let s = match self.stream(now_ms, key, !no_mkstream) {
            Ok(Some(s)) => s,
            Ok(None) => return Reply::Nil,
            Err(e) => return e,
        };
        let new = match next_id(s.last_id, given, now_ms) {
            Ok(id) => id,
            Err(e) => return e,
        };
        s.entries.insert(new, fields.to_vec());
        s.last_id = new;
        if let Some(n) = maxlen {
            s.trim(n);
        }
        id_reply(new)
    }

    pub(super) fn xlen(&mut self, now_ms: i64, key: &str) -> Reply {
        match self.stream(now_ms, key, false) {
            Ok(s) => Reply::Int(count(s.map_or(0, |s| s.entries.len()))),
            Err(e) => e,
        }
    }

    pub(super) fn xrange(&mut self, now_ms: i64, key: &str, start: &str, end: &str, limit: Option<i64>) -> Reply {
        let (start, end) = match interval(start, end) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let s = match self.stream(now_ms, key, false) {
            Ok(Some(s)) => s,
            Ok(None) => return Reply::Array(Vec::new()),
            Err(e) => return e,
        };
        let take = match limit {
            Some(n) if n <= 0 => return Reply::Nil, // COUNT 0, or negative (read as 0): a null array
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        if start > end {
            return Reply::Array(Vec::new());
        }
        Reply::Array(s.entries.range(start..=end).take(take).map(|(id, _)| entry_reply(&s.entries, *id)).collect())
    }

    pub(super) fn xdel(&mut self, now_ms: i64, key: &str, ids: &[String]) -> Reply {
        if ids.is_empty() {
            return Reply::err(&errors::arity("xdel"));
        }
        let s = match self.stream(now_ms, key, false) {
            Ok(Some(s)) => s,
            Ok(None) => return Reply::Int(0),
            Err(e) => return e,
        };
        match parse_all(ids) {
            Ok(ids) => Reply::Int(count(ids.iter().filter(|id| s.entries.remove(id).is_some()).count())),
            Err(e) => e,
        }
    }

    pub(super) fn xtrim(&mut self, now_ms: i64, key: &str, maxlen: i64) -> Reply {
        if maxlen < 0 {
            return Reply::err(errors::MAXLEN_NEGATIVE);
        }
        match self.stream(now_ms, key, false) {
            Ok(Some(s)) => Reply::Int(count(s.trim(maxlen))),
            Ok(None) => Reply::Int(0),
            Err(e) => e,
        }
    }

    /// `XGROUP CREATE`: `$` is the stream's last id (0-0 for a stream `MKSTREAM` creates). The
    /// key's existence is checked before the id, and the stream made only once both are fine.
    pub(super) fn xgroup_create(&mut self, now_ms: i64, key: &str, group: &str, id: &str, mkstream: bool) -> Reply {
        match self.stream(now_ms, key, false) {
            Ok(None) if !mkstream => return Reply::err(errors::XGROUP_KEY_MISSING),
            Ok(_) => {}
            Err(e) => return e,
        }
        let start = match id {
            "$" => None,
            id => match stream_id::parse(id, 0, IdForm::Strict) {
                Ok(id) => Some(id),
                Err(e) => return e,
            },
        };
        match self.stream(now_ms, key, true) {
            Ok(Some(s)) if s.groups.contains_key(group) => Reply::err(errors::BUSYGROUP),
            Ok(Some(s)) => {
                s.groups.insert(group.to_owned(), Group::new(start.unwrap_or(s.last_id)));
                Reply::ok()
            }
            Ok(None) => Reply::err(errors::XGROUP_KEY_MISSING),
            Err(e) => e,
        }
    }

    /// The stream that an `XGROUP` subcommand other than `CREATE` works on, which must exist.
    fn xgroup_stream(&mut self, now_ms: i64, key: &str) -> Result<&mut Stream, Reply> {
        self.stream(now_ms, key, false)?.ok_or_else(|| Reply::err(errors::XGROUP_KEY_MISSING))
    }

    pub(super) fn xgroup_destroy(&mut self, now_ms: i64, key: &str, group: &str) -> Reply {
        match self.xgroup_stream(now_ms, key) {
            Ok(s) => Reply::Int(i64::from(s.groups.remove(group).is_some())),
            Err(e) => e,
        }
    }

    /// `XGROUP CREATECONSUMER` (`delete` unset): 1 if created; `DELCONSUMER` (`delete` set): the
    /// pending entries the consumer had, which leave the group with it.
    pub(super) fn xgroup_consumer(
        &mut self,
        now_ms: i64,
        key: &str,
        group: &str,
        consumer: &str,
        delete: bool,
    ) -> Reply {
        let g = match self.xgroup_stream(now_ms, key) {
            Ok(s) => match s.groups.get_mut(group) {
                Some(g) => g,
                None => return Reply::Error(errors::nogroup_xgroup(group, key)),
            },
            Err(e) => return e,
        };
        if !delete {
            return Reply::Int(i64::from(g.consumers.insert(consumer.to_owned())));
        }
        if !g.consumers.remove(consumer) {
            return Reply::Int(0);
        }
        let before = g.pending.len();
        g.pending.retain(|_, p| p.consumer != consumer);
        Reply::Int(count(before - g.pending.len()))
    }

    /// `XREADGROUP`: every stream's key, group and id checked first, in argument order; then each
    /// stream served in turn. `BLOCK` never blocks here (see [`Cmd::XReadGroup`]).
    ///
    /// [`Cmd::XReadGroup`]: crate::store::Cmd::XReadGroup
    pub(super) fn xreadgroup(
        &mut self,
        now_ms: i64,
        group: &str,
        consumer: &str,
        limit: Option<i64>,
        block_ms: Option<i64>,
        streams: &[(String, String)],
    ) -> Reply {
        let argc = 5 + 2 * (usize::from(limit.is_some()) + usize::from(block_ms.is_some()) + streams.len());
        if argc < 7 {
            return Reply::err(&errors::arity("xreadgroup"));
        }
        if block_ms.is_some_and(|ms| ms < 0) {
            return Reply::err(errors::TIMEOUT_NEGATIVE);
        }
        if streams.is_empty() {
            return Reply::err(errors::SYNTAX);
        }
        let mut after = Vec::with_capacity(streams.len());
        for (key, id) in streams {
            match self.group(now_ms, key, group) {
                Ok(Some(_)) => {}
                Ok(None) => return Reply::Error(errors::nogroup_readgroup(key, group)),
                Err(e) => return e,
            }
            after.push(match id.as_str() {
                "$" => return Reply::err(errors::XREADGROUP_DOLLAR),
                ">" => StreamId::MAX,
                id => match stream_id::parse(id, 0, IdForm::Strict) {
                    Ok(id) => id,
                    Err(e) => return e,
                },
            });
        }
        // COUNT 0 and negative counts mean no limit.
        let take = limit.filter(|n| *n > 0).map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut served = Vec::new();
        for ((key, _), after) in streams.iter().zip(after) {
            let Ok(Some((g, entries))) = self.group(now_ms, key, group) else { continue };
            // Redis reads the largest id, `>`'s marker, as `>` too.
            let delivered = if after == StreamId::MAX {
                deliver_new(g, entries, consumer, now_ms, take)
            } else {
                Some(deliver_history(g, entries, consumer, after, now_ms, take))
            };
            if let Some(delivered) = delivered {
                served.push(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(delivered)]));
            }
        }
        // Nothing to serve: Redis without BLOCK answers nil, and so does Redis with BLOCK once
        // the timeout passes, which is what the simulated store answers at once.
        if served.is_empty() { Reply::Nil } else { Reply::Array(served) }
    }

    /// `XACK`: a missing key or group acknowledges nothing, before the ids are even read.
    pub(super) fn xack(&mut self, now_ms: i64, key: &str, group: &str, ids: &[String]) -> Reply {
        if ids.is_empty() {
            return Reply::err(&errors::arity("xack"));
        }
        let g = match self.group(now_ms, key, group) {
            Ok(Some((g, _))) => g,
            Ok(None) => return Reply::Int(0),
            Err(e) => return e,
        };
        match parse_all(ids) {
            Ok(ids) => Reply::Int(count(ids.iter().filter(|id| g.pending.remove(id).is_some()).count())),
            Err(e) => e,
        }
    }

    /// `XPENDING`: the range is read before the key is looked up.
    pub(super) fn xpending(&mut self, now_ms: i64, key: &str, group: &str, range: Option<&XPendingRange>) -> Reply {
        let bounds = match range.map(|r| interval(&r.start, &r.end)).transpose() {
            Ok(bounds) => bounds,
            Err(e) => return e,
        };
        let g = match self.group(now_ms, key, group) {
            Ok(Some((g, _))) => g,
            Ok(None) => return Reply::Error(errors::nogroup(key, group)),
            Err(e) => return e,
        };
        match range.zip(bounds) {
            Some((r, (start, end))) => pending_entries(g, r, start, end, now_ms),
            None => pending_summary(g),
        }
    }

    /// `XCLAIM`: claims each pending entry idle for at least `min_idle_ms` (all of them for 0);
    /// a pending entry that was deleted from the stream leaves the pending list, as in Redis 7.
    #[expect(clippy::too_many_arguments, reason = "the command's own arguments")]
    pub(super) fn xclaim(
        &mut self,
        now_ms: i64,
        key: &str,
        group: &str,
        consumer: &str,
        min_idle_ms: i64,
        ids: &[String],
        just_id: bool,
    ) -> Reply {
        if ids.is_empty() && !just_id {
            return Reply::err(&errors::arity("xclaim"));
        }
        let (g, entries) = match self.group(now_ms, key, group) {
            Ok(Some(found)) => found,
            Ok(None) => return Reply::Error(errors::nogroup(key, group)),
            Err(e) => return e,
        };
        // Ids run up to the first argument that is not one; the rest are read as options.
        let parsed: Vec<StreamId> = ids.iter().map_while(|id| stream_id::parse(id, 0, IdForm::Strict).ok()).collect();
        let options = &ids[parsed.len()..];
        if let Some(option) = options.iter().find(|o| !o.eq_ignore_ascii_case("JUSTID")) {
            return Reply::Error(errors::unrecognized_xclaim_option(option));
        }
        let just_id = just_id || !options.is_empty();
        let mut claimed = Vec::new();
        for id in parsed {
            let Some(idle_ms) = g.idle_ms(id, now_ms) else { continue };
            if !entries.contains_key(&id) {
                g.pending.remove(&id);
                continue;
            }
            if min_idle_ms > 0 && idle_ms < min_idle_ms {
                continue;
            }
            g.claim(id, consumer, now_ms, just_id);
            claimed.push(if just_id { id_reply(id) } else { entry_reply(entries, id) });
        }
        Reply::Array(claimed)
    }

    /// `XAUTOCLAIM`: walks the pending entries from `start`, claiming those idle for at least
    /// `min_idle_ms` and dropping those whose entry is gone, until `COUNT` of the two or
    /// `COUNT × 10` entries examined. Answers `[next cursor (0-0 at the end), claimed, deleted]`.
    #[expect(clippy::too_many_arguments, reason = "the command's own arguments")]
    pub(super) fn xautoclaim(
        &mut self,
        now_ms: i64,
        key: &str,
        group: &str,
        consumer: &str,
        min_idle_ms: i64,
        start: &str,
        limit: Option<i64>,
        just_id: bool,
    ) -> Reply {
        let start = match stream_id::interval_start(start) {
            Ok(id) => id,
            Err(e) => return e,
        };
        let limit = limit.unwrap_or(XAUTOCLAIM_COUNT_DEFAULT);
        if !(1..=XAUTOCLAIM_COUNT_MAX).contains(&limit) {
            return Reply::err(errors::XAUTOCLAIM_COUNT);
        }
        let (g, entries) = match self.group(now_ms, key, group) {
            Ok(Some(found)) => found,
            Ok(None) => return Reply::Error(errors::nogroup(key, group)),
            Err(e) => return e,
        };
        let ids: Vec<StreamId> = g.pending.range(start..).map(|(id, _)| *id).collect();
        let (mut attempts, mut left) = (limit.saturating_mul(XAUTOCLAIM_ATTEMPTS_FACTOR), limit);
        let (mut claimed, mut deleted, mut next) = (Vec::new(), Vec::new(), 0);
        while attempts > 0 && left > 0 && next < ids.len() {
            attempts -= 1;
            let id = ids[next];
            next += 1;
            if !entries.contains_key(&id) {
                g.pending.remove(&id);
                deleted.push(id_reply(id));
                left -= 1;
                continue;
            }
            if min_idle_ms > 0 && g.idle_ms(id, now_ms).unwrap_or(0) < min_idle_ms {
                continue;
            }
            g.claim(id, consumer, now_ms, just_id);
            claimed.push(if just_id { id_reply(id) } else { entry_reply(entries, id) });
            left -= 1;
        }
        let cursor = id_reply(ids.get(next).copied().unwrap_or(StreamId::MIN));
        Reply::Array(vec![cursor, Reply::Array(claimed), Reply::Array(deleted)])
    }
}

/// The id `XADD` adds after `last`: the given one, a given millisecond with the next free
/// sequence (`ms-*`), or for `*` the clock's millisecond, never going backwards: a clock that
/// has not passed the last id continues its sequence, as Redis's `streamNextID` does.
fn next_id(last: StreamId, given: Option<(StreamId, bool)>, now_ms: i64) -> Result<StreamId, Reply> {
    if last == StreamId::MAX {
        return Err(Reply::err(errors::STREAM_EXHAUSTED));
    }
    let new = match given {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => match last.next() {
            Some(next) if last.seq != u64::MAX => next,
            _ => return Err(Reply::err(errors::ELEMENTS_TOO_LARGE)),
        },
        Some((id, false)) => id,
        None => match u64::try_from(now_ms).unwrap_or(0) {
            ms if ms > last.ms => StreamId { ms, seq: 0 },
            _ => last.next().unwrap_or(StreamId::MIN),
        },
    };
    if new <= last {
        return Err(Reply::err(errors::XADD_ID_TOO_SMALL));
    }
    Ok(new)
}

/// A range's inclusive ends: `start` is read (and its exclusion applied) before `end`.
fn interval(start: &str, end: &str) -> Result<(StreamId, StreamId), Reply> {
    Ok((stream_id::interval_start(start)?, stream_id::interval_end(end)?))
}

/// `XREADGROUP ... >`: entries after the group's last delivered id, each now pending for
/// `consumer` with one delivery (an entry pending for another consumer moves to this one,
/// counted afresh, as Redis does after `XGROUP SETID`). `None` when there is nothing new.
fn deliver_new(g: &mut Group, entries: &Entries, consumer: &str, now_ms: i64, take: usize) -> Option<Vec<Reply>> {
    let (newest, _) = entries.last_key_value()?;
    if *newest <= g.last_id {
        return None;
    }
    let from = g.last_id.next()?;
    g.consumers.insert(consumer.to_owned());
    let ids: Vec<StreamId> = entries.range(from..).take(take).map(|(id, _)| *id).collect();
    for id in &ids {
        g.last_id = g.last_id.max(*id);
        g.pending.insert(*id, Pending { consumer: consumer.to_owned(), delivered_at_ms: now_ms, deliveries: 1 });
    }
    Some(ids.into_iter().map(|id| entry_reply(entries, id)).collect())
}

/// `XREADGROUP ... id`: the consumer's own pending entries after `after`, each delivered again
/// (its count goes up; a deleted entry answers `[id, nil]` and keeps its count).
fn deliver_history(
    g: &mut Group,
    entries: &Entries,
    consumer: &str,
    after: StreamId,
    now_ms: i64,
    take: usize,
) -> Vec<Reply> {
    g.consumers.insert(consumer.to_owned());
    let from = after.next().unwrap_or(StreamId::MIN);
    let ids: Vec<StreamId> =
        g.pending.range(from..).filter(|(_, p)| p.consumer == consumer).take(take).map(|(id, _)| *id).collect();
    for id in &ids {
        if entries.contains_key(id)
            && let Some(p) = g.pending.get_mut(id)
        {
            p.delivered_at_ms = now_ms;
            p.deliveries += 1;
        }
    }
    ids.into_iter().map(|id| entry_reply(entries, id)).collect()
}

/// `XPENDING key group`: `[count, smallest id, largest id, [[consumer, count as a string], ...]]`,
/// or `[0, nil, nil, nil]` when nothing is pending.
fn pending_summary(g: &Group) -> Reply {
    let (Some((first, _)), Some((last, _))) = (g.pending.first_key_value(), g.pending.last_key_value()) else {
        return Reply::Array(vec![Reply::Int(0), Reply::Nil, Reply::Nil, Reply::Nil]);
    };
    let mut per_consumer: BTreeMap<&str, usize> = BTreeMap::new();
    for p in g.pending.values() {
        *per_consumer.entry(&p.consumer).or_default() += 1;
    }
    let consumers = per_consumer
        .into_iter()
        .map(|(name, n)| Reply::Array(vec![Reply::Bulk(name.to_owned()), Reply::Bulk(n.to_string())]))
        .collect();
    Reply::Array(vec![Reply::Int(count(g.pending.len())), id_reply(*first), id_reply(*last), Reply::Array(consumers)])
}

/// `XPENDING key group [IDLE ms] start end count [consumer]`: `[id, consumer, idle ms,
/// deliveries]` per entry, in id order; nothing for a consumer the group does not know.
fn pending_entries(g: &Group, r: &XPendingRange, start: StreamId, end: StreamId, now_ms: i64) -> Reply {
    if r.consumer.as_ref().is_some_and(|c| !g.consumers.contains(c)) || start > end {
        return Reply::Array(Vec::new());
    }
    let min_idle_ms = r.min_idle_ms.unwrap_or(0);
    let take = usize::try_from(r.count.max(0)).unwrap_or(usize::MAX);
    let rows = g
        .pending
        .range(start..=end)
        .filter(|(_, p)| r.consumer.as_ref().is_none_or(|c| *c == p.consumer))
        .filter(|(_, p)| min_idle_ms == 0 || now_ms.saturating_sub(p.delivered_at_ms) >= min_idle_ms)
        .take(take)
        .map(|(id, p)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(p.consumer.clone()),
                Reply::Int(now_ms.saturating_sub(p.delivered_at_ms).max(0)),
                Reply::Int(i64::try_from(p.deliveries).unwrap_or(i64::MAX)),
            ])
        })
        .collect();
    Reply::Array(rows)
}
