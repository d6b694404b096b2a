//! LiVeAction's pure-Rust encoder against WaLLoC's linear encoder at the
//! same dimensionality reduction (16×), on a 768×512 RGB image (Kodak's
//! size), one thread: megapixels per second of the whole analysis
//! (wavelet packets, encoder, quantization). The LiVeAction models have the
//! reference's published shapes (f16c48: J 4, 48 latent channels, 4
//! encoder blocks; f8c12: J 3, 12 channels) with pseudo-random weights (the
//! time does not depend on their values); WaLLoC's is the shipped rgb-16x.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use walloc_codec::codec::analyze;
use walloc_codec::liveaction::{FeatureMap, LiveActionConfig, LiveActionEncoder, TensorSource};
use walloc_codec::{Image8, Model, Result};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const WIDTH: usize = 768;
const HEIGHT: usize = 512;

/// Pseudo-random parameters of whatever shape is asked: weights within
/// ±1/√fan-in, vectors (biases, norms, σ) near 1.
struct RandomWeights;

impl TensorSource for RandomWeights {
    fn tensor(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        Err(walloc_codec::CodecError::InvalidModel(format!("{name}: shape unknown")))
    }

    fn tensor_of_shape(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let n: usize = shape.iter().product();
        let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
        let mut state = name.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        });
        Ok((0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if shape.len() == 1 {
                    1.0 + 0.1 * unit
                } else {
                    unit / (fan_in as f32).sqrt()
                }
            })
            .collect())
    }
}

fn image() -> Image8 {
    let pixels = (0..WIDTH * HEIGHT * 3)
        .map(|i| {
            let (x, y, c) = ((i / 3) % WIDTH, (i / 3) / WIDTH, i % 3);
            let v = 128.0
                + 50.0 * ((x as f32 * 0.011 + c as f32).sin() * (y as f32 * 0.017).cos())
                + ((i.wrapping_mul(2_654_435_761) >> 24) % 24) as f32;
            v.clamp(0.0, 255.0) as u8
        })
        .collect();
    Image8::new(WIDTH as u32, HEIGHT as u32, 3, pixels).unwrap()
}

/// The image as LiVeAction takes it: planar, `x/127.5 − 1`.
fn planar(image: &Image8) -> FeatureMap {
    let n = WIDTH * HEIGHT;
    let data = (0..3)
        .flat_map(|c| (0..n).map(move |i| (c, i)))
        .map(|(c, i)| f32::from(image.pixels[i * 3 + c]) / 127.5 - 1.0)
        .collect();
    FeatureMap::new(data, 3, vec![HEIGHT, WIDTH]).unwrap()
}

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let image = image();
    let signal = planar(&image);
    let mut group = c.benchmark_group("encoder_16x_768x512_1thread");
    group.sample_size(10);
    group.throughput(Throughput::Elements((WIDTH * HEIGHT) as u64));
    let walloc = Model::from_bytes(std::fs::read(format!("{ROOT}/models/rgb-16x.safetensors")).unwrap()).unwrap();
    group.bench_function("walloc_rgb-16x", |b| {
        b.iter(|| pool.install(|| analyze(&walloc, &image).unwrap()))
    });
    for (name, json) in [
        ("liveaction_f8c12", r#"{"J": 3, "latent_dim": 12, "encoder_depth": 4}"#),
        ("liveaction_f16c48", r#"{"J": 4, "latent_dim": 48, "encoder_depth": 4}"#),
    ] {
        let config = LiveActionConfig::from_json(json).unwrap();
        let encoder = LiveActionEncoder::load(&config, &RandomWeights).unwrap();
        let pixels_per_position = 1usize << (2 * config.levels);
        eprintln!(
            "{name}: {} multiply-accumulates per pixel (walloc rgb-16x: {})",
            encoder.macs_per_position() / pixels_per_position,
            walloc.config().coefficient_dim() * walloc.config().latent_dim as usize / 64
        );
        group.bench_function(name, |b| {
            b.iter(|| pool.install(|| encoder.encode(signal.clone()).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
