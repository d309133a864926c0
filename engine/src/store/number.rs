//! Numbers as Redis reads and writes them.

/// Parses an integer exactly as Redis's `string2ll` does: an optional `-`, no `+`, no spaces,
/// no leading zeros (`"0"` itself is fine, `"-0"` and `"007"` are not), within `i64`.
pub fn parse_i64(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (first, _) = digits.split_first()?;
    if !(b'1'..=b'9').contains(first) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// Parses an unsigned integer exactly as Redis's `string2ull` does (stream ids are made of
/// two): `string2ll` first, refusing negatives; failing that, C's `strtoull`, which also takes
/// leading white space, a sign (a `-` wraps the value around, as C's unsigned negation does) and
/// leading zeros, but nothing after the digits and nothing beyond `u64`.
pub fn parse_u64(s: &str) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let rest = s.trim_start_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']);
    let (negative, digits) = match rest.as_bytes().split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, rest.as_bytes()),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
    Some(if negative { magnitude.wrapping_neg() } else { magnitude })
}

/// Formats a sorted-set score as Redis 7.0 does in RESP2 replies: `inf`/`-inf`, otherwise C's
/// `%.17g` (17 significant digits, trailing zeros removed, exponent form outside 1e-4..1e17).
pub fn format_score(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "inf".to_owned() } else { "-inf".to_owned() };
    }
    if score == 0.0 {
        return if score.is_sign_negative() { "-0".to_owned() } else { "0".to_owned() };
    }
    const PRECISION: i32 = 17;
    let sci = format!("{:.*e}", usize::try_from(PRECISION - 1).unwrap_or(16), score);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = usize::try_from(PRECISION - 1 - exponent).unwrap_or(0);
        trim_fraction(&format!("{score:.decimals$}")).to_owned()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.unsigned_abs())
    }
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing follows it.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_string2ll() {
        assert_eq!(parse_i64("0"), Some(0));
        assert_eq!(parse_i64("42"), Some(42));
        assert_eq!(parse_i64("-42"), Some(-42));
        assert_eq!(parse_i64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        for bad in ["", "-", "-0", "007", "+1", " 1", "1 ", "1.0", "abc", "9223372036854775808", "1e3"] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unsigned_integers_parse_like_string2ull() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX), "beyond i64, through strtoull");
        assert_eq!(parse_u64("007"), Some(7), "strtoull takes leading zeros");
        assert_eq!(parse_u64(" +5"), Some(5), "and leading space and a plus");
        assert_eq!(parse_u64("-0"), Some(0), "string2ll refuses -0; strtoull takes it");
        assert_eq!(parse_u64("-9223372036854775809"), Some(9_223_372_036_854_775_807), "negation wraps");
        for bad in ["", " ", "-1", "+", "1 ", "1x", "18446744073709551616", "1.0"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scores_format_like_percent_17g() {
        let cases = [
            (1.0, "1"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.10000000000000001"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345680000.0, "1.2345678901234568e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (0.0, "0"),
            (-0.0, "-0"),
        ];
        for (v, want) in cases {
            assert_eq!(format_score(v), want, "{v}");
        }
    }
}
