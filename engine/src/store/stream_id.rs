//! Stream entry ids (`ms-seq`) and the ways Redis 7.0 reads them from a command's arguments
//! (`t_stream.c`, `streamGenericParseIDOrReply` and `streamParseIntervalIDOrReply`), so that a
//! malformed id fails in the simulated store exactly where and how it fails in Redis.

use serde::{Deserialize, Serialize};

use super::cmd::Reply;
use super::{errors, number};

/// An entry id: milliseconds, then a sequence number within the millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    /// The next id, `None` after [`StreamId::MAX`] (Redis's `streamIncrID` failing).
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId { ms: ms + 1, seq: 0 }),
            (ms, seq) => Some(StreamId { ms, seq: seq + 1 }),
        }
    }

    /// The previous id, `None` before [`StreamId::MIN`] (`streamDecrID` failing).
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId { ms: ms - 1, seq: u64::MAX }),
            (ms, seq) => Some(StreamId { ms, seq: seq - 1 }),
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for StreamId {
    type Error = String;
    fn try_from(s: String) -> Result<StreamId, String> {
        let (ms, seq) = s.split_once('-').ok_or_else(|| format!("not a stream id: {s:?}"))?;
        match (ms.parse(), seq.parse()) {
            (Ok(ms), Ok(seq)) => Ok(StreamId { ms, seq }),
            _ => Err(format!("not a stream id: {s:?}")),
        }
    }
}

/// How strictly an argument is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdForm {
    /// `-` and `+` stand for the smallest and largest ids (range ends).
    Range,
    /// An id proper: `-` and `+` are invalid.
    Strict,
}

/// Reads `ms` or `ms-seq` (`-`/`+` too for [`IdForm::Range`]); a bare `ms` gets `missing_seq`.
pub fn parse(arg: &str, missing_seq: u64, form: IdForm) -> Result<StreamId, Reply> {
    parse_generic(arg, missing_seq, form, false).map(|(id, _)| id)
}

/// `XADD`'s id: also `ms-*`, whose sequence Redis picks; the flag says whether the sequence
/// was given (a bare `ms` counts as given, with sequence 0).
pub fn parse_for_xadd(arg: &str) -> Result<(StreamId, bool), Reply> {
    parse_generic(arg, 0, IdForm::Strict, true)
}

/// A range end: `(` before an id makes it exclusive (and strict). Returns the id and whether
/// it is exclusive.
pub fn parse_interval(arg: &str, missing_seq: u64) -> Result<(StreamId, bool), Reply> {
    match arg.strip_prefix('(') {
        Some(rest) if !rest.is_empty() => Ok((parse(rest, missing_seq, IdForm::Strict)?, true)),
        _ => Ok((parse(arg, missing_seq, IdForm::Range)?, false)),
    }
}

/// The inclusive start of a range given as `start` (`streamIncrID` of an exclusive start).
pub fn interval_start(arg: &str) -> Result<StreamId, Reply> {
    match parse_interval(arg, 0)? {
        (id, true) => id.next().ok_or_else(|| Reply::err(errors::INVALID_START_ID)),
        (id, false) => Ok(id),
    }
}

/// The inclusive end of a range given as `end` (a bare `ms` ends at that millisecond's last id).
pub fn interval_end(arg: &str) -> Result<StreamId, Reply> {
    match parse_interval(arg, u64::MAX)? {
        (id, true) => id.prev().ok_or_else(|| Reply::err(errors::INVALID_END_ID)),
        (id, false) => Ok(id),
    }
}

/// `streamGenericParseIDOrReply`: Redis copies the argument into a 128-byte buffer first, so
/// anything longer is invalid; the first `-` splits milliseconds from sequence.
fn parse_generic(arg: &str, missing_seq: u64, form: IdForm, seq_may_be_star: bool) -> Result<(StreamId, bool), Reply> {
    let invalid = || Reply::err(errors::INVALID_STREAM_ID);
    if arg.len() > 127 {
        return Err(invalid());
    }
    match (arg, form) {
        ("-" | "+", IdForm::Strict) => return Err(invalid()),
        ("-", IdForm::Range) => return Ok((StreamId::MIN, true)),
        ("+", IdForm::Range) => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match arg.split_once('-') {
        Some((ms, seq)) => (ms, Some(seq)),
        None => (arg, None),
    };
    let ms = number::parse_u64(ms).ok_or_else(invalid)?;
    match seq {
        Some("*") if seq_may_be_star => Ok((StreamId { ms, seq: 0 }, false)),
        Some(seq) => Ok((StreamId { ms, seq: number::parse_u64(seq).ok_or_else(invalid)? }, true)),
        None => Ok((StreamId { ms, seq: missing_seq }, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn ids_parse_as_redis_reads_them() {
        assert_eq!(parse("5", 0, IdForm::Strict), Ok(id(5, 0)));
        assert_eq!(parse("5", u64::MAX, IdForm::Strict), Ok(id(5, u64::MAX)));
        assert_eq!(parse("5-3", 0, IdForm::Strict), Ok(id(5, 3)));
        assert_eq!(parse("007-01", 0, IdForm::Strict), Ok(id(7, 1)), "strtoull's leading zeros");
        assert_eq!(parse("-", 0, IdForm::Range), Ok(StreamId::MIN));
        assert_eq!(parse("+", 0, IdForm::Range), Ok(StreamId::MAX));
        let invalid = Err(Reply::err(errors::INVALID_STREAM_ID));
        for bad in ["-", "+", "", "abc", "5-", "-5", "5-3-1", "5-*", "1.5", "18446744073709551616"] {
            assert_eq!(parse(bad, 0, IdForm::Strict), invalid, "{bad:?}");
        }
        assert_eq!(parse(&"1".repeat(128), 0, IdForm::Strict), invalid, "longer than Redis's buffer");
    }

    #[test]
    fn xadd_reads_ms_star_as_a_sequence_to_pick() {
        assert_eq!(parse_for_xadd("5-*"), Ok((id(5, 0), false)));
        assert_eq!(parse_for_xadd("5"), Ok((id(5, 0), true)));
        assert_eq!(parse_for_xadd("5-2"), Ok((id(5, 2), true)));
        assert_eq!(parse_for_xadd("*-1"), Err(Reply::err(errors::INVALID_STREAM_ID)));
    }

    #[test]
    fn intervals_may_be_exclusive() {
        assert_eq!(interval_start("(5-3"), Ok(id(5, 4)));
        assert_eq!(interval_start("(5"), Ok(id(5, 1)));
        assert_eq!(interval_end("(5-0"), Ok(id(4, u64::MAX)));
        assert_eq!(interval_end("5"), Ok(id(5, u64::MAX)));
        assert_eq!(interval_start("("), Err(Reply::err(errors::INVALID_STREAM_ID)), "a lone ( is an id, and invalid");
        assert_eq!(interval_start("(-"), Err(Reply::err(errors::INVALID_STREAM_ID)), "exclusive ends are strict");
        let max = "(18446744073709551615-18446744073709551615";
        assert_eq!(interval_start(max), Err(Reply::err(errors::INVALID_START_ID)));
        assert_eq!(interval_end("(0-0"), Err(Reply::err(errors::INVALID_END_ID)));
    }

    #[test]
    fn ids_serialise_as_redis_prints_them() {
        assert_eq!(serde_json::to_string(&id(5, 3)).unwrap(), "\"5-3\"");
        assert_eq!(serde_json::from_str::<StreamId>("\"5-3\"").unwrap(), id(5, 3));
    }
}
