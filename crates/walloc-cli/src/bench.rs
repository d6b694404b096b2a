//! `walloc bench`: encode and decode throughput of the whole path (file
//! bytes in, file bytes out) against libwebp in the same process and run, on
//! the same images, at matched bits per pixel; one thread and all threads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use walloc_codec::{codec, EncodeOptions, Image8, Limits, Model};

use crate::fit::image_files;
use crate::io::decode_image;
use crate::models;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of images (PNG, JPEG, WebP, PNM, TIFF) to time.
    #[arg(long)]
    pub data: PathBuf,
    /// Model name or file [default: rgb-16x].
    #[arg(short, long, default_value = "rgb-16x")]
    pub model: String,
    /// Timed repetitions of each measurement (the fastest is kept).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
}

/// One input: its file bytes, and the walloc and WebP files made from it.
struct Sample {
    name: String,
    file: Vec<u8>,
    pixels: u64,
    wal: Vec<u8>,
    webp: Vec<u8>,
    quality: f32,
}

/// The file's image with the channels `channels` wants.
fn read_image(bytes: &[u8], name: &str, channels: u8) -> Result<Image8> {
    Ok(decode_image(bytes, name)?.to_channels(channels))
}

/// libwebp (lossy) of an RGB image at `quality`.
fn webp_encode(image: &Image8, quality: f32) -> Vec<u8> {
    webp::Encoder::from_rgb(&image.pixels, image.width, image.height)
        .encode(quality)
        .to_vec()
}

/// The WebP quality whose file size is closest to `target` bytes (bisection:
/// size grows with quality).
fn matched_webp(image: &Image8, target: usize) -> (f32, Vec<u8>) {
    let (mut low, mut high) = (0.0f32, 100.0f32);
    let mut best = (0.0, webp_encode(image, 0.0));
    for _ in 0..9 {
        let quality = (low + high) / 2.0;
        let file = webp_encode(image, quality);
        if file.len().abs_diff(target) < best.1.len().abs_diff(target) {
            best = (quality, file.clone());
        }
        if file.len() > target {
            high = quality;
        } else {
            low = quality;
        }
    }
    best
}

/// The fastest of `repeat` runs of `work`.
fn fastest(repeat: usize, mut work: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        work()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// walloc's whole encode path: file bytes → image → `.wal` bytes.
fn walloc_encode(model: &Model, sample: &Sample) -> Result<Vec<u8>> {
    let image = read_image(&sample.file, &sample.name, model.config().channels as u8)?;
    Ok(codec::encode(model, &image, EncodeOptions::default())?)
}

/// libwebp's whole encode path: file bytes → image → `.webp` bytes.
fn webp_path(sample: &Sample) -> Result<Vec<u8>> {
    let image = read_image(&sample.file, &sample.name, 3)?;
    Ok(webp_encode(&image, sample.quality))
}

fn webp_decode(bytes: &[u8]) -> Result<usize> {
    let image = webp::Decoder::new(bytes).decode().context("libwebp could not decode")?;
    Ok(image.len())
}

/// Megapixels per second of `pixels` in `time`.
fn rate(pixels: u64, time: Duration) -> f64 {
    pixels as f64 / 1e6 / time.as_secs_f64()
}

/// Times `work` over every sample on one thread (sum of per-image bests)
/// and on all threads (images in parallel, best wall time of the set).
fn throughput(
    samples: &[Sample],
    repeat: usize,
    work: &(dyn Fn(&Sample) -> Result<()> + Sync),
) -> Result<(Duration, Duration)> {
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let single = one.install(|| {
        samples
            .iter()
            .map(|s| fastest(repeat, || work(s)))
            .sum::<Result<Duration>>()
    })?;
    let all = fastest(repeat, || samples.par_iter().try_for_each(work))?;
    Ok((single, all))
}

fn prepare(path: &Path, model: &Model) -> Result<Sample> {
    let file = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let decoded = decode_image(&file, &name)?;
    let pixels = u64::from(decoded.width) * u64::from(decoded.height);
    let for_model = decoded.clone().to_channels(model.config().channels as u8);
    let wal = codec::encode(model, &for_model, EncodeOptions::default())?;
    let (quality, webp) = matched_webp(&decoded.to_channels(3), wal.len());
    Ok(Sample {
        name,
        file,
        pixels,
        wal,
        webp,
        quality,
    })
}

/// Runs `bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let model = models::resolve(&args.model)?;
    if !walloc::Registry::core().supports(&model) {
        bail!(
            "model {} is neural; `walloc bench` times the linear models' whole path (encode and decode on the CPU)",
            model.config().name
        );
    }
    let files = image_files(&args.data)?;
    eprintln!("matching WebP qualities to walloc's sizes on {} images…", files.len());
    let samples = files.iter().map(|p| prepare(p, &model)).collect::<Result<Vec<_>>>()?;
    let pixels: u64 = samples.iter().map(|s| s.pixels).sum();
    let bpp = |bytes: usize| bytes as f64 * 8.0 / pixels as f64;
    let wal_bytes: usize = samples.iter().map(|s| s.wal.len()).sum();
    let webp_bytes: usize = samples.iter().map(|s| s.webp.len()).sum();
    let mean_quality = samples.iter().map(|s| f64::from(s.quality)).sum::<f64>() / samples.len() as f64;

    let limits = Limits::default();
    let encode_walloc = throughput(&samples, args.repeat, &|s| walloc_encode(&model, s).map(drop))?;
    let encode_webp = throughput(&samples, args.repeat, &|s| webp_path(s).map(drop))?;
    let decode_walloc = throughput(&samples, args.repeat, &|s| {
        codec::decode(&model, &s.wal, &limits).map(drop).map_err(Into::into)
    })?;
    let decode_webp = throughput(&samples, args.repeat, &|s| webp_decode(&s.webp).map(drop))?;

    let threads = rayon::current_num_threads();
    println!(
        "{} images, {:.2} MP; model {}; libwebp at matched size (mean quality {mean_quality:.1}); best of {}",
        samples.len(),
        pixels as f64 / 1e6,
        model.config().name,
        args.repeat
    );
    println!("{:<28} {:>12} {:>12} {:>8}", "", "walloc", "libwebp", "ratio");
    println!(
        "{:<28} {:>12.4} {:>12.4}",
        "bits per pixel",
        bpp(wal_bytes),
        bpp(webp_bytes)
    );
    let rows = [
        ("encode MP/s, 1 thread", encode_walloc.0, encode_webp.0),
        ("encode MP/s, all threads", encode_walloc.1, encode_webp.1),
        ("decode MP/s, 1 thread", decode_walloc.0, decode_webp.0),
        ("decode MP/s, all threads", decode_walloc.1, decode_webp.1),
    ];
    for (what, ours, theirs) in rows {
        let (ours, theirs) = (rate(pixels, ours), rate(pixels, theirs));
        let label = what.replace("all threads", &format!("{threads} threads"));
        println!("{label:<28} {ours:>12.2} {theirs:>12.2} {:>7.2}×", ours / theirs);
    }
    Ok(())
}
