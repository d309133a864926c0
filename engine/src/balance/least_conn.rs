//! Least connections, weighted, as nginx's `least_conn` (46.4.1).
//!
//! The chapter's `LeastConnectionsLoadBalancer` takes `min(servers, key=connections)`, but no
//! code anywhere increments or decrements `connections`: every count stays 0 and it always
//! returns the first healthy server. Here the counts are the balancer's own ([`super::View`]:
//! incremented when it opens a connection, decremented when the connection closes), the least
//! `connections / weight` wins, and ties go round robin so that equal backends share the load
//! instead of the first one taking every tie.

use super::{Algorithm, View};
use crate::sim::Rng;

#[derive(Clone, Debug, Default)]
pub struct LeastConn {
    /// Where the search for a tie-break starts.
    next: usize,
}

impl Algorithm for LeastConn {
    fn pick(&mut self, _key: &str, view: &View, _rng: &mut Rng) -> Option<usize> {
        let n = view.backends.len();
        let mut best: Option<usize> = None;
        for step in 0..n {
            let i = (self.next + step) % n;
            let b = &view.backends[i];
            if !b.up || b.weight == 0 {
                continue;
            }
            // a/wa < b/wb without division: a·wb < b·wa.
            let fewer = |j: usize| {
                let o = &view.backends[j];
                u64::from(b.connections) * u64::from(o.weight) < u64::from(o.connections) * u64::from(b.weight)
            };
            if best.is_none_or(fewer) {
                best = Some(i);
            }
        }
        let best = best?;
        self.next = best + 1;
        Some(best)
    }
}
