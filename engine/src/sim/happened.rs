//! A world's history in trace order, as judges read it: each observation, and each crash (which
//! ends whatever the crashed node believed). Judges that follow a role or a belief through
//! crashes (the election's failovers, the locks' holds) read this instead of walking the trace
//! and the observations side by side themselves.

use super::{Observed, Sim, SimTime};
use crate::actor::{NodeId, Protocol};

/// One thing that happened, in trace order.
#[derive(Debug)]
pub enum Happened<'a, O> {
    Observed(&'a Observed<O>),
    Crashed { node: NodeId, time: SimTime },
}

impl<P: Protocol> Sim<P> {
    /// Every observation and every crash, in the order the trace recorded them.
    pub fn observations_and_crashes(&self) -> impl Iterator<Item = Happened<'_, P::Obs>> {
        let observations = self.observations();
        let mut crashes = self.crash_marks().iter().peekable();
        let mut next = 0;
        std::iter::from_fn(move || {
            if let Some(c) = crashes.next_if(|c| c.observations_before <= next) {
                return Some(Happened::Crashed { node: c.node, time: c.time });
            }
            let o = observations.get(next)?;
            next += 1;
            Some(Happened::Observed(o))
        })
    }
}
