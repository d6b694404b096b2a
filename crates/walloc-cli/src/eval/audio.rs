//! `walloc eval` on audio: every model, and Opus at a sweep of bitrates
//! plus the bitrate each model reached, on the first `--seconds` of every
//! file; PSNR (full scale), SNR, mega-samples per second.

use std::path::Path;

use anyhow::{bail, Context, Result};
use walloc::{Figures, Modality, Model};
use walloc_eval::metrics::{audio_psnr, snr};
use walloc_eval::peers::Opus;
use walloc_eval::report::{FileRow, Report};

use super::{bd_rates, means, per_second, timed, EvalArgs, Metric};
use crate::audio::{decode_samples, encode_source};
use crate::audio_in::{self, MemorySource};
use crate::io::progress;
use crate::models;

/// Opus bitrates swept, in kbit/s.
const OPUS_SWEEP: [u32; 8] = [8, 12, 16, 24, 32, 48, 64, 96];

/// The first seconds of one file, interleaved.
struct Clip {
    name: String,
    samples: Vec<f32>,
    channels: usize,
    rate: u32,
    bits: u32,
    format: walloc_codec::audio::SampleFormat,
}

impl Clip {
    fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.channels as f64 / f64::from(self.rate)
    }

    fn planar(&self) -> Vec<f32> {
        audio_in::planar(&self.samples, self.channels)
    }
}

fn read_clip(path: &Path, seconds: f64) -> Result<Clip> {
    let mut source = audio_in::open(path)?;
    let (channels, rate, format) = (source.channels(), source.sample_rate(), source.format());
    let frames = (seconds * f64::from(rate)).ceil() as usize;
    let planar = source.read_planar(frames)?;
    let length = planar.len() / channels.max(1);
    if length == 0 {
        bail!("{} has no samples", path.display());
    }
    let samples = audio_in::interleaved(&planar, channels);
    let bits = match format {
        walloc_codec::audio::SampleFormat::Int(bits) => u32::from(bits),
        walloc_codec::audio::SampleFormat::Float => 32,
    };
    Ok(Clip {
        name: path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into()),
        samples,
        channels,
        rate,
        bits,
        format,
    })
}

/// The row of one coding of a clip.
fn row(clip: &Clip, codec: String, setting: String, coded: (usize, Vec<f32>), times: (f64, f64), dr: f64) -> FileRow {
    let (bytes, decoded) = coded;
    let raw_bytes = clip.samples.len() as f64 * f64::from(clip.bits) / 8.0;
    FileRow {
        file: clip.name.clone(),
        codec,
        setting,
        bytes,
        rate: bytes as f64 * 8.0 / clip.seconds() / 1000.0,
        compression_ratio: raw_bytes / bytes as f64,
        dimensionality_reduction: dr,
        psnr: audio_psnr(&clip.samples, &decoded),
        ssim: None,
        ms_ssim: None,
        snr: Some(snr(&clip.samples, &decoded)),
        encode_rate: times.0,
        decode_rate: times.1,
    }
}

/// Opus on a clip of any channel count: channels coded in pairs (and a last
/// single one), each stream with its share of the bitrate.
fn opus_round_trip(clip: &Clip, kbps: u32) -> Result<(usize, Vec<f32>)> {
    let frames = clip.samples.len() / clip.channels;
    let mut decoded = vec![0f32; clip.samples.len()];
    let mut bytes = 0;
    for first in (0..clip.channels).step_by(2) {
        let group = (clip.channels - first).min(2);
        let part: Vec<f32> = (0..frames)
            .flat_map(|i| (0..group).map(move |c| clip.samples[i * clip.channels + first + c]))
            .collect();
        let opus = Opus {
            bitrate: kbps * 1000 * group as u32 / clip.channels as u32,
        };
        let result = opus.round_trip_any_rate(&part, group as u16, clip.rate)?;
        bytes += result.bytes;
        for i in 0..frames {
            for c in 0..group {
                decoded[i * clip.channels + first + c] = result.decoded[i * group + c];
            }
        }
    }
    Ok((bytes, decoded))
}

/// A model's figures on the first `seconds` of each audio file in `paths`
/// (those with the model's channel count or not: every file is coded).
pub fn figures(model: &Model, paths: &[std::path::PathBuf], seconds: f64, dataset: &str) -> Result<Figures> {
    let mut rows = Vec::new();
    let mut bits_per_sample = 0.0;
    for path in paths {
        let clip = read_clip(path, seconds).with_context(|| format!("reading {}", path.display()))?;
        let mut source = MemorySource::new(clip.planar(), clip.channels, clip.rate, clip.format);
        let file = encode_source(&mut source, model)?;
        let decoded = decode_samples(&file, model)?;
        bits_per_sample += file.len() as f64 * 8.0 / clip.samples.len() as f64;
        rows.push(row(
            &clip,
            String::new(),
            String::new(),
            (file.len(), decoded),
            (0.0, 0.0),
            0.0,
        ));
    }
    if rows.is_empty() {
        bail!("no audio files to measure {} on", model.config().name);
    }
    let n = rows.len() as f64;
    let mean = |f: &dyn Fn(&FileRow) -> f64| rows.iter().map(f).sum::<f64>() / n;
    Ok(Figures {
        dataset: dataset.to_string(),
        images: rows.len() as u32,
        bpp: bits_per_sample / n,
        psnr_db: mean(&|r| r.psnr),
        compression_ratio: mean(&|r| r.compression_ratio),
        kbps: Some(mean(&|r| r.rate)),
        snr_db: Some(mean(&|r| r.snr.unwrap_or(f64::NAN))),
        ssim: None,
    })
}

/// Evaluates audio models and Opus on the audio files of `args.data`.
pub fn evaluate(args: &EvalArgs) -> Result<Report> {
    let models: Vec<Model> = if args.model.is_empty() {
        models::embedded()?
            .iter()
            .filter(|m| m.config().modality == Modality::Audio)
            .cloned()
            .collect()
    } else {
        args.model.iter().map(|n| models::resolve(n)).collect::<Result<_>>()?
    };
    if let Some(image) = models.iter().find(|m| m.config().modality == Modality::Image) {
        bail!("model {} codes images, and --data holds audio", image.config().name);
    }
    let peers = args.against.clone().unwrap_or_else(|| vec!["opus".into()]);
    if let Some(unknown) = peers.iter().find(|p| p.as_str() != "opus") {
        bail!("unknown audio codec {unknown:?} in --against (known: opus)");
    }
    let with_opus = !peers.is_empty();
    if models.is_empty() && !with_opus {
        bail!("nothing to evaluate: no audio model (none embedded: pass --model FILE) and no peer");
    }
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], not {}", args.seconds);
    }
    let mut paths: Vec<_> = std::fs::read_dir(&args.data)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| audio_in::is_audio_path(p));
    paths.sort();
    let clips = paths
        .iter()
        .map(|p| read_clip(p, args.seconds).with_context(|| format!("reading {}", p.display())))
        .collect::<Result<Vec<_>>>()?;

    let (mut rows, mut sizes) = (Vec::new(), Vec::new());
    let bar = progress((clips.len() * models.len()) as u64, "walloc");
    for clip in &clips {
        let samples = clip.samples.len() as f64;
        for model in &models {
            let config = model.config();
            let mut source = MemorySource::new(clip.planar(), clip.channels, clip.rate, clip.format);
            let (file, encode) = timed(|| encode_source(&mut source, model))?;
            let (decoded, decode) = timed(|| decode_samples(&file, model))?;
            let times = (per_second(samples, encode), per_second(samples, decode));
            let dr = config.dimensionality_reduction();
            let codec = format!("walloc {}", config.architecture);
            rows.push(row(clip, codec, config.name.clone(), (file.len(), decoded), times, dr));
            sizes.push(samples);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if with_opus {
        // The sweep, and each model's own bitrate (rounded) for a matched point.
        let mut bitrates: Vec<u32> = OPUS_SWEEP.to_vec();
        for mean in means(&rows, &sizes) {
            bitrates.push(mean.rate.round().max(6.0) as u32);
        }
        bitrates.sort_unstable();
        bitrates.dedup();
        let bar = progress((clips.len() * bitrates.len()) as u64, "opus");
        for clip in &clips {
            let samples = clip.samples.len() as f64;
            for &kbps in &bitrates {
                let (coded, time) = timed(|| opus_round_trip(clip, kbps))?;
                // libopus encodes and decodes each frame in one pass: the
                // time is shared, so both figures are of the round trip.
                let round_trip = per_second(samples, time);
                let times = (round_trip, round_trip);
                rows.push(row(clip, "opus".into(), format!("{kbps}k"), coded, times, 1.0));
                sizes.push(samples);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
    }
    let means = means(&rows, &sizes);
    let metrics: [Metric; 2] = [("psnr", |m| Some(m.psnr)), ("snr", |m| m.snr)];
    let bd_rates = bd_rates(&means, &metrics);
    Ok(Report {
        modality: "audio".into(),
        rate_unit: "kbit/s".into(),
        files: rows,
        means,
        bd_rates,
    })
}
