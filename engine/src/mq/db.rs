//! The consumers' database (46.2): where a message's effect lands, and where deduplication has
//! to live to be worth anything.
//!
//! At-least-once delivery means a message can arrive twice: its ack was lost, its consumer
//! crashed after the write, or it was paused past its visibility timeout while another consumer
//! took it over. The chapter's consumers apply it twice. An idempotent consumer records the ids it
//! has applied *in the same write as the effect* (one transaction), so the check and the effect
//! cannot be separated by a crash: the second delivery finds its id and is skipped. A dedup table
//! kept anywhere else (in the consumer's memory, in a separate store) can be out of step with the
//! effects exactly when it matters.

use std::collections::BTreeMap;

use super::{MqMsg, MqObs, MqProtocol};
use crate::actor::{Actor, Ctx, NoTimer, NodeId};

/// How many times each (queue, message) effect was applied.
pub type Applied = BTreeMap<(String, u64), u32>;

#[derive(Clone, Debug, Default)]
pub struct Db {
    applied: Applied,
}

impl Db {
    pub fn new(durable: Option<Applied>) -> Self {
        Db { applied: durable.unwrap_or_default() }
    }

    pub fn applied(&self) -> &Applied {
        &self.applied
    }
}

impl Actor<MqProtocol> for Db {
    type Durable = Applied;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, MqProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, MqProtocol>, from: NodeId, msg: MqMsg) {
        let MqMsg::Write { queue, id, attempt, dedup } = msg else { return };
        let times = self.applied.entry((queue.clone(), id)).or_default();
        if dedup && *times > 0 {
            ctx.observe(MqObs::Skipped { queue: queue.clone(), id });
        } else {
            *times += 1;
            ctx.observe(MqObs::Applied { queue: queue.clone(), id, again: *times > 1 });
        }
        ctx.send(from, MqMsg::Written { queue, id, attempt });
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, MqProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> Applied {
        self.applied.clone()
    }

    fn public_state(&self) -> serde_json::Value {
        let twice = self.applied.values().filter(|n| **n > 1).count();
        serde_json::json!({ "applied": self.applied.len(), "applied_twice": twice })
    }
}
