//! `cargo bench -p distlab-engine --bench hashing`: nanoseconds per lookup for the ring (binary
//! search over 150 virtual nodes per node), jump hash and rendezvous hashing, at 10 and 100
//! nodes. The ring's figure is the one to read against the others; the chapter's version sorts
//! the whole ring per lookup and is not worth timing. Then a ring's build at 1,000 and 10,000
//! nodes next to the MD5 of its points alone.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use distlab_engine::hashing::stats::{Method, sample_keys};
use distlab_engine::hashing::{HashRing, VNODES_DEFAULT};

fn lookups(c: &mut Criterion) {
    let keys = sample_keys(1_024);
    let mut group = c.benchmark_group("lookup");
    for nodes in [10usize, 100] {
        let names: Vec<String> = (0..nodes).map(|i| format!("node-{i}")).collect();
        let ring = HashRing::with_nodes(VNODES_DEFAULT, &names).expect("valid ring");
        for method in [Method::Ring, Method::Jump, Method::Rendezvous] {
            group.bench_with_input(BenchmarkId::new(method.name(), nodes), &ring, |b, ring| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % keys.len();
                    black_box(method.owner(ring, black_box(&keys[i])))
                });
            });
        }
    }
    group.finish();
}

/// Building a ring of 1,000 and 10,000 nodes × 150 virtual nodes: every point hashed, then
/// sorted once (`with_nodes`), next to hashing the same points alone (the floor any build pays).
fn builds(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for nodes in [1_000usize, 10_000] {
        let names: Vec<String> = (0..nodes).map(|i| format!("node-{i}")).collect();
        group.bench_with_input(BenchmarkId::new("ring", nodes), &names, |b, names| {
            b.iter(|| black_box(HashRing::with_nodes(VNODES_DEFAULT, black_box(names)).expect("valid ring")));
        });
        group.bench_with_input(BenchmarkId::new("md5 of every point", nodes), &names, |b, names| {
            b.iter(|| {
                let mut sum = 0u128;
                for n in names {
                    for i in 0..VNODES_DEFAULT {
                        sum ^= distlab_engine::hashing::md5_u128(&format!("{n}#{i}"));
                    }
                }
                black_box(sum)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, lookups, builds);
criterion_main!(benches);
