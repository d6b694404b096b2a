//! Evaluating walloc volume models on volumes: bits per voxel, compression
//! ratio, PSNR over each volume's value range (in HU for CT), and encode
//! and decode throughput in megavoxels per second; a model's figures, as
//! stored in its file.

use walloc::volume::{decode_volume, encode_volume, spec_of};
use walloc::{DecodeOptions, Figures, Model, Signal};

use crate::error::EvalError;
use crate::metrics::volume_psnr;
use crate::timing::{per_second, timed};

/// A volume to code: its name and its samples (3 axes).
#[derive(Clone, Debug)]
pub struct Volume {
    /// The volume's name (its file name).
    pub name: String,
    /// The samples, over the range the encoder normalizes by.
    pub signal: Signal,
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
