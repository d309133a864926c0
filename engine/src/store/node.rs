//! The `StoreNode` actor: a Redis-like server inside the simulation. It answers every
//! [`StoreMsg::Request`] with a [`StoreMsg::Reply`] computed on its own clock, so a store whose
//! clock is skewed expires keys early or late exactly as a real Redis on that host would.

use serde::{Deserialize, Serialize};

use super::cmd::{Cmd, Reply};
use super::keyspace::Keyspace;
use crate::actor::{Actor, Ctx, NoTimer, NodeId, Protocol};

/// A request to a store or its answer. `req` is chosen by the client to match answers to
/// requests; the store echoes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum StoreMsg {
    Request { req: u64, cmd: Cmd },
    Reply { req: u64, reply: Reply },
}

/// A protocol message that can carry store traffic. Every world that contains a [`StoreNode`]
/// wraps [`StoreMsg`] in its own message type and implements this.
pub trait CarriesStore: From<StoreMsg> {
    fn as_store(&self) -> Option<&StoreMsg>;
}

/// A world whose only traffic is store traffic speaks `StoreMsg` itself.
impl CarriesStore for StoreMsg {
    fn as_store(&self) -> Option<&StoreMsg> {
        Some(self)
    }
}

/// What the real-time driver asks of any world's messages: the store request a message is, if
/// any, and a store's reply as one of the world's messages, if the world can carry one. Every
/// [`CarriesStore`] world has it; a world without a store (the load balancer's, whose backends
/// are HTTP servers natively) says it has none, and the driver runs it all the same.
pub trait StoreTraffic: Sized {
    fn store_request(&self) -> Option<&StoreMsg>;
    fn store_reply(msg: StoreMsg) -> Option<Self>;
}

impl<T: CarriesStore> StoreTraffic for T {
    fn store_request(&self) -> Option<&StoreMsg> {
        self.as_store()
    }
    fn store_reply(msg: StoreMsg) -> Option<Self> {
        Some(msg.into())
    }
}

impl StoreTraffic for crate::balance::LbMsg {
    fn store_request(&self) -> Option<&StoreMsg> {
        None
    }
    fn store_reply(_: StoreMsg) -> Option<Self> {
        None
    }
}

/// How a store keeps its data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// With persistence (like `appendfsync always`) the keyspace survives a crash; without it
    /// (Redis's default for a cache) a crash empties the store.
    pub persistent: bool,
}

/// Keys listed in the page's view of a store; the count of all keys is always given.
const KEYS_SHOWN_MAX: usize = 100;

/// A Redis-like server.
#[derive(Clone, Debug)]
pub struct StoreNode {
    config: StoreConfig,
    keyspace: Keyspace,
    /// The store's clock at its last command, for the page's view of which keys are live.
    last_now_ms: i64,
    commands: u64,
}

impl StoreNode {
    /// A store rebuilt from what survived a crash (`None` on first start).
    pub fn new(config: StoreConfig, durable: Option<Option<Keyspace>>) -> Self {
        StoreNode { config, keyspace: durable.flatten().unwrap_or_default(), last_now_ms: 0, commands: 0 }
    }

    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// Commands served since this incarnation started.
    pub fn commands(&self) -> u64 {
        self.commands
    }
}

impl<P: Protocol> Actor<P> for StoreNode
where
    P::Msg: CarriesStore,
{
    type Durable = Option<Keyspace>;
    type Timer = NoTimer;

    fn on_start(&mut self, _ctx: &mut Ctx<'_, P>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg) {
        let Some(StoreMsg::Request { req, cmd }) = msg.as_store() else {
            return; // a store only serves requests
        };
        let now_ms = i64::try_from(ctx.now().as_millis()).unwrap_or(i64::MAX);
        self.last_now_ms = now_ms;
        self.commands += 1;
        let reply = self.keyspace.apply(now_ms, cmd);
        ctx.send(from, StoreMsg::Reply { req: *req, reply }.into());
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, P>, timer: NoTimer) {
        match timer {}
    }

    fn durable(&self) -> Option<Keyspace> {
        self.config.persistent.then(|| self.keyspace.clone())
    }

    fn public_state(&self) -> serde_json::Value {
        let mut state = self.keyspace.to_json(self.last_now_ms, KEYS_SHOWN_MAX);
        state["commands"] = self.commands.into();
        state["persistent"] = self.config.persistent.into();
        state
    }
}
