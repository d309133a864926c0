//! `cargo bench -p distlab-tests --bench cache_policies`: the engine's eviction policies against
//! the `lru` crate and `quick_cache` (an S3-FIFO-like policy; `moka` is heavier to build and its
//! TinyLFU is the one ours follows) on the same Zipf 0.9 and scan-polluted Zipf traces, in one run:
//! first the hit ratio of each, next to the best static cache (the most used keys, known in
//! advance) and Belady's optimum, then criterion's time per access
//! (a get, and an insert on a miss). Targets: W-TinyLFU's hit ratio at least quick_cache's and
//! within a few points of OPT; our LRU no slower per access than the `lru` crate.

use std::hint::black_box;
use std::num::NonZeroUsize;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use distlab_engine::cache::compare::PolicyKind;
use distlab_engine::cache::workload::Workload;
use distlab_engine::cache::{Access, belady_hits, best_static_hits};

const CAPACITY: usize = 1_000;
const LENGTH: usize = 200_000;

fn traces() -> [(&'static str, Vec<u64>); 2] {
    let zipf = Workload::Zipf { keys: 100_000, s: 0.9 }.trace(LENGTH, 1).expect("valid workload");
    let scan = Workload::ZipfScan { keys: 100_000, s: 0.9 }.trace(LENGTH, 1).expect("valid workload");
    [("zipf-0.9", zipf), ("zipf-scan", scan)]
}

/// Hits of the `lru` crate: a get, and a put on a miss.
fn lru_crate(trace: &[u64]) -> usize {
    let mut cache = lru::LruCache::new(NonZeroUsize::new(CAPACITY).expect("positive"));
    trace
        .iter()
        .filter(|&&k| {
            let hit = cache.get(&k).is_some();
            if !hit {
                cache.put(k, ());
            }
            hit
        })
        .count()
}

fn quick(trace: &[u64]) -> usize {
    let mut cache = quick_cache::unsync::Cache::new(CAPACITY);
    trace
        .iter()
        .filter(|&&k| {
            let hit = cache.get(&k).is_some();
            if !hit {
                cache.insert(k, ());
            }
            hit
        })
        .count()
}

fn engine(kind: PolicyKind, trace: &[u64]) -> usize {
    let mut cache = kind.build(CAPACITY);
    trace.iter().filter(|&&k| cache.access(k) == Access::Hit).count()
}

fn hit_ratios() {
    println!("hit ratio, capacity {CAPACITY}, {LENGTH} accesses over 100,000 keys");
    for (name, trace) in &traces() {
        let ratio = |hits: usize| hits as f64 / trace.len() as f64 * 100.0;
        let mut row: Vec<String> = PolicyKind::ALL
            .iter()
            .map(|&k| {
                format!(
                    "{} {:.2}%",
                    serde_json::to_value(k).unwrap_or_default().as_str().unwrap_or(""),
                    ratio(engine(k, trace))
                )
            })
            .collect();
        row.push(format!("lru-crate {:.2}%", ratio(lru_crate(trace))));
        row.push(format!("quick_cache {:.2}%", ratio(quick(trace))));
        row.push(format!("best static {:.2}%", ratio(best_static_hits(trace, CAPACITY))));
        row.push(format!("OPT {:.2}%", ratio(belady_hits(trace, CAPACITY))));
        println!("  {name:<9} {}", row.join(" · "));
    }
}

fn per_access(c: &mut Criterion) {
    hit_ratios();
    for (name, trace) in &traces() {
        let mut group = c.benchmark_group(format!("cache/{name}"));
        group.throughput(Throughput::Elements(trace.len() as u64));
        group.sample_size(10);
        for kind in [PolicyKind::Lru, PolicyKind::WTinyLfu, PolicyKind::Lfu] {
            let id = serde_json::to_value(kind).unwrap_or_default().as_str().unwrap_or("").to_owned();
            group.bench_with_input(BenchmarkId::new(id, LENGTH), trace, |b, t| b.iter(|| black_box(engine(kind, t))));
        }
        group.bench_with_input(BenchmarkId::new("lru-crate", LENGTH), trace, |b, t| b.iter(|| black_box(lru_crate(t))));
        group.bench_with_input(BenchmarkId::new("quick_cache", LENGTH), trace, |b, t| b.iter(|| black_box(quick(t))));
        group.finish();
    }
}

criterion_group!(benches, per_access);
criterion_main!(benches);
