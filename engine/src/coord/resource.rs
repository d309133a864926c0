//! The protected resource: a storage service that the lock is supposed to protect. With fencing
//! it remembers the highest token it has seen (durably) and refuses writes below it.

use serde::{Deserialize, Serialize};

use super::{LockMsg, LockObs, LockProtocol};
use crate::actor::{Actor, Ctx, NoTimer, NodeId};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResource {
    fencing: bool,
    highest: Option<u64>,
    accepted: u64,
    rejected: u64,
}

impl ProtectedResource {
    /// `highest` is what survived a crash (the resource persists it with its data).
    pub fn new(fencing: bool, highest: Option<Option<u64>>) -> Self {
        ProtectedResource { fencing, highest: highest.flatten(), accepted: 0, rejected: 0 }
    }
}

impl Actor<LockProtocol> for ProtectedResource {
    type Durable = Option<u64>;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, LockProtocol>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, LockProtocol>, from: NodeId, msg: LockMsg) {
        let LockMsg::Write { grant, token, .. } = msg else { return };
        if self.fencing
            && let Some(highest) = self.highest
            && token.unwrap_or(0) < highest
        {
            self.rejected += 1;
            ctx.observe(LockObs::WriteRejected { client: from, grant, token, highest });
            return;
        }
        if let Some(t) = token {
            self.highest = Some(self.highest.map_or(t, |h| h.max(t)));
        }
        self.accepted += 1;
        ctx.observe(LockObs::WriteAccepted { client: from, grant, token });
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, LockProtocol>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> Option<u64> {
        self.highest
    }

    fn public_state(&self) -> serde_json::Value {
        serde_json::json!({
            "fencing": self.fencing,
            "highest_token": self.highest,
            "accepted": self.accepted,
            "rejected": self.rejected,
        })
    }
}
