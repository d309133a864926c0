//! Bare quorums (46.1, `quorum`): the rounds of ABD (`abd.rs`) without the read's write-back,
//! which is what the chapter's `R + W > N` rule alone gives. It is *not* linearizable: a read can
//! see a half-written value (stored on fewer than W replicas so far) that a later read, asking
//! another R, does not see — the checker finds that history on the default seed.

use super::Consistency;

/// Whether a read writes the newest version it saw back to W replicas before answering: what
/// `strong` adds to bare quorums.
pub(super) fn read_writes_back(level: Consistency) -> bool {
    level == Consistency::Strong
}
