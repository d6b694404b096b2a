//! Evaluating walloc volume models on volumes and spectral cubes: bits per
//! voxel (per sample), compression ratio, PSNR over each volume's value
//! range (in HU for CT, whose range is in HU) and RMSE in its own units,
//! per-band PSNR and the spectral angle for cubes, and encode and decode
//! throughput in megavoxels per second; against JPEG 2000 run slice by
//! slice and zfp run on whole volumes, with BD-rates
//! ([`VolumeEvaluation`]); and a model's figures, as stored in its file.

use walloc::volume::{data_range, decode_volume, encode_volume, spec_of};
use walloc::{DecodeOptions, Figures, Modality, Model, SampleType, Samples, Signal, Step, ValueRange};
pub use walloc_io::cube::BandAxis;

use crate::choice::chosen_peers;
use crate::error::EvalError;
use crate::metrics::volume_psnr;
use crate::peers::jpeg2000::{self, Plane, JPEG2000_RATES};
use crate::peers::zfp::{self, ZFP_TOLERANCES};
use crate::report::{BandRow, FileRow, Metric, Report};
use crate::sweep::{model_qualities, quality_label, walloc_codec_name};
use crate::timing::{per_second, timed, Progress};

/// A volume to code: its name, its samples (3 axes) and, for a spectral
/// cube, where its bands are.
#[derive(Clone, Debug)]
pub struct Volume {
    /// The volume's name (its file name).
    pub name: String,
    /// The samples, over the range the encoder normalizes by.
    pub signal: Signal,
    /// A cube's band axis (its slices or its channels); `None` for scans.
    pub bands: Option<BandAxis>,
}

/// What coding one volume gave.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeRow {
    /// The volume's name.
    pub name: String,
    /// Bits of the file per voxel (per channel).
    pub bits_per_voxel: f64,
    /// Original bytes over file bytes.
    pub ratio: f64,
    /// PSNR over the volume's value range, in dB.
    pub psnr_db: f64,
    /// Encoding throughput, megavoxels per second.
    pub encode_mvox_s: f64,
    /// Decoding throughput, megavoxels per second.
    pub decode_mvox_s: f64,
}

/// Codes `volume` with `model` and measures the result.
pub fn measure(model: &Model, volume: &Volume) -> Result<VolumeRow, EvalError> {
    let signal = &volume.signal;
    let spec = spec_of(model, signal)?;
    let (file, encoding) = timed(|| encode_volume(model, signal, &spec))?;
    let ((decoded, _), decoding) = timed(|| decode_volume(model, &file, &DecodeOptions::default()))?;
    let voxels = signal.positions() as f64;
    let raw_bytes = signal.samples().len() as f64 * signal.sample_type().bytes() as f64;
    let peak = spec.range.max - spec.range.min;
    Ok(VolumeRow {
        name: volume.name.clone(),
        bits_per_voxel: file.len() as f64 * 8.0 / (voxels * signal.channels() as f64),
        ratio: raw_bytes / file.len() as f64,
        psnr_db: volume_psnr(signal.samples(), decoded.samples(), peak),
        encode_mvox_s: per_second(voxels, encoding),
        decode_mvox_s: per_second(voxels, decoding),
    })
}

/// The figures a volume model stores: means over `volumes` of bits per
/// voxel, PSNR over the value range and compression ratio, with the rows.
pub fn volume_figures(
    model: &Model,
    volumes: &[Volume],
    dataset: &str,
) -> Result<(Figures, Vec<VolumeRow>), EvalError> {
    let rows = volumes
        .iter()
        .map(|v| measure(model, v))
        .collect::<Result<Vec<_>, _>>()?;
    let mean = |f: fn(&VolumeRow) -> f64| rows.iter().map(f).sum::<f64>() / rows.len().max(1) as f64;
    let figures = Figures {
        dataset: dataset.to_string(),
        images: rows.len() as u32,
        bpp: mean(|r| r.bits_per_voxel),
        psnr_db: mean(|r| r.psnr_db),
        compression_ratio: mean(|r| r.ratio),
        ..Figures::default()
    };
    Ok((figures, rows))
}

/// The quality metric BD-rates of volumes are computed on.
const VOLUME_METRICS: [Metric; 1] = [("psnr", |m| Some(m.psnr))];

/// How close a decoding is: PSNR over the range, RMSE, and for cubes the
/// spectral angle and each band's PSNR.
struct Closeness {
    psnr: f64,
    rmse: f64,
    spectral_angle: Option<f64>,
    band_psnr: Vec<f64>,
}

impl Volume {
    fn shape(&self) -> [usize; 4] {
        let s = self.signal.shape();
        [s[0], s[1], s[2], self.signal.channels()]
    }

    /// The index of band `b`'s sample at pixel `p` (row-major over H×W).
    fn band_index(&self, axis: BandAxis, b: usize, p: usize) -> usize {
        let [_, h, w, c] = self.shape();
        match axis {
            BandAxis::Depth => (b * h * w + p) * c,
            BandAxis::Channels => p * c + b,
        }
    }

    fn closeness(&self, decoded: &Samples, peak: f64) -> Closeness {
        let original = self.signal.samples();
        let psnr = volume_psnr(original, decoded, peak);
        let mse = (0..original.len())
            .map(|i| (original.get(i) - decoded.get(i)).powi(2))
            .sum::<f64>()
            / original.len().max(1) as f64;
        let Some(axis) = self.bands else {
            return Closeness {
                psnr,
                rmse: mse.sqrt(),
                spectral_angle: None,
                band_psnr: Vec::new(),
            };
        };
        let [d, h, w, c] = self.shape();
        let bands = if axis == BandAxis::Depth { d } else { c };
        let band_psnr = (0..bands)
            .map(|b| {
                let sum: f64 = (0..h * w)
                    .map(|p| self.band_index(axis, b, p))
                    .map(|i| (original.get(i) - decoded.get(i)).powi(2))
                    .sum();
                crate::metrics::psnr_of_mse(sum / (h * w) as f64, peak)
            })
            .collect();
        let angle = (0..h * w)
            .map(|p| {
                let (mut dot, mut a2, mut b2) = (0.0, 0.0, 0.0);
                for b in 0..bands {
                    let i = self.band_index(axis, b, p);
                    let (x, y) = (original.get(i), decoded.get(i));
                    (dot, a2, b2) = (dot + x * y, a2 + x * x, b2 + y * y);
                }
                let norm = (a2 * b2).sqrt();
                if norm > 0.0 {
                    (dot / norm).clamp(-1.0, 1.0).acos().to_degrees()
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / (h * w).max(1) as f64;
        Closeness {
            psnr,
            rmse: mse.sqrt(),
            spectral_angle: Some(angle),
            band_psnr,
        }
    }

    /// Raw bytes of the samples.
    fn raw_bytes(&self) -> f64 {
        self.signal.samples().len() as f64 * self.signal.sample_type().bytes() as f64
    }

    /// JPEG 2000 at `bits` per sample on every plane (slice × channel),
    /// each coded on its own: the bytes and the decoded samples. Integer
    /// samples spanning at most 16 bits are coded as they are, offset by
    /// the minimum (a CT's 12 bits of HU); others are scaled to 16 bits
    /// over their range and scaled back.
    fn jpeg2000(&self, bits: f64) -> Result<Coded, EvalError> {
        let [d, h, w, c] = self.shape();
        let samples = self.signal.samples();
        let ValueRange { min, max } = data_range(samples);
        let integer = samples.sample_type() != SampleType::F32;
        let (precision, scale) = if integer && max - min < 65_536.0 {
            ((max - min + 1.0).log2().ceil().max(1.0) as u32, 1.0)
        } else {
            (16, 65_535.0 / (max - min))
        };
        let top = f64::from((1u32 << precision) - 1);
        let mut decoded = vec![0f32; samples.len()];
        let mut bytes = 0;
        let mut plane = vec![0i32; h * w];
        for z in 0..d {
            for channel in 0..c {
                let at = |p: usize| (z * h * w + p) * c + channel;
                for (p, v) in plane.iter_mut().enumerate() {
                    *v = ((samples.get(at(p)) - min) * scale).round().clamp(0.0, top) as i32;
                }
                let view = Plane {
                    samples: &plane,
                    width: w as u32,
                    height: h as u32,
                    precision,
                };
                let (size, back) = jpeg2000::round_trip(view, bits)?;
                bytes += size;
                for (p, v) in back.iter().enumerate() {
                    decoded[at(p)] = (f64::from(*v) / scale + min) as f32;
                }
            }
        }
        Ok((bytes, Samples::from_f32(samples.sample_type(), decoded.into_iter())))
    }

    /// zfp at an error tolerance of `fraction` of the data's range on each
    /// channel's volume as one 3-D field (a cube with its bands as
    /// channels: the bands as the third axis): the bytes and the decoded
    /// samples.
    fn zfp(&self, fraction: f64) -> Result<Coded, EvalError> {
        let [d, h, w, c] = self.shape();
        let samples = self.signal.samples();
        let ValueRange { min, max } = data_range(samples);
        let tolerance = fraction * (max - min);
        let mut decoded = vec![0f32; samples.len()];
        let mut bytes = 0;
        // One field per channel of `d` slices, or one slice's channels as
        // the field's depth.
        let channels_as_depth = d == 1 && c > 1;
        let (fields, depth) = if channels_as_depth { (1, c) } else { (c, d) };
        for field in 0..fields {
            // Sample i of the field (x fastest, then y, then depth).
            let at = |i: usize| {
                let (p, z) = (i % (h * w), i / (h * w));
                if channels_as_depth {
                    p * c + z
                } else {
                    (z * h * w + p) * c + field
                }
            };
            let values: Vec<f32> = (0..h * w * depth).map(|i| samples.get(at(i)) as f32).collect();
            let (size, back) = zfp::round_trip(&values, [w, h, depth], tolerance)?;
            bytes += size;
            for (i, v) in back.into_iter().enumerate() {
                decoded[at(i)] = v;
            }
        }
        Ok((bytes, Samples::from_f32(samples.sample_type(), decoded.into_iter())))
    }
}

/// The embedded volume models of `channels` channels: the default of a
/// volume evaluation.
pub fn embedded_volume_models(channels: usize) -> Result<Vec<Model>, EvalError> {
    Ok(walloc::models::embedded()?
        .iter()
        .filter(|m| m.config().modality == Modality::Volume && m.config().channels as usize == channels)
        .cloned()
        .collect())
}

/// What a peer's round trip gives: the file's bytes and the decoded
/// samples.
type Coded = (usize, Samples);

/// A volume peer: its name, the settings it is swept over, how a setting
/// is labelled, and its round trip of a volume at a setting.
struct VolumePeer {
    name: &'static str,
    sweep: &'static [f64],
    label: fn(f64) -> String,
    code: fn(&Volume, f64) -> Result<Coded, EvalError>,
}

fn bits_label(bits: f64) -> String {
    format!("{bits} b/s")
}

fn tolerance_label(fraction: f64) -> String {
    format!("tol {fraction}")
}

/// The volume peers: JPEG 2000 over target rates, zfp over tolerances.
const VOLUME_PEERS: [VolumePeer; 2] = [
    VolumePeer {
        name: "jpeg2000",
        sweep: &JPEG2000_RATES,
        label: bits_label,
        code: Volume::jpeg2000,
    },
    VolumePeer {
        name: "zfp",
        sweep: &ZFP_TOLERANCES,
        label: tolerance_label,
        code: Volume::zfp,
    },
];

/// An evaluation of volume models, and of JPEG 2000 and zfp when asked
/// for.
pub struct VolumeEvaluation {
    models: Vec<Model>,
    peers: Vec<&'static str>,
}

impl VolumeEvaluation {
    /// An evaluation of `models` (volume models) and of the peers named
    /// (default: both, `jpeg2000` and `zfp`).
    pub fn new(models: Vec<Model>, peers: Option<&[String]>) -> Result<Self, EvalError> {
        let known: Vec<&'static str> = VOLUME_PEERS.iter().map(|p| p.name).collect();
        let peers = chosen_peers(&models, Modality::Volume, &known, peers)?;
        Ok(VolumeEvaluation { models, peers })
    }

    /// Codes every volume with every model at every quality of the sweep,
    /// then with JPEG 2000 over its rate sweep and zfp over its tolerance
    /// sweep; rows, means, per-band PSNR of cubes and BD-rates on PSNR.
    pub fn evaluate(&self, volumes: &[Volume], progress: &mut dyn Progress) -> Result<Report, EvalError> {
        if let Some((model, volume)) = self.models.iter().find_map(|m| {
            volumes
                .iter()
                .find(|v| v.signal.channels() != m.config().channels as usize)
                .map(|v| (m, v))
        }) {
            return Err(EvalError::Invalid(format!(
                "model {} codes {}-channel volumes, and {} has {} channels",
                model.config().name,
                model.config().channels,
                volume.name,
                volume.signal.channels()
            )));
        }
        let (mut rows, mut sizes, mut bands) = (Vec::new(), Vec::new(), Vec::new());
        let mut add = |volume: &Volume, codec: String, setting: String, coded: (usize, &Samples), rates, dr| {
            let (bytes, decoded) = coded;
            let range = data_range(volume.signal.samples());
            let close = volume.closeness(decoded, range.max - range.min);
            let samples = volume.signal.samples().len() as f64;
            bands.extend(close.band_psnr.iter().enumerate().map(|(band, &psnr)| BandRow {
                file: volume.name.clone(),
                codec: codec.clone(),
                setting: setting.clone(),
                band,
                psnr,
            }));
            let (encode_rate, decode_rate) = rates;
            rows.push(FileRow {
                file: volume.name.clone(),
                codec,
                setting,
                bytes,
                rate: bytes as f64 * 8.0 / samples,
                compression_ratio: volume.raw_bytes() / bytes as f64,
                dimensionality_reduction: dr,
                psnr: close.psnr,
                ssim: None,
                ms_ssim: None,
                snr: None,
                rmse: Some(close.rmse),
                spectral_angle: close.spectral_angle,
                encode_rate,
                decode_rate,
            });
            sizes.push(volume.signal.positions() as f64);
        };
        progress.stage("walloc", (volumes.len() * model_qualities(&self.models).count()) as u64);
        for volume in volumes {
            let voxels = volume.signal.positions() as f64;
            for (model, quality) in model_qualities(&self.models) {
                let config = model.config();
                let mut spec = spec_of(model, &volume.signal)?;
                spec.step = Step::from_quality(quality)?;
                let (file, encode) = timed(|| encode_volume(model, &volume.signal, &spec))?;
                let ((decoded, _), decode) = timed(|| decode_volume(model, &file, &DecodeOptions::default()))?;
                let rates = (per_second(voxels, encode), per_second(voxels, decode));
                let codec = walloc_codec_name(&config.name, false);
                let dr = config.dimensionality_reduction();
                add(
                    volume,
                    codec,
                    quality_label(quality),
                    (file.len(), decoded.samples()),
                    rates,
                    dr,
                );
                progress.step();
            }
        }
        for peer in VOLUME_PEERS.iter().filter(|p| self.peers.contains(&p.name)) {
            progress.stage(peer.name, (volumes.len() * peer.sweep.len()) as u64);
            for volume in volumes {
                let voxels = volume.signal.positions() as f64;
                for &setting in peer.sweep {
                    let ((bytes, decoded), time) = timed(|| (peer.code)(volume, setting))?;
                    // A peer encodes and decodes in one call: both figures
                    // are of the round trip.
                    let round_trip = per_second(voxels, time);
                    let label = (peer.label)(setting);
                    add(
                        volume,
                        peer.name.into(),
                        label,
                        (bytes, &decoded),
                        (round_trip, round_trip),
                        1.0,
                    );
                    progress.step();
                }
            }
        }
        let mut report = Report::from_rows("volume", "bits/voxel", rows, &sizes, &VOLUME_METRICS, &[]);
        report.bands = bands;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6-band cube, one slice of six channels or six slices of one.
    fn cube(axis: BandAxis) -> Volume {
        let (h, w, bands) = (64usize, 48usize, 6usize);
        let value = |b: usize, p: usize| (100 + 10 * b + (p % w) + 2 * (p / w) + (p * 37 + b * 5) % 23 * 3) as f32;
        let (shape, channels, values): (Vec<usize>, usize, Vec<f32>) = match axis {
            BandAxis::Channels => (
                vec![1, h, w],
                bands,
                (0..h * w).flat_map(|p| (0..bands).map(move |b| value(b, p))).collect(),
            ),
            BandAxis::Depth => (
                vec![bands, h, w],
                1,
                (0..bands).flat_map(|b| (0..h * w).map(move |p| value(b, p))).collect(),
            ),
        };
        Volume {
            name: "cube".into(),
            signal: Signal::new(shape, channels, Samples::from_f32(SampleType::U16, values.into_iter())).unwrap(),
            bands: Some(axis),
        }
    }

    #[test]
    fn every_model_gives_a_curve_over_the_quality_sweep() {
        let model = walloc::models::named("cube-16x").unwrap();
        let evaluation = VolumeEvaluation::new(vec![model], Some(&["zfp".to_string()])).unwrap();
        let report = evaluation.evaluate(&[cube(BandAxis::Depth)], &mut ()).unwrap();
        let ours: Vec<&FileRow> = report.files.iter().filter(|r| r.codec == "walloc cube-16x").collect();
        let settings: Vec<&str> = ours.iter().map(|r| r.setting.as_str()).collect();
        assert_eq!(settings, ["q100", "q90", "q75", "q60", "q45", "q30", "q15"]);
        // A 64×48×6 cube's files are mostly headers: their sizes fall
        // over the sweep, not at every step of it.
        assert!(ours.windows(2).all(|w| w[0].psnr > w[1].psnr), "{ours:?}");
        assert!(
            ours[0].bytes > ours[2].bytes && ours[2].bytes > ours[6].bytes,
            "{ours:?}"
        );
        assert!(report
            .bd_rates
            .iter()
            .any(|b| b.codec == "walloc cube-16x" && b.anchor == "zfp"));
    }

    #[test]
    fn cube_metrics_see_bands_on_either_axis() {
        for axis in [BandAxis::Channels, BandAxis::Depth] {
            let volume = cube(axis);
            let original = volume.signal.samples().clone();
            // Band 2 off by 10 everywhere: its PSNR alone drops, and every
            // pixel's spectrum turns a little.
            let off: Vec<f32> = (0..original.len()).map(|i| original.get(i) as f32).collect();
            let mut shifted = off.clone();
            for p in 0..64 * 48 {
                shifted[volume.band_index(axis, 2, p)] += 10.0;
            }
            let decoded = Samples::from_f32(SampleType::U16, shifted.into_iter());
            let close = volume.closeness(&decoded, 100.0);
            let band = 20.0 * (100.0f64 / 10.0).log10();
            assert!((close.band_psnr[2] - band).abs() < 1e-9, "{axis:?}");
            assert!(close.band_psnr[0].is_infinite() || close.band_psnr[0] > 200.0);
            assert!((close.rmse - (100.0f64 / 6.0).sqrt()).abs() < 1e-9);
            let angle = close.spectral_angle.unwrap();
            assert!(angle > 0.5 && angle < 5.0, "{angle}");
        }
    }

    #[test]
    fn zfp_keeps_every_sample_within_its_tolerance_on_either_axis() {
        for axis in [BandAxis::Channels, BandAxis::Depth] {
            let volume = cube(axis);
            let range = data_range(volume.signal.samples());
            let (small, coarse) = volume.zfp(0.05).unwrap();
            let (large, fine) = volume.zfp(0.001).unwrap();
            assert!(small < large, "{axis:?}: {small} vs {large} bytes");
            let original = volume.signal.samples();
            let worst = |d: &Samples| {
                (0..d.len())
                    .map(|i| (d.get(i) - original.get(i)).abs())
                    .fold(0.0, f64::max)
            };
            // Integers are rounded after decoding: half a level more.
            let tolerance = |f: f64| f * (range.max - range.min) + 0.5;
            assert!(worst(&coarse) <= tolerance(0.05), "{axis:?}: {}", worst(&coarse));
            assert!(worst(&fine) <= tolerance(0.001), "{axis:?}: {}", worst(&fine));
        }
    }

    #[test]
    fn jpeg2000_codes_every_plane_and_gets_closer_with_rate() {
        for axis in [BandAxis::Channels, BandAxis::Depth] {
            let volume = cube(axis);
            let (small, coarse) = volume.jpeg2000(0.3).unwrap();
            let (large, fine) = volume.jpeg2000(2.0).unwrap();
            assert!(small < large, "{axis:?}: {small} vs {large} bytes");
            let peak = 100.0;
            let (a, b) = (volume.closeness(&coarse, peak).psnr, volume.closeness(&fine, peak).psnr);
            assert!(b > a + 6.0, "{axis:?}: {a:.1} → {b:.1} dB");
        }
    }
}
