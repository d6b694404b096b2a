//! Evaluating walloc audio models and Opus on clips: every model, and Opus
//! at a sweep of bitrates plus the bitrate each model reached; PSNR (full
//! scale), SNR, mega-samples per second. Also a model's figures on clips,
//! as stored in its file.

use walloc::audio::{interleaved_of, AudioDecoder, AudioEncoder, AudioFormat, SampleFormat};
use walloc::{DecodeOptions, EncodeOptions, Figures, Modality, Model, Step};

use crate::choice::chosen_peers;
use crate::error::EvalError;
use crate::metrics::{audio_psnr, snr};
use crate::peers::Opus;
use crate::report::{means, FileRow, Metric, Report};
use crate::sweep::{model_qualities, quality_label, walloc_codec_name, NATIVE_QUALITY};
use crate::timing::{per_second, timed, Progress};

/// Opus bitrates swept, in kbit/s.
pub const OPUS_SWEEP: [u32; 8] = [8, 12, 16, 24, 32, 48, 64, 96];

/// The metrics BD-rates are computed on for audio.
const AUDIO_METRICS: [Metric; 2] = [("psnr", |m| Some(m.psnr)), ("snr", |m| m.snr)];

/// A piece of a recording to code: interleaved samples at full scale ±1.
#[derive(Clone, Debug)]
pub struct Clip {
    /// The recording's name (its file name).
    pub name: String,
    /// Interleaved samples.
    pub samples: Vec<f32>,
    /// Channels.
    pub channels: usize,
    /// Frames per second.
    pub sample_rate: u32,
    /// How the recording stored its samples (sets the raw size).
    pub format: SampleFormat,
}

impl Clip {
    /// Seconds of the clip.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.channels.max(1) as f64 / f64::from(self.sample_rate)
    }

    /// Bytes of the clip in its original sample format.
    fn raw_bytes(&self) -> f64 {
        let bits = match self.format {
            SampleFormat::Int(bits) => f64::from(bits),
            SampleFormat::Float => 32.0,
        };
        self.samples.len() as f64 * bits / 8.0
    }

    /// The clip coded by walloc with `model` at quantizer `step`: the
    /// `.wal` file.
    pub fn walloc_encode(&self, model: &Model, step: Step) -> Result<Vec<u8>, EvalError> {
        let format = AudioFormat {
            channels: self.channels,
            sample_rate: self.sample_rate,
            format: self.format,
        };
        let options = EncodeOptions::default().with_step(step);
        let mut encoder = AudioEncoder::with_options(model, format, &options)?;
        encoder.push_interleaved(&self.samples)?;
        Ok(encoder.finish()?)
    }

    /// Opus at `kbps` on a clip of any channel count: channels coded in
    /// pairs (and a last single one), each stream with its share of the
    /// bitrate; the bytes and the interleaved decoding.
    pub fn opus_round_trip(&self, kbps: u32) -> Result<(usize, Vec<f32>), EvalError> {
        let channels = self.channels;
        let frames = self.samples.len() / channels;
        let mut decoded = vec![0f32; self.samples.len()];
        let mut bytes = 0;
        for first in (0..channels).step_by(2) {
            let group = (channels - first).min(2);
            let part: Vec<f32> = (0..frames)
                .flat_map(|i| (0..group).map(move |c| self.samples[i * channels + first + c]))
                .collect();
            let opus = Opus {
                bitrate: kbps * 1000 * group as u32 / channels as u32,
            };
            let result = opus.round_trip_any_rate(&part, group as u16, self.sample_rate)?;
            bytes += result.bytes;
            for i in 0..frames {
                for c in 0..group {
                    decoded[i * channels + first + c] = result.decoded[i * group + c];
                }
            }
        }
        Ok((bytes, decoded))
    }

    /// The row of one coding of the clip.
    fn row(&self, codec: String, setting: String, coded: (usize, &[f32]), rates: (f64, f64), dr: f64) -> FileRow {
        let (bytes, decoded) = coded;
        FileRow {
            file: self.name.clone(),
            codec,
            setting,
            bytes,
            rate: bytes as f64 * 8.0 / self.seconds() / 1000.0,
            compression_ratio: self.raw_bytes() / bytes as f64,
            dimensionality_reduction: dr,
            psnr: audio_psnr(&self.samples, decoded),
            ssim: None,
            ms_ssim: None,
            snr: Some(snr(&self.samples, decoded)),
            rmse: None,
            spectral_angle: None,
            encode_rate: rates.0,
            decode_rate: rates.1,
        }
    }
}

/// Decodes an audio `.wal` file made with `model` into interleaved
/// samples at full scale (before rounding to the original format).
pub fn decode_interleaved(file: &[u8], model: &Model) -> Result<Vec<f32>, EvalError> {
    let decoder = AudioDecoder::new(file, std::slice::from_ref(model), &DecodeOptions::default())?;
    let channels = decoder.format().channels;
    let mut samples = Vec::new();
    for block in decoder {
        samples.extend(interleaved_of(&block?, channels));
    }
    Ok(samples)
}

/// The embedded audio models, the default of an audio evaluation.
pub fn embedded_audio_models() -> Result<Vec<Model>, EvalError> {
    Ok(walloc::models::embedded()?
        .iter()
        .filter(|m| m.config().modality == Modality::Audio)
        .cloned()
        .collect())
}

/// An evaluation of audio models, and of Opus when asked for.
pub struct AudioEvaluation {
    models: Vec<Model>,
    opus: bool,
}

impl AudioEvaluation {
    /// An evaluation of `models` (audio models) and of the peers named
    /// (default: Opus, the only audio peer).
    pub fn new(models: Vec<Model>, peers: Option<&[String]>) -> Result<Self, EvalError> {
        let opus = !chosen_peers(&models, Modality::Audio, &["opus"], peers)?.is_empty();
        Ok(AudioEvaluation { models, opus })
    }

    /// Codes every clip with every model at every quality of the sweep,
    /// then with Opus at its sweep and at each model's mean bitrate at its
    /// own step; rows, means and BD-rates on PSNR and SNR.
    pub fn evaluate(&self, clips: &[Clip], progress: &mut dyn Progress) -> Result<Report, EvalError> {
        let (mut rows, mut sizes) = (Vec::new(), Vec::new());
        progress.stage("walloc", (clips.len() * model_qualities(&self.models).count()) as u64);
        for clip in clips {
            let samples = clip.samples.len() as f64;
            for (model, quality) in model_qualities(&self.models) {
                let config = model.config();
                let (file, encode) = timed(|| clip.walloc_encode(model, Step::from_quality(quality)?))?;
                let (decoded, decode) = timed(|| decode_interleaved(&file, model))?;
                let rates = (per_second(samples, encode), per_second(samples, decode));
                let codec = walloc_codec_name(&config.name, false);
                let dr = config.dimensionality_reduction();
                rows.push(clip.row(codec, quality_label(quality), (file.len(), &decoded), rates, dr));
                sizes.push(samples);
                progress.step();
            }
        }
        if self.opus {
            // The sweep, and each model's own bitrate (rounded) for a matched point.
            let mut bitrates: Vec<u32> = OPUS_SWEEP.to_vec();
            let native = quality_label(NATIVE_QUALITY);
            bitrates.extend(
                means(&rows, &sizes)
                    .iter()
                    .filter(|m| m.setting == native)
                    .map(|m| m.rate.round().max(6.0) as u32),
            );
            bitrates.sort_unstable();
            bitrates.dedup();
            progress.stage("opus", (clips.len() * bitrates.len()) as u64);
            for clip in clips {
                let samples = clip.samples.len() as f64;
                for &kbps in &bitrates {
                    let ((bytes, decoded), time) = timed(|| clip.opus_round_trip(kbps))?;
                    // libopus encodes and decodes each frame in one pass: the
                    // time is shared, so both figures are of the round trip.
                    let round_trip = per_second(samples, time);
                    let rates = (round_trip, round_trip);
                    rows.push(clip.row("opus".into(), format!("{kbps}k"), (bytes, &decoded), rates, 1.0));
                    sizes.push(samples);
                    progress.step();
                }
            }
        }
        Ok(Report::from_rows("audio", "kbit/s", rows, &sizes, &AUDIO_METRICS, &[]))
    }
}

/// A model's figures on `clips` (of its channel count or not: every clip
/// is coded), as stored in a model file under `dataset`.
pub fn audio_figures(model: &Model, clips: &[Clip], dataset: &str) -> Result<Figures, EvalError> {
    if clips.is_empty() {
        return Err(EvalError::Invalid(format!(
            "no audio files to measure {} on",
            model.config().name
        )));
    }
    let mut rows = Vec::new();
    let mut bits_per_sample = 0.0;
    for clip in clips {
        let file = clip.walloc_encode(model, Step::NATIVE)?;
        let decoded = decode_interleaved(&file, model)?;
        bits_per_sample += file.len() as f64 * 8.0 / clip.samples.len() as f64;
        rows.push(clip.row(String::new(), String::new(), (file.len(), &decoded), (0.0, 0.0), 0.0));
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
