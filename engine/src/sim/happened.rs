//! A world's history in trace order, as judges read it: each observation, and each crash (which
//! ends whatever the crashed node believed). Judges that follow a role or a belief through
//! crashes (the election's failovers, the locks' holds) read this instead of walking the trace
//! and the observations side by side themselves.

use super::{Fault, Observed, Sim, SimTime, TraceKind};
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
        let mut observations = self.observations().iter();
        self.trace().records().iter().filter_map(move |record| match &record.kind {
            TraceKind::Observe { .. } => observations.next().map(Happened::Observed),
            TraceKind::Fault { fault: Fault::Crash { node } } => {
                self.node_id(node).map(|node| Happened::Crashed { node, time: record.time })
            }
            _ => None,
        })
    }
}
