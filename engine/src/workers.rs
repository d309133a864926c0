//! A server's workers and the queue in front of them: at most `capacity` jobs in service, at
//! most `queue_max` more waiting, and a refusal beyond that (an overloaded server's 503). The
//! load balancer's backends (46.4) and the high-availability world's dependency are such servers;
//! each numbers its jobs in service here, one timer per job, and draws its own service times.

use std::collections::{BTreeMap, VecDeque};

/// What became of a job offered to the workers.
#[derive(Debug, PartialEq, Eq)]
pub enum Offered<J> {
    /// Started on a worker under this number (the server sets its timer).
    Started(u64),
    Queued,
    /// Refused: every worker busy and the queue full. The job comes back.
    Full(J),
}

#[derive(Clone, Debug)]
pub struct Workers<J> {
    capacity: usize,
    queue_max: usize,
    serving: BTreeMap<u64, J>,
    queue: VecDeque<J>,
    /// The last number given to a job started (numbers start at 1).
    started: u64,
}

impl<J> Workers<J> {
    /// `capacity` workers (at least one) and room for `queue_max` waiting jobs.
    pub fn new(capacity: u32, queue_max: u32) -> Self {
        Workers {
            capacity: capacity.max(1) as usize,
            queue_max: queue_max as usize,
            serving: BTreeMap::new(),
            queue: VecDeque::new(),
            started: 0,
        }
    }

    pub fn offer(&mut self, job: J) -> Offered<J> {
        if self.serving.len() < self.capacity {
            Offered::Started(self.start(job))
        } else if self.queue.len() < self.queue_max {
            self.queue.push_back(job);
            Offered::Queued
        } else {
            Offered::Full(job)
        }
    }

    /// Job `number` is done: the job, and the number of the queued job that took its worker, if
    /// any. `None` for a number not in service.
    pub fn done(&mut self, number: u64) -> Option<(J, Option<u64>)> {
        let job = self.serving.remove(&number)?;
        let next = self.queue.pop_front().map(|j| self.start(j));
        Some((job, next))
    }

    fn start(&mut self, job: J) -> u64 {
        self.started += 1;
        self.serving.insert(self.started, job);
        self.started
    }

    pub fn serving(&self) -> usize {
        self.serving.len()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_start_queue_and_are_refused_in_order_and_a_done_job_hands_its_worker_on() {
        let mut w = Workers::new(2, 1);
        assert_eq!(w.offer('a'), Offered::Started(1));
        assert_eq!(w.offer('b'), Offered::Started(2));
        assert_eq!(w.offer('c'), Offered::Queued);
        assert_eq!(w.offer('d'), Offered::Full('d'));
        assert_eq!(w.done(1), Some(('a', Some(3))), "c starts as 3 on a's worker");
        assert_eq!(w.done(1), None);
        assert_eq!((w.serving(), w.queued()), (2, 0));
        assert_eq!(w.done(2), Some(('b', None)));
    }
}
