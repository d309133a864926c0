//! Coordination (46.1.2, 46.7.1, exercise 1): distributed locks over a Redis-like store, and the
//! resource they are meant to protect.
//!
//! A lock with a lease is only a promise about the *store's* view of time: a client that pauses
//! (a GC pause, a swapped-out VM) past its lease still believes it holds the lock when it wakes,
//! while the store has already given it to someone else (Martin Kleppmann, "How to do distributed
//! locking", 2016). No client-side check can close that gap, because the pause can fall between
//! the check and the write. What closes it is a *fencing token*: a number that grows with every
//! grant, sent with every write, and checked by the resource, which refuses a write carrying a
//! token lower than one it has already seen.
//!
//! What the chapter gets wrong: its `DistributedLock` grants every request (its `_try_acquire`
//! returns `True`), and its `RedisDistributedLock` has neither fencing nor renewal, so a pause past
//! the lease makes two holders. [`lock::LockClient`] does `SET NX PX` (or the atomic
//! `acquire_fenced` script), releases with compare-and-delete, renews with compare-and-pexpire
//! from a watchdog, and can send fencing tokens to [`resource::ProtectedResource`].

pub mod detector;
pub mod election;
pub mod lock;
pub mod resource;
pub mod zk;

use serde::{Deserialize, Serialize};

use crate::NodeId;
use crate::actor::Protocol;
use crate::store::{CarriesStore, StoreMsg};

/// The lock world's protocol: store traffic, and writes to the protected resource.
#[derive(Debug)]
pub struct LockProtocol;

impl Protocol for LockProtocol {
    type Msg = LockMsg;
    type Obs = LockObs;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LockMsg {
    Store {
        msg: StoreMsg,
    },
    /// A write to the protected resource, made while the sender believed it held the lock.
    Write {
        grant: u64,
        token: Option<u64>,
        seq: u32,
    },
    /// Traffic with the ZooKeeper-style coordination service.
    Zk {
        msg: zk::ZkMsg,
    },
}

impl From<StoreMsg> for LockMsg {
    fn from(msg: StoreMsg) -> Self {
        LockMsg::Store { msg }
    }
}

impl CarriesStore for LockMsg {
    fn as_store(&self) -> Option<&StoreMsg> {
        match self {
            LockMsg::Store { msg } => Some(msg),
            LockMsg::Write { .. } | LockMsg::Zk { .. } => None,
        }
    }
}

/// What clients and the resource report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LockObs {
    /// The client holds the lock (its `grant`-th acquisition), with a token when fencing, after
    /// waiting `waited_us` (on its own clock) since its first attempt; `shared` for a read lock.
    Acquired {
        grant: u64,
        token: Option<u64>,
        waited_us: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        shared: bool,
    },
    /// A holder took its own lock again (a reentrant acquisition); the store counts `holds`.
    Reentered { grant: u64, holds: i64 },
    /// A reentrant holder released once and still holds the lock `holds` times.
    StillHeld { grant: u64, holds: i64 },
    /// The client stopped using the lock and sent its release.
    Unlocking { grant: u64 },
    /// The store answered the release; `deleted` is false when the lock had already expired or
    /// changed hands.
    Released { grant: u64, deleted: bool },
    /// A renewal found the lock no longer ours, or no renewal was answered before the lease ran
    /// out: the holder must stop (Redisson's event).
    RenewalFailed { grant: u64 },
    /// The client noticed, on its own clock, that its lease ran out before its work was done.
    LeaseExpired { grant: u64 },
    /// The client waited `wait` without getting the lock.
    GaveUp,
    /// The resource accepted a write.
    WriteAccepted { client: NodeId, grant: u64, token: Option<u64> },
    /// The resource refused a write whose token is below the highest it has seen.
    WriteRejected { client: NodeId, grant: u64, token: Option<u64>, highest: u64 },
}
