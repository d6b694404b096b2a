//! 2D J=3 packet transform of a 1920×1080 RGB frame, forward and inverse,
//! on one thread (compare with scripts/bench_pywavelets.py).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use walloc_wavelet::{packet, FilterBank, Signal};

fn frame() -> Signal {
    let (h, w) = (1080, 1920);
    let data = (0..3 * h * w)
        .map(|i| {
            let (c, y, x) = (i / (h * w), (i / w) % h, i % w);
            ((x as f32 * 0.013 + c as f32).sin() * (y as f32 * 0.021).cos()) * 0.4 + ((i * 7919) % 97) as f32 / 970.0
        })
        .collect();
    Signal::new(data, 3, vec![h, w]).unwrap()
}

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let bank = FilterBank::bior4_4();
    let signal = frame();
    let coeffs = packet::forward(&bank, signal.clone(), 3).unwrap();
    let mut group = c.benchmark_group("wpt2d_j3_1920x1080_rgb_1thread");
    group.sample_size(20);
    // The input copy is made outside the timed part (the transform consumes it).
    let timed = |input: &Signal, run: &(dyn Fn(Signal) -> Signal + Sync), b: &mut criterion::Bencher| {
        b.iter_batched(|| input.clone(), |s| pool.install(|| run(s)), BatchSize::LargeInput)
    };
    group.bench_function("forward", |b| {
        timed(&signal, &|s| packet::forward(&bank, s, 3).unwrap(), b)
    });
    group.bench_function("inverse", |b| {
        timed(&coeffs, &|s| packet::inverse(&bank, s, 3).unwrap(), b)
    });
    group.bench_function("forward+inverse", |b| {
        timed(
            &signal,
            &|s| packet::inverse(&bank, packet::forward(&bank, s, 3).unwrap(), 3).unwrap(),
            b,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
