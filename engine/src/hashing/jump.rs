//! Jump consistent hash (Lamping and Veach, 2014): no ring and no memory, O(ln N) per key, and an
//! ideal 1/N of keys move when a bucket is *appended*. Its limit: buckets are numbered, so only the
//! last one can leave cheaply; removing a node from the middle renumbers the rest.

use super::md5_u128;

/// The bucket in `0..buckets` for a 64-bit key; 0 when `buckets` is 0.
#[expect(clippy::cast_possible_truncation, reason = "the paper's algorithm truncates a positive double")]
pub fn bucket(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // Division and multiplication only: exact IEEE results, identical on every target.
        let next = (b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64);
        j = if next >= i64::MAX as f64 { i64::MAX } else { next as i64 };
    }
    u32::try_from(b.max(0)).unwrap_or(0)
}

/// The node for `key` among `nodes` (numbered in order), keyed by the top 64 bits of MD5(key).
pub fn node<'a>(nodes: &'a [String], key: &str) -> Option<&'a str> {
    let n = u32::try_from(nodes.len()).ok().filter(|n| *n > 0)?;
    let top = u64::try_from(md5_u128(key) >> 64).unwrap_or(0);
    let i = usize::try_from(bucket(top, n)).ok()?;
    nodes.get(i).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        // ClickHouse's jumpConsistentHash test (tests/queries/0_stateless/00580_*), which
        // implements the paper's C++ code.
        assert_eq!(bucket(1, 1), 0);
        assert_eq!(bucket(42, 57), 43);
        assert_eq!(bucket(256, 1024), 520);
        assert_eq!(bucket(3_735_883_980, 1), 0);
        assert_eq!(bucket(3_735_883_980, 666), 361);
        assert_eq!(bucket(16_045_690_984_833_335_023, 255), 237);
        assert_eq!(bucket(7, 0), 0);
    }

    #[test]
    fn appending_a_bucket_moves_keys_only_to_it() {
        for key in 0..2_000u64 {
            let k = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (before, after) = (bucket(k, 10), bucket(k, 11));
            assert!(after == before || after == 10, "key {k}: {before} -> {after}");
        }
    }
}
