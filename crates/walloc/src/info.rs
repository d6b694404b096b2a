//! What a `.wal` file holds, read from its header without decoding.

use walloc_codec::audio::{self as codec_audio, SampleFormat};
use walloc_codec::container;

use crate::{models, Limits, Modality, ModelId, Result, SampleType, Step, ValueRange};

/// A `.wal` file's description: model, shapes, size and ratios.
#[derive(Clone, Debug, PartialEq)]
pub struct FileInfo {
    /// Image, audio or volume.
    pub modality: Modality,
    /// Id of the model that made it.
    pub model_id: ModelId,
    /// Name of that model, when it is embedded.
    pub model_name: Option<String>,
    /// Lengths of the signal's axes: `[height, width]`, `[frames]` or
    /// `[depth, height, width]`.
    pub shape: Vec<usize>,
    /// Signal channels.
    pub channels: usize,
    /// Bits per original sample (8 or 16 for images; the PCM width for audio).
    pub sample_bits: u8,
    /// Whether the original samples were floats.
    pub float_samples: bool,
    /// Audio: frames per second.
    pub sample_rate: Option<u32>,
    /// Wavelet packet levels J.
    pub levels: u8,
    /// Axes of the wavelet packets: 2 for images and volumes coded slice
    /// by slice, 1 for audio, 3 for volumes coded in 3-D.
    pub packet_axes: u8,
    /// Latent channels.
    pub latent_channels: usize,
    /// Latent positions: `[height, width]` for images, the positions of
    /// all blocks for audio, `[depth, height, width]` of all slabs for
    /// volumes.
    pub latent_shape: Vec<usize>,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// How the latent is stored (`adaptive`, `rans`, `png`, `webp`).
    pub coder: &'static str,
    /// The quantizer step the latent was coded at (the quality knob).
    pub step: Step,
    /// Chunks in the file.
    pub chunks: usize,
    /// Audio: blocks; volumes: slabs.
    pub blocks: usize,
    /// Audio: channels the model codes at once, when the model codes
    /// fewer or more than the recording has (else equal to `channels`).
    pub group_channels: usize,
    /// Audio: frames per block; volumes: slices per slab (the last may be
    /// shorter).
    pub block_frames: Option<u32>,
    /// Volumes: the values the codec normalized by.
    pub value_range: Option<ValueRange>,
    /// Volumes: voxel spacing along width, height and depth.
    pub spacing: Option<[f32; 3]>,
    /// Volumes: tags of the source carried as they were (a cube's GeoTIFF
    /// georeferencing); 0 for other files.
    pub tags: usize,
    /// File size in bytes.
    pub bytes: usize,
}

impl FileInfo {
    /// Samples per channel: pixels, or frames.
    pub fn positions(&self) -> f64 {
        self.shape.iter().map(|&v| v as f64).product()
    }

    /// Bytes of the original samples (8- or 16-bit pixels; PCM or float audio).
    pub fn raw_bytes(&self) -> f64 {
        self.positions() * self.channels as f64 * f64::from(self.sample_bits) / 8.0
    }

    /// Raw bytes over file bytes.
    pub fn compression_ratio(&self) -> f64 {
        self.raw_bytes() / self.bytes as f64
    }

    /// File bits per pixel (images) or per frame (audio).
    pub fn bits_per_position(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.positions()
    }

    /// Audio: seconds of the recording.
    pub fn seconds(&self) -> Option<f64> {
        self.sample_rate.map(|rate| self.positions() / f64::from(rate))
    }

    /// Wavelet coefficients per latent value: the model's channels ×
    /// 2^(axes · J) over the latent channels.
    pub fn dimensionality_reduction(&self) -> f64 {
        let per_position = 2f64.powi(i32::from(self.levels) * i32::from(self.packet_axes));
        self.group_channels as f64 * per_position / self.latent_channels as f64
    }
}

/// The description `walloc info` prints: one "label: value" line each.
impl std::fmt::Display for FileInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.model_name.as_deref().unwrap_or("not embedded");
        writeln!(f, "model:                    {name} ({})", self.model_id)?;
        match self.modality {
            Modality::Audio => self.fmt_audio(f)?,
            Modality::Image => self.fmt_image(f)?,
            Modality::Volume => self.fmt_volume(f)?,
        }
        writeln!(f, "coder:                    {} ({} chunks)", self.coder, self.chunks)?;
        writeln!(f, "quantizer:                {}", self.step)?;
        writeln!(f, "bytes:                    {}", self.bytes)?;
        match self.seconds() {
            Some(seconds) => writeln!(
                f,
                "bitrate:                  {:.2} kbit/s",
                self.bytes as f64 * 8.0 / seconds / 1000.0
            )?,
            None if self.modality == Modality::Volume && self.channels > 1 => writeln!(
                f,
                "bits per voxel:           {:.4} ({:.4} per sample)",
                self.bits_per_position(),
                self.bits_per_position() / self.channels as f64
            )?,
            None if self.modality == Modality::Volume => {
                writeln!(f, "bits per voxel:           {:.4}", self.bits_per_position())?
            }
            None => writeln!(f, "bits per pixel:           {:.4}", self.bits_per_position())?,
        }
        writeln!(f, "compression ratio:        {:.2}:1", self.compression_ratio())?;
        writeln!(f, "dimensionality reduction: {:.2}×", self.dimensionality_reduction())
    }
}

impl FileInfo {
    fn fmt_audio(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.float_samples { "float" } else { "PCM" };
        writeln!(
            f,
            "audio:                    {} channels, {} Hz, {}-bit {kind}, {} frames ({:.2} s)",
            self.channels,
            self.sample_rate.unwrap_or(0),
            self.sample_bits,
            self.shape[0],
            self.seconds().unwrap_or(0.0)
        )?;
        writeln!(
            f,
            "latent:                   {} channels at {} bits, J={}, {} blocks of up to {} frames",
            self.latent_channels,
            self.latent_bits,
            self.levels,
            self.blocks,
            self.block_frames.unwrap_or(0)
        )?;
        if self.group_channels != self.channels || self.chunks != self.blocks {
            writeln!(
                f,
                "channel groups:           {} of {} channels per block ({} chunks)",
                self.chunks / self.blocks.max(1),
                self.group_channels,
                self.chunks
            )?;
        }
        Ok(())
    }

    fn fmt_volume(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.float_samples { "float" } else { "integer" };
        let range = self.value_range.unwrap_or(ValueRange { min: 0.0, max: 0.0 });
        let [sx, sy, sz] = self.spacing.unwrap_or([1.0; 3]);
        writeln!(
            f,
            "volume:                   {}×{}×{} (depth×height×width), {} channel{}, {}-bit {kind}, values {}..{}",
            self.shape[0],
            self.shape[1],
            self.shape[2],
            self.channels,
            if self.channels == 1 { "" } else { "s" },
            self.sample_bits,
            range.min,
            range.max
        )?;
        writeln!(f, "voxel spacing:            {sx} × {sy} × {sz} (x, y, z)")?;
        if self.tags > 0 {
            writeln!(f, "source tags:              {} (georeferencing)", self.tags)?;
        }
        writeln!(
            f,
            "latent:                   {}×{}×{}×{} at {} bits, J={}, {} slabs of up to {} slices",
            self.latent_channels,
            self.latent_shape[0],
            self.latent_shape[1],
            self.latent_shape[2],
            self.latent_bits,
            self.levels,
            self.blocks,
            self.block_frames.unwrap_or(0)
        )
    }

    fn fmt_image(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "image:                    {}×{}, {} channel{}, {} bits",
            self.shape[1],
            self.shape[0],
            self.channels,
            if self.channels == 1 { "" } else { "s" },
            self.sample_bits
        )?;
        writeln!(
            f,
            "latent:                   {}×{}×{} at {} bits, J={}",
            self.latent_channels, self.latent_shape[0], self.latent_shape[1], self.latent_bits, self.levels
        )
    }
}

/// Describes a `.wal` file (its header and chunk CRCs are checked).
pub fn info(bytes: &[u8], limits: &Limits) -> Result<FileInfo> {
    Ok(match container::modality(bytes)? {
        Modality::Image => {
            let (header, chunks) = container::parse(bytes, limits)?;
            FileInfo {
                modality: Modality::Image,
                model_id: header.model_id,
                model_name: models::name_of(header.model_id).map(String::from),
                shape: vec![header.height as usize, header.width as usize],
                channels: usize::from(header.channels),
                sample_bits: header.sample_bits,
                float_samples: false,
                sample_rate: None,
                levels: header.levels,
                packet_axes: 2,
                latent_channels: usize::from(header.latent_channels),
                latent_shape: vec![header.latent_height as usize, header.latent_width as usize],
                latent_bits: header.latent_bits,
                coder: header.coder.name(),
                step: header.step,
                chunks: chunks.len(),
                blocks: chunks.len(),
                group_channels: usize::from(header.channels),
                block_frames: None,
                value_range: None,
                spacing: None,
                tags: 0,
                bytes: bytes.len(),
            }
        }
        Modality::Audio => {
            let (header, chunks) = codec_audio::parse(bytes, limits)?;
            let (sample_bits, float_samples) = match header.format {
                SampleFormat::Int(bits) => (bits, false),
                SampleFormat::Float => (32, true),
            };
            let latent_positions = header
                .blocks()
                .map(|(_, frames)| header.block_latent_width(frames))
                .sum();
            FileInfo {
                modality: Modality::Audio,
                model_id: header.model_id,
                model_name: models::name_of(header.model_id).map(String::from),
                shape: vec![header.frames as usize],
                channels: usize::from(header.channels),
                sample_bits,
                float_samples,
                sample_rate: Some(header.sample_rate),
                levels: header.levels,
                packet_axes: 1,
                latent_channels: usize::from(header.latent_channels),
                latent_shape: vec![latent_positions],
                latent_bits: header.latent_bits,
                coder: header.coder.name(),
                step: header.step,
                chunks: chunks.len(),
                blocks: header.blocks().count(),
                group_channels: usize::from(header.group_channels()),
                block_frames: Some(header.block_frames),
                value_range: None,
                spacing: None,
                tags: 0,
                bytes: bytes.len(),
            }
        }
        Modality::Volume => {
            let (header, chunks) = walloc_codec::volume::parse(bytes, limits)?;
            // Axes are padded as the model's filters need (bior4.4 unless
            // an embedded model says otherwise).
            let filter_len = models::embedded()?
                .iter()
                .find(|m| m.id() == header.model_id)
                .map_or(10, |m| m.bank().len());
            let latent_depth = (0..header.slabs())
                .map(|i| header.latent_shape(header.slab(i).1, filter_len)[0])
                .sum();
            let [_, latent_height, latent_width] = header.latent_shape(1, filter_len);
            FileInfo {
                modality: Modality::Volume,
                model_id: header.model_id,
                model_name: models::name_of(header.model_id).map(String::from),
                shape: header.shape.iter().map(|&v| v as usize).collect(),
                channels: usize::from(header.channels),
                sample_bits: (header.sample_type.bytes() * 8) as u8,
                float_samples: header.sample_type == SampleType::F32,
                sample_rate: None,
                levels: header.levels,
                packet_axes: header.dims,
                latent_channels: usize::from(header.latent_channels),
                latent_shape: vec![latent_depth, latent_height, latent_width],
                latent_bits: header.latent_bits,
                coder: header.coder.name(),
                step: header.step,
                chunks: chunks.len() + 1,
                blocks: chunks.len(),
                group_channels: usize::from(header.channels),
                block_frames: Some(header.slab_depth),
                value_range: Some(header.range),
                spacing: Some(header.geometry.spacing()),
                tags: header.tags.len(),
                bytes: bytes.len(),
            }
        }
    })
}
