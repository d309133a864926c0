//! The twin of `rate_limit.lua`, line for line: one check of a distributed rate limiter. Its
//! decisions are the engine's local limiters' (`resilience::limit`, checked against them over
//! random arrivals in `tests/tests/rate_limit.rs`), and its replies Redis's (the differential
//! tests).

use super::Lua;
use crate::store::{Cmd, Reply, ScoreBound, SetExpiry};

/// 2^52: limit × period and burst × period stay at most this, so Lua's doubles hold every
/// intermediate value exactly.
const SCALE: u64 = 1 << 52;
/// 2^53: the largest integer an argument may be (a double's exact range).
const EXACT: u64 = 1 << 53;

/// The algorithms, as `ARGV[1]` names them.
const ALGORITHMS: &str = "fixed_window, sliding_log, sliding_window, token_bucket, leaky_bucket, gcra";

fn error(message: String) -> Reply {
    Reply::Error(format!("ERR rate_limit: {message}"))
}

/// `int(s, name, min)` of the script: digits only, at most 16 of them, exact, at least `min`.
fn int(s: &str, name: &str, min: u64) -> Result<u64, Reply> {
    let value = (!s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .filter(|v| *v >= min && *v <= EXACT);
    value.ok_or_else(|| error(format!("{name} must be an integer >= {min}")))
}

fn admit(code: i64, value: u64) -> Reply {
    Reply::Array(vec![Reply::Int(code), Reply::Int(i64::try_from(value).unwrap_or(i64::MAX))])
}

/// The reply with the time of the decision appended, as the script's `reply[3] = now`.
fn at(reply: Reply, now: u64) -> Reply {
    match reply {
        Reply::Array(mut items) => {
            items.push(Reply::Int(i64::try_from(now).unwrap_or(i64::MAX)));
            Reply::Array(items)
        }
        other => other,
    }
}

/// `ttl(us)`: the key lives one second past `us` µs from now, in whole milliseconds.
fn ttl_ms(us: u64) -> i64 {
    i64::try_from(us.div_ceil(1_000) + 1_000).unwrap_or(i64::MAX)
}

/// The script's `string.match(s, "^([%l_]+) (%d+) (%d+) (%d+) (%d+)$")` and its `tonumber`s: the
/// algorithm's name and four numbers, or `None` for anything else.
fn parse_state(state: &str) -> Option<(&str, [u64; 4])> {
    let mut parts = state.split(' ');
    let kind = parts.next().filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))?;
    let mut fields = [0u64; 4];
    for field in &mut fields {
        let digits = parts.next().filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?;
        *field = digits.parse().ok()?;
    }
    parts.next().is_none().then_some((kind, fields))
}

/// `ceil(a / b)` and `floor(a / b)`, as the script computes them on exact doubles.
fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

impl Lua<'_> {
    pub(super) fn rate_limit(&mut self, keys: &[String], args: &[String]) -> Result<Reply, Reply> {
        let algorithm = args[0].as_str();
        let limit = match int(&args[1], "limit", 1) {
            Ok(v) => v,
            Err(e) => return Ok(e),
        };
        let period = match int(&args[2], "period", 1) {
            Ok(v) => v,
            Err(e) => return Ok(e),
        };
        let burst = match int(&args[3], "burst", 1) {
            Ok(v) => v,
            Err(e) => return Ok(e),
        };
        if limit > SCALE / period || burst > SCALE / period {
            return Ok(error("limit × period and burst × period must be at most 2^52".to_owned()));
        }
        let mut now = if args[4].is_empty() {
            u64::try_from(self.now_ms).unwrap_or(0) * 1_000
        } else {
            match int(&args[4], "now", 0) {
                Ok(v) => v,
                Err(e) => return Ok(e),
            }
        };
        let key = keys[0].as_str();
        if algorithm == "sliding_log" {
            return self.sliding_log(key, now, limit, period);
        }
        // One GET: the algorithm's name and four numbers, or nothing yet.
        let (held, [f1, f2, f3, f4]) = match self.call(Cmd::Get { key: key.to_owned() })? {
            Reply::Bulk(state) => match parse_state(&state) {
                Some((kind, fields)) if kind == algorithm => (true, fields),
                Some((kind, _)) => return Ok(error(format!("{key} holds a {kind} limiter, not {algorithm}"))),
                None => return Ok(error(format!("{key} holds something other than a limiter's state"))),
            },
            _ => (false, [0; 4]),
        };
        let (reply, fields, keep_us) = match algorithm {
            "fixed_window" => {
                let (mut w, mut c) = (f1, f2);
                let window = (now / period).max(w);
                if window != w {
                    (w, c) = (window, 0);
                }
                let reply = if c < limit {
                    c += 1;
                    admit(1, limit - c)
                } else {
                    admit(0, (w + 1) * period - now.max(w * period))
                };
                (reply, [w, c, f3, f4], (w + 1) * period - now.max(w * period))
            }
            "sliding_window" => {
                let (mut w, mut cur, mut prev, latest) = (f1, f2, f3, f4);
                now = now.max(latest);
                let window = now / period;
                if window != w {
                    prev = if window == w + 1 { cur } else { 0 };
                    (cur, w) = (0, window);
                }
                let elapsed = now - window * period;
                let weighted = prev * (period - elapsed) + cur * period;
                let reply = if weighted < limit * period && cur < limit {
                    let left = (ceil_div(limit * period - weighted, period) - 1).min(limit - cur - 1);
                    cur += 1;
                    admit(1, left)
                } else if cur < limit && prev > 0 {
                    admit(0, period - ceil_div((limit - cur) * period, prev) + 1 - elapsed)
                } else {
                    let after = if cur * period >= limit * period {
                        (period + 1).saturating_sub(ceil_div(limit * period, cur))
                    } else {
                        0
                    };
                    admit(0, period - elapsed + after)
                };
                (reply, [w, cur, prev, now], (w + 2) * period - now)
            }
            "token_bucket" => {
                let full = burst * period;
                let (mut level, last) = if held { (f1, f2) } else { (full, now) };
                now = now.max(last);
                let elapsed = (now - last).min(ceil_div(full, limit));
                level = (level + elapsed * limit).min(full);
                let reply = if level >= period {
                    level -= period;
                    admit(1, level / period)
                } else {
                    admit(0, ceil_div(period - level, limit))
                };
                (reply, [level, now, f3, f4], ceil_div(full - level, limit))
            }
            "gcra" | "leaky_bucket" => {
                let (mut q, mut r, latest) = (f1, f2, f3);
                now = now.max(latest);
                if q < now {
                    (q, r) = (now, 0);
                }
                let ahead = (q - now) * limit + r;
                let reply = if algorithm == "gcra" {
                    let tolerance = (burst - 1) * period;
                    if ahead > tolerance {
                        admit(0, ceil_div(ahead - tolerance, limit))
                    } else {
                        r += period;
                        admit(1, (tolerance - ahead) / period)
                    }
                } else {
                    let queue = burst * period;
                    if ahead >= queue {
                        admit(0, (ahead - queue) / limit + 1)
                    } else {
                        r += period;
                        if ahead == 0 { admit(1, (queue - period) / period) } else { admit(2, ceil_div(ahead, limit)) }
                    }
                };
                (q, r) = (q + r / limit, r % limit);
                (reply, [q, r, now, f4], q - now + 1)
            }
            other => {
                return Ok(error(format!("unknown algorithm {other} ({ALGORITHMS})")));
            }
        };
        let [a, b, c, d] = fields;
        let state = format!("{algorithm} {a} {b} {c} {d}");
        let expiry = Some(SetExpiry::Px(ttl_ms(keep_us)));
        self.call(Cmd::Set { key: key.to_owned(), value: state, condition: None, expiry, get: false })?;
        Ok(at(reply, now))
    }

    /// The sorted-set log: members `<µs>-<count then>`, scored by their time.
    fn sliding_log(&mut self, key: &str, now: u64, limit: u64, period: u64) -> Result<Reply, Reply> {
        let all = Cmd::ZRangeByScore {
            key: key.to_owned(),
            min: ScoreBound::NegInf,
            max: ScoreBound::PosInf,
            with_scores: true,
            limit: None,
        };
        let Reply::Array(items) = self.call(all)? else {
            return Err(Reply::err("ERR unexpected ZRANGEBYSCORE reply"));
        };
        let log: Vec<(String, u64)> = items
            .chunks(2)
            .filter_map(|pair| match pair {
                [Reply::Bulk(member), Reply::Bulk(score)] => score.parse().ok().map(|s| (member.clone(), s)),
                _ => None,
            })
            .collect();
        let now = log.last().map_or(now, |(_, newest)| now.max(*newest));
        let gone: Vec<String> = log.iter().filter(|(_, t)| t + period <= now).map(|(m, _)| m.clone()).collect();
        if !gone.is_empty() {
            self.call(Cmd::ZRem { key: key.to_owned(), members: gone.clone() })?;
        }
        let held = (log.len() - gone.len()) as u64;
        if held < limit {
            #[expect(clippy::cast_precision_loss, reason = "µs below 2^53 (checked): exact")]
            let score = now as f64;
            self.call(Cmd::ZAdd { key: key.to_owned(), members: vec![(score, format!("{now}-{held}"))] })?;
            self.call(Cmd::PExpire { key: key.to_owned(), ms: ttl_ms(period) })?;
            return Ok(at(admit(1, limit - held - 1), now));
        }
        let oldest = log.iter().find(|(_, t)| t + period > now).map_or(now, |(_, t)| *t);
        Ok(at(admit(0, oldest + period - now), now))
    }
}
