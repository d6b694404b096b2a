//! The encoder's stages on a 1920×1080 RGB frame, one thread: analysis
//! (wavelet packets, projection, quantization), entropy coding, and the
//! whole `encode`, with and without rate–distortion-optimized
//! quantization. Also prints the entropy coder's efficiency on the real
//! sample photo (assets/chelsea.png): rANS bits per latent symbol against
//! the empirical entropy of the same latents (the limit for a static
//! per-channel model) and against the reference's lossless-WebP packing.

use criterion::{criterion_group, criterion_main, Criterion};
use walloc_codec::codec::{analyze, encode};
use walloc_codec::coding_limit::context_entropy;
use walloc_codec::packing::{pack, PackFormat};
use walloc_codec::{EncodeOptions, Image8, LatentCoder, Model, Step};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn frame() -> Image8 {
    let (w, h) = (1920u32, 1080u32);
    let pixels = (0..w * h * 3)
        .map(|i| {
            let (x, y, c) = ((i / 3) % w, (i / 3) / w, i % 3);
            let v = 128.0
                + 50.0 * ((x as f32 * 0.011 + c as f32).sin() * (y as f32 * 0.017).cos())
                + 30.0 * ((x as f32 * 0.21).sin() * (y as f32 * 0.13).sin())
                + ((i.wrapping_mul(2_654_435_761) >> 24) % 24) as f32;
            v.clamp(0.0, 255.0) as u8
        })
        .collect();
    Image8::new(w, h, 3, pixels).unwrap()
}

fn photo() -> Image8 {
    let rgb = image::open(format!("{ROOT}/assets/chelsea.png")).unwrap().into_rgb8();
    Image8::new(rgb.width(), rgb.height(), 3, rgb.into_raw()).unwrap()
}

fn entropy_report(model: &Model, image: &Image8) {
    let latent = analyze(model, image).unwrap();
    let plane = latent.height * latent.width;
    let entropy_bits = context_entropy([&latent], model.config().latent_bits).marginal;
    let symbols = latent.symbols.len() as f64;
    let rans = model
        .tables()
        .encode(&latent.symbols, plane, 0..plane, latent.width)
        .unwrap()
        .len() as f64
        * 8.0;
    let webp = pack(
        &latent.symbols,
        latent.channels,
        latent.height,
        latent.width,
        PackFormat::WebP,
    )
    .unwrap()
    .len() as f64
        * 8.0;
    eprintln!(
        "{}: bits/symbol: rANS {:.3}, empirical entropy {:.3}, lossless WebP packing {:.3}",
        model.config().name,
        rans / symbols,
        entropy_bits / symbols,
        webp / symbols
    );
}

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let image = frame();
    for name in ["rgb-16x", "rgb-4x"] {
        let model = Model::from_bytes(std::fs::read(format!("{ROOT}/models/{name}.safetensors")).unwrap()).unwrap();
        entropy_report(&model, &photo());
        let latent = analyze(&model, &image).unwrap();
        let plane = latent.height * latent.width;
        let mut group = c.benchmark_group(format!("{name}_1920x1080_1thread"));
        group.sample_size(20);
        group.bench_function("analyze", |b| {
            b.iter(|| pool.install(|| analyze(&model, &image).unwrap()))
        });
        group.bench_function("rans", |b| {
            b.iter(|| {
                model
                    .tables()
                    .encode(&latent.symbols, plane, 0..plane, latent.width)
                    .unwrap()
            })
        });
        let adaptive = model.band_coder(LatentCoder::Adaptive, Step::NATIVE).unwrap();
        group.bench_function("adaptive", |b| {
            b.iter(|| adaptive.encode(&latent.symbols, plane, 0..plane, latent.width).unwrap())
        });
        group.bench_function("encode", |b| {
            b.iter(|| pool.install(|| encode(&model, &image, EncodeOptions::default()).unwrap()))
        });
        let rdo = EncodeOptions::default().with_rdo(true);
        group.bench_function("encode_rdo", |b| {
            b.iter(|| pool.install(|| encode(&model, &image, rdo).unwrap()))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
