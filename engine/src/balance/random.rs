//! Uniform random over the backends in rotation (46.4.1): the baseline every other algorithm is
//! measured against; no state, no coordination, and the load evens out only on average.

use super::{Algorithm, View};
use crate::sim::Rng;

#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

impl Algorithm for Random {
    fn pick(&mut self, _key: &str, view: &View, rng: &mut Rng) -> Option<usize> {
        rng.pick(&view.up()).copied()
    }
}
