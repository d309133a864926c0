//! The slow database behind the cache (46.3): rows with versions, each request answered after a
//! random latency. A read is executed when it arrives and answered later, so a slow read can
//! return a row that a write has replaced in the meantime: the seed of cache-aside's stale fill.

use std::collections::BTreeMap;

use super::world::{CacheMsg, CacheObs, CacheProtocol, Row};
use crate::actor::{Actor, Ctx, NodeId, Timer, TimerId};
use crate::sim::SimDuration;

#[derive(Clone, Debug)]
pub struct Database {
    rows: BTreeMap<u64, Row>,
    latency_min_us: u64,
    latency_max_us: u64,
    /// Answers waiting for their latency to pass, by timer.
    pending: BTreeMap<u64, (NodeId, CacheMsg)>,
    next_timer: u64,
    loads: u64,
    commits: u64,
}

/// The database's one kind of timer: the answer of that number in `pending` is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerTimer(u64);

impl Timer for AnswerTimer {
    fn id(self) -> TimerId {
        TimerId(self.0)
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(AnswerTimer(id.0))
    }
}

impl Database {
    /// Rows `0..keys` at version 1, unless a previous incarnation left its rows (`durable`).
    pub fn new(keys: u64, latency_min_us: u64, latency_max_us: u64, durable: Option<BTreeMap<u64, Row>>) -> Self {
        let rows = durable.unwrap_or_else(|| (0..keys).map(|k| (k, Row { version: 1, write: 0 })).collect());
        Database { rows, latency_min_us, latency_max_us, pending: BTreeMap::new(), next_timer: 0, loads: 0, commits: 0 }
    }

    pub fn row(&self, key: u64) -> Option<Row> {
        self.rows.get(&key).copied()
    }

    /// Answers go out after the database's latency: timer n sends the `pending` answer n.
    fn answer_later(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, to: NodeId, msg: CacheMsg) {
        let delay = ctx.rng().between(self.latency_min_us, self.latency_max_us);
        self.next_timer += 1;
        self.pending.insert(self.next_timer, (to, msg));
        ctx.set_timer(AnswerTimer(self.next_timer), SimDuration::from_micros(delay));
    }
}

impl Actor<CacheProtocol> for Database {
    type Durable = BTreeMap<u64, Row>;
    type Timer = AnswerTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, CacheProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, from: NodeId, msg: CacheMsg) {
        let answer = match msg {
            CacheMsg::DbGet { req, key } => {
                let row = self.row(key);
                self.loads += 1;
                ctx.observe(CacheObs::DbLoad { key, found: row.is_some() });
                CacheMsg::DbRow { req, key, row }
            }
            CacheMsg::DbScan { req } => {
                let rows: Vec<(u64, Row)> = self.rows.iter().map(|(&k, &r)| (k, r)).collect();
                ctx.observe(CacheObs::DbScan { rows: rows.len() as u64 });
                CacheMsg::DbRows { req, rows }
            }
            CacheMsg::DbPut { req, rows } => {
                let mut versions = Vec::with_capacity(rows.len());
                for (key, write) in rows {
                    let version = self.rows.get(&key).map_or(1, |r| r.version + 1);
                    self.rows.insert(key, Row { version, write });
                    self.commits += 1;
                    ctx.observe(CacheObs::DbCommit { key, version, write });
                    versions.push((key, version));
                }
                CacheMsg::DbAck { req, versions }
            }
            _ => return,
        };
        self.answer_later(ctx, from, answer);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CacheProtocol>, AnswerTimer(n): AnswerTimer) {
        if let Some((to, msg)) = self.pending.remove(&n) {
            ctx.send(to, msg);
        }
    }

    fn durable(&self) -> BTreeMap<u64, Row> {
        self.rows.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "rows": self.rows.len(),
            "loads": self.loads,
            "commits": self.commits,
            "answers_pending": self.pending.len(),
        })
    }
}
