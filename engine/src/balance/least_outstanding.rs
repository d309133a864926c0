//! Least outstanding requests (46.4.1), as AWS's load balancers and Envoy's `LEAST_REQUEST`
//! (with every host scanned): the backend with the fewest requests sent and not yet answered,
//! ties broken at random. It differs from least connections where a connection carries more
//! than one request, or stays open idle between them: what it counts is the work in progress.

use super::{Algorithm, View};
use crate::sim::Rng;

#[derive(Clone, Copy, Debug, Default)]
pub struct LeastOutstanding;

impl Algorithm for LeastOutstanding {
    fn pick(&mut self, _key: &str, view: &View, rng: &mut Rng) -> Option<usize> {
        let least = view.backends.iter().filter(|b| b.up).map(|b| b.outstanding).min()?;
        let tied: Vec<usize> =
            view.backends.iter().enumerate().filter(|(_, b)| b.up && b.outstanding == least).map(|(i, _)| i).collect();
        rng.pick(&tied).copied()
    }
}
