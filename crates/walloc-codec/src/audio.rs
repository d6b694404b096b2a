//! Audio in `.wal` files (docs/FORMAT.md, "Audio"): the reference's
//! normalization and padding, and fixed-size blocks coded independently,
//! each with its own level, so that a long recording is encoded and decoded
//! in bounded memory. A recording no longer than one block is coded exactly
//! as the reference codes it.

use walloc_wavelet::Signal;

use crate::codec::{EncodeOptions, Latent};
use crate::config::Modality;
use crate::container::{
    banded_coder_field, checked_header, header_prefix, parse_chunks, seal, step_field, u32_at, version_for,
    write_sealed, LatentCoder, Limits, HEADER_LEN,
};
use crate::entropy::BandCoder;
use crate::error::{invalid, CodecError, Result};
use crate::model::{Model, ModelId};
use crate::registry::{Analysis, Synthesis};
use crate::signal::Samples;
use crate::step::Step;

/// Each block is zero-padded on the right to a multiple of this many
/// frames, as the reference pads its input.
pub const PAD_MULTIPLE: u32 = 1 << 16;

/// Frames per block the encoder uses by default (47.5 s at 44.1 kHz).
pub const DEFAULT_BLOCK_FRAMES: u32 = 1 << 21;

/// Largest block a file may declare (bounds the memory of one block).
pub const MAX_BLOCK_FRAMES: u32 = 1 << 24;

/// Largest sample rate a file may declare.
pub const MAX_SAMPLE_RATE: u32 = 1_000_000;

/// How the original samples were stored (decoding writes the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// Signed integers of 8 (unsigned in WAV), 16, 24 or 32 bits.
    Int(u8),
    /// 32-bit floats.
    Float,
}

impl SampleFormat {
    fn to_codes(self) -> (u8, u8) {
        match self {
            SampleFormat::Int(bits) => (bits, 0),
            SampleFormat::Float => (32, 1),
        }
    }

    /// Planar samples at full scale ±1 (`channels` rows) rounded to this
    /// format, interleaved: 8-bit PCM as `uint8` (offset by 128), 16-bit as
    /// `int16`, 24- and 32-bit as `int32`, floats as they are.
    pub fn quantize(self, planar: &[f32], channels: usize) -> Samples {
        let frames = planar.len() / channels.max(1);
        let at = |i: usize| planar[(i % channels) * frames + i / channels];
        let count = frames * channels;
        let bits = match self {
            SampleFormat::Float => return Samples::F32((0..count).map(at).collect()),
            SampleFormat::Int(bits) => bits,
        };
        let full = (1i64 << (bits - 1)) as f32;
        let round = |v: f32| (v * full).round().clamp(-full, full - 1.0);
        match bits {
            8 => Samples::U8((0..count).map(|i| (round(at(i)) as i32 + 128) as u8).collect()),
            16 => Samples::I16((0..count).map(|i| round(at(i)) as i16).collect()),
            _ => Samples::I32((0..count).map(|i| round(at(i)) as i32).collect()),
        }
    }

    fn from_codes(bits: u8, kind: u8) -> Result<Self> {
        match (bits, kind) {
            (8 | 16 | 24 | 32, 0) => Ok(SampleFormat::Int(bits)),
            (32, 1) => Ok(SampleFormat::Float),
            _ => Err(invalid(
                "sample format",
                format!("{bits} bits, kind {kind} (8/16/24/32-bit integers or 32-bit floats)"),
            )),
        }
    }
}

/// The header of an audio `.wal` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioHeader {
    /// SHA-256 of the model file that made the latents.
    pub model_id: ModelId,
    /// Audio channels of the recording.
    pub channels: u8,
    /// Channels the model codes at once, when it differs from `channels`
    /// (0: the same). A recording is coded in groups of this many channels,
    /// the last group filled up by repeating its last channel.
    pub model_channels: u8,
    /// Sample format of the original.
    pub format: SampleFormat,
    /// Frames (samples per channel) of the original.
    pub frames: u32,
    /// Frames per second.
    pub sample_rate: u32,
    /// Wavelet packet levels J.
    pub levels: u8,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Latent channels.
    pub latent_channels: u16,
    /// Latent positions the encoder adds on each side of a block.
    pub latent_edge: u8,
    /// Frames per block (the last block may be shorter).
    pub block_frames: u32,
    /// Number of chunks: blocks × channel groups.
    pub chunk_count: u32,
    /// How the latents are entropy-coded: rANS or adaptive.
    pub coder: LatentCoder,
    /// The quantizer step the latents were coded at.
    pub step: Step,
}

impl AudioHeader {
    /// Channels per group: what the model codes at once.
    pub fn group_channels(&self) -> u8 {
        if self.model_channels == 0 {
            self.channels
        } else {
            self.model_channels
        }
    }

    /// Channel groups per block (chunks per block).
    pub fn groups(&self) -> u32 {
        u32::from(self.channels).div_ceil(u32::from(self.group_channels().max(1)))
    }

    /// `(first frame, frames)` of each block; block `i` is chunks
    /// `i * groups .. (i + 1) * groups`, one per channel group.
    pub fn blocks(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.frames.div_ceil(self.block_frames)).map(|b| {
            let start = b * self.block_frames;
            (start, self.block_frames.min(self.frames - start))
        })
    }

    /// Checks internal consistency and the limits.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        if self.channels == 0 || u32::from(self.channels) > crate::model::MAX_CHANNELS {
            return Err(invalid("channels", self.channels));
        }
        if u32::from(self.model_channels) > crate::model::MAX_CHANNELS {
            return Err(invalid("model channels", self.model_channels));
        }
        if self.frames == 0 {
            return Err(invalid("frames", "0"));
        }
        if !(1..=MAX_SAMPLE_RATE).contains(&self.sample_rate) {
            return Err(invalid(
                "sample rate",
                format!("{} (1..={MAX_SAMPLE_RATE})", self.sample_rate),
            ));
        }
        if !(1..=crate::model::MAX_LEVELS_1D as u8).contains(&self.levels) {
            return Err(invalid("levels", self.levels));
        }
        if !(2..=8).contains(&self.latent_bits) {
            return Err(invalid("latent bits", format!("{} (2..=8)", self.latent_bits)));
        }
        if self.latent_channels == 0 {
            return Err(invalid("latent channels", "0"));
        }
        if !self.coder.is_banded() {
            return Err(invalid(
                "latent coder",
                format!("{} (audio is rANS- or adaptive-coded)", self.coder.name()),
            ));
        }
        if self.latent_edge > 1 {
            return Err(invalid("latent edge", format!("{} (0 or 1)", self.latent_edge)));
        }
        if self.block_frames == 0
            || !self.block_frames.is_multiple_of(PAD_MULTIPLE)
            || self.block_frames > MAX_BLOCK_FRAMES
        {
            return Err(invalid(
                "block frames",
                format!(
                    "{} (a multiple of {PAD_MULTIPLE}, at most {MAX_BLOCK_FRAMES})",
                    self.block_frames
                ),
            ));
        }
        let values = u64::from(self.latent_channels) * self.block_latent_width(self.block_frames) as u64;
        limits.check_latent_values(values)?;
        let expected = self.frames.div_ceil(self.block_frames) * self.groups();
        if self.chunk_count != expected {
            return Err(invalid(
                "chunk count",
                format!(
                    "{} ({} frames in blocks of {} and {} channel groups need {expected})",
                    self.chunk_count,
                    self.frames,
                    self.block_frames,
                    self.groups()
                ),
            ));
        }
        Ok(())
    }

    /// Latent positions of a block of `frames` frames, edges included.
    pub fn block_latent_width(&self, frames: u32) -> usize {
        (padded_frames(frames) >> self.levels) as usize + 2 * usize::from(self.latent_edge)
    }

    fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = header_prefix(Modality::Audio, &self.model_id);
        let (bits, kind) = self.format.to_codes();
        b[40] = self.channels;
        b[41] = bits;
        b[42..46].copy_from_slice(&self.frames.to_le_bytes());
        b[46..50].copy_from_slice(&self.sample_rate.to_le_bytes());
        b[50] = self.levels;
        b[51] = self.latent_bits;
        b[52..54].copy_from_slice(&self.latent_channels.to_le_bytes());
        b[54] = self.latent_edge;
        b[55] = self.model_channels;
        b[56] = self.step.code() as u8;
        b[57] = self.coder as u8;
        b[4] = version_for(self.coder, self.step);
        b[63] = kind;
        b[64..68].copy_from_slice(&self.block_frames.to_le_bytes());
        b[68..72].copy_from_slice(&self.chunk_count.to_le_bytes());
        seal(b)
    }
}

/// `frames` rounded up to [`PAD_MULTIPLE`].
pub fn padded_frames(frames: u32) -> u32 {
    frames.div_ceil(PAD_MULTIPLE) * PAD_MULTIPLE
}

/// Parses an audio file: its header (checked against `limits`) and its
/// block payloads.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(AudioHeader, Vec<&'a [u8]>)> {
    let (b, modality) = checked_header(bytes)?;
    if modality != Modality::Audio {
        return Err(invalid("modality", format!("{modality} (this is not an audio file)")));
    }
    if b[58..63].iter().any(|&v| v != 0) {
        return Err(invalid("reserved bytes", "not zero"));
    }
    let mut model_id = [0u8; 32];
    model_id.copy_from_slice(&b[8..40]);
    let header = AudioHeader {
        model_id: ModelId(model_id),
        channels: b[40],
        model_channels: b[55],
        format: SampleFormat::from_codes(b[41], b[63])?,
        frames: u32_at(b, 42),
        sample_rate: u32_at(b, 46),
        levels: b[50],
        latent_bits: b[51],
        latent_channels: u16::from_le_bytes([b[52], b[53]]),
        latent_edge: b[54],
        block_frames: u32_at(b, 64),
        chunk_count: u32_at(b, 68),
        coder: banded_coder_field(b, 57)?,
        step: step_field(b, 56)?,
    };
    header.validate(limits)?;
    let chunks = parse_chunks(bytes, header.chunk_count)?;
    Ok((header, chunks))
}

/// Writes an audio file image.
pub fn write(header: &AudioHeader, chunks: &[Vec<u8>]) -> Vec<u8> {
    write_sealed(&header.to_bytes(), chunks)
}

/// The reference's level normalization of one block, stored with it so that
/// decoding restores the original level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// The mean that was subtracted.
    pub offset: f32,
    /// `max |x − mean| + 1e-8`; the signal was divided by twice this.
    pub scale: f32,
}

impl Level {
    /// Normalizes `samples` in place as the reference does: subtract the
    /// mean, divide by `max |x| + 1e-8`, then by 2 (so that |x| ≤ 1/2).
    pub fn normalize(samples: &mut [f32]) -> Level {
        let mean = (samples.iter().map(|&v| f64::from(v)).sum::<f64>() / samples.len().max(1) as f64) as f32;
        samples.iter_mut().for_each(|v| *v -= mean);
        let scale = samples.iter().fold(0.0f32, |m, v| m.max(v.abs())) + 1e-8;
        samples.iter_mut().for_each(|v| *v = *v / scale / 2.0);
        Level { offset: mean, scale }
    }

    /// A decoded sample (clamped to ±1/2, as the reference's Hardtanh) at
    /// the original level.
    pub fn restore(&self, value: f32) -> f32 {
        value.clamp(-0.5, 0.5) * 2.0 * self.scale + self.offset
    }
}

/// Normalizes one block of planar samples (`channels` rows of `frames`),
/// pads it and runs `encoder` (the model's, from the registry): its
/// [`Level`] and integer latent.
pub fn analyze_block(
    encoder: &dyn Analysis,
    model: &Model,
    mut planar: Vec<f32>,
    frames: u32,
) -> Result<(Level, Latent)> {
    let config = model.config();
    let channels = config.channels as usize;
    if planar.len() != channels * frames as usize || frames == 0 {
        return Err(CodecError::IncompatibleInput(format!(
            "{} samples for {channels} channels of {frames} frames",
            planar.len()
        )));
    }
    let level = Level::normalize(&mut planar);
    let padded = padded_frames(frames) as usize;
    let mut data = vec![0.0f32; channels * padded];
    for (row, samples) in data.chunks_exact_mut(padded).zip(planar.chunks_exact(frames as usize)) {
        row[..samples.len()].copy_from_slice(samples);
    }
    drop(planar);
    let signal = Signal::new(data, channels, vec![padded])?;
    let latent = encoder.analyze(signal)?;
    Ok((level, latent))
}

/// Encodes one block of planar samples (`channels` rows of `frames`) into a
/// chunk payload: its [`Level`] (two f32) and the latent coded by `coder`
/// (the model's, at the encoder's step).
pub fn encode_block(
    encoder: &dyn Analysis,
    coder: &BandCoder,
    model: &Model,
    planar: Vec<f32>,
    frames: u32,
) -> Result<Vec<u8>> {
    let (level, latent) = analyze_block(encoder, model, planar, frames)?;
    let words = coder.encode(&latent.symbols, latent.width, 0..latent.width, latent.width)?;
    let mut payload = Vec::with_capacity(8 + words.len());
    payload.extend_from_slice(&level.offset.to_le_bytes());
    payload.extend_from_slice(&level.scale.to_le_bytes());
    payload.extend_from_slice(&words);
    Ok(payload)
}

/// Decodes the level and the integer latent of block `frames` long.
pub fn decode_block_latent(
    model: &Model,
    header: &AudioHeader,
    payload: &[u8],
    frames: u32,
) -> Result<(Level, Latent)> {
    if payload.len() < 8 {
        return Err(CodecError::Truncated("audio block level"));
    }
    let f32_at = |at: usize| f32::from_le_bytes([payload[at], payload[at + 1], payload[at + 2], payload[at + 3]]);
    let level = Level {
        offset: f32_at(0),
        scale: f32_at(4),
    };
    if !(level.offset.is_finite() && level.scale.is_finite() && level.scale > 0.0) {
        return Err(invalid("audio block level", format!("{level:?}")));
    }
    let k = usize::from(header.latent_channels);
    let width = header.block_latent_width(frames);
    let mut symbols = vec![0u8; k * width];
    model
        .band_coder(header.coder, header.step)?
        .decode(&payload[8..], &mut symbols, width, 0..width, width)?;
    Ok((
        level,
        Latent {
            depth: 1,
            channels: k,
            height: 1,
            width,
            symbols,
            step: header.step,
        },
    ))
}

/// The first `frames` frames of each of the model's channels that
/// `decoder` synthesizes from `latent`, at `level` (planar rows).
pub fn synthesize_block(
    decoder: &dyn Synthesis,
    model: &Model,
    latent: &Latent,
    frames: usize,
    level: Level,
) -> Result<Vec<f32>> {
    let samples = decoder.synthesize(latent)?;
    let channels = model.config().channels as usize;
    let padded = samples.shape[0];
    if samples.channels != channels || padded < frames {
        return Err(CodecError::IncompatibleInput(format!(
            "the decoder gave {} channels of {padded} frames for {channels} of {frames}",
            samples.channels
        )));
    }
    Ok(samples
        .data
        .chunks_exact(padded)
        .flat_map(|row| row[..frames].iter().map(|&v| level.restore(v)))
        .collect())
}

/// Decodes one block's chunks (one per channel group) into planar rows of
/// the recording's channels, at the original level.
pub fn decode_groups(
    decoder: &dyn Synthesis,
    model: &Model,
    header: &AudioHeader,
    payloads: &[&[u8]],
    frames: u32,
) -> Result<Vec<f32>> {
    let (channels, group) = (usize::from(header.channels), usize::from(header.group_channels()));
    let mut planar = Vec::with_capacity(channels * frames as usize);
    for (index, payload) in payloads.iter().enumerate() {
        let (level, latent) = decode_block_latent(model, header, payload, frames)?;
        let rows = synthesize_block(decoder, model, &latent, frames as usize, level)?;
        let keep = group.min(channels - index * group);
        planar.extend_from_slice(&rows[..keep * frames as usize]);
    }
    Ok(planar)
}

/// The `length`-frame piece of a planar block of `channels` rows from
/// frame `start`.
pub fn segment(block: &[f32], channels: usize, start: usize, length: usize) -> Vec<f32> {
    let frames = block.len() / channels;
    block
        .chunks_exact(frames)
        .flat_map(|row| row[start..start + length].iter().copied())
        .collect()
}

/// Planar rows cut into groups of `group` channels for a model that codes
/// that many; the last group is filled up by repeating its last row.
pub fn channel_groups(planar: &[f32], channels: usize, group: usize) -> Vec<Vec<f32>> {
    let frames = planar.len() / channels;
    let rows: Vec<&[f32]> = planar.chunks_exact(frames.max(1)).collect();
    (0..channels)
        .step_by(group)
        .map(|first| {
            (first..first + group)
                .flat_map(|c| rows[c.min(channels - 1)].iter().copied())
                .collect()
        })
        .collect()
}

/// Checks that an audio `header` was made by `model`.
pub fn check_model(header: &AudioHeader, model: &Model) -> Result<()> {
    model.check_id(header.model_id)?;
    let config = model.config();
    let same = config.modality == Modality::Audio
        && u32::from(header.group_channels()) == config.channels
        && u32::from(header.levels) == config.levels
        && header.latent_bits == config.latent_bits
        && u32::from(header.latent_channels) == config.latent_dim
        && usize::from(header.latent_edge) == config.latent_edge();
    if !same {
        return Err(invalid(
            "header",
            format!("shape fields disagree with model {}", config.name),
        ));
    }
    Ok(())
}

/// The header for `frames` frames of `channels`-channel audio coded by
/// `model` in blocks of `block_frames` (in groups of the model's channels)
/// with the coder and step of `options`.
pub fn header_for(
    model: &Model,
    channels: u8,
    format: SampleFormat,
    frames: u32,
    sample_rate: u32,
    block_frames: u32,
    options: &EncodeOptions,
) -> Result<AudioHeader> {
    let config = model.config();
    if config.modality != Modality::Audio {
        return Err(CodecError::IncompatibleInput(format!(
            "model {} codes images, not audio",
            config.name
        )));
    }
    let model_channels = config.channels as u8;
    let groups = u32::from(channels).div_ceil(u32::from(model_channels.max(1)));
    let header = AudioHeader {
        model_id: model.id(),
        channels,
        model_channels: if channels == model_channels { 0 } else { model_channels },
        format,
        frames,
        sample_rate,
        levels: config.levels as u8,
        latent_bits: config.latent_bits,
        latent_channels: config.latent_dim as u16,
        latent_edge: config.latent_edge() as u8,
        block_frames,
        chunk_count: frames.div_ceil(block_frames.max(1)) * groups,
        coder: options.coder,
        step: options.step,
    };
    header.validate(&Limits::default())?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> AudioHeader {
        AudioHeader {
            model_id: ModelId([3; 32]),
            channels: 2,
            model_channels: 0,
            format: SampleFormat::Int(24),
            frames: 150_000,
            sample_rate: 44_100,
            levels: 8,
            latent_bits: 8,
            latent_channels: 27,
            latent_edge: 1,
            block_frames: 1 << 16,
            chunk_count: 3,
            coder: LatentCoder::Rans,
            step: Step::NATIVE,
        }
    }

    #[test]
    fn the_coder_and_the_step_are_version_2() {
        let v1 = write(&header(), &[vec![1; 4], vec![2; 4], vec![3; 4]]);
        assert_eq!((v1[4], v1[56], v1[57]), (1, 0, 0));
        let h = AudioHeader {
            coder: LatentCoder::Adaptive,
            step: Step::from_quality(30.0).unwrap(),
            ..header()
        };
        let bytes = write(&h, &[vec![1; 4], vec![2; 4], vec![3; 4]]);
        assert_eq!((bytes[4], bytes[56] as i8, bytes[57]), (2, 36, 3));
        assert_eq!(parse(&bytes, &Limits::default()).unwrap().0, h);
        // Version 1 keeps both bytes reserved; a latent image is not audio's.
        let mut v1_adaptive = v1.clone();
        v1_adaptive[57] = 3;
        let mut v2_png = bytes.clone();
        v2_png[57] = 1;
        for (mut damaged, field) in [(v1_adaptive, "latent coder"), (v2_png, "latent coder")] {
            let crc = crc32fast::hash(&damaged[..72]);
            damaged[72..76].copy_from_slice(&crc.to_le_bytes());
            let err = parse(&damaged, &Limits::default()).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn header_round_trips_and_every_bit_flip_is_detected() {
        let chunks = vec![vec![1; 12], vec![2; 9], vec![3; 8]];
        let bytes = write(&header(), &chunks);
        let (parsed, payloads) = parse(&bytes, &Limits::default()).unwrap();
        assert_eq!(parsed, header());
        assert_eq!(payloads, vec![&[1u8; 12][..], &[2; 9][..], &[3; 8][..]]);
        assert_eq!(
            parsed.blocks().collect::<Vec<_>>(),
            vec![(0, 65_536), (65_536, 65_536), (131_072, 18_928)]
        );
        assert_eq!(parsed.block_latent_width(18_928), 256 + 2);
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(parse(&damaged, &Limits::default()).is_err(), "byte {i}");
        }
        // An image parser names the modality.
        let err = crate::container::parse(&bytes, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("audio"), "{err}");
    }

    #[test]
    fn channel_groups_multiply_the_chunks() {
        // Five channels through a stereo model: three groups per block.
        let h = AudioHeader {
            channels: 5,
            model_channels: 2,
            chunk_count: 9,
            ..header()
        };
        assert_eq!((h.group_channels(), h.groups()), (2, 3));
        assert_eq!(h.blocks().count(), 3);
        let chunks: Vec<Vec<u8>> = (0..9).map(|i| vec![i; 4]).collect();
        let bytes = write(&h, &chunks);
        let (parsed, payloads) = parse(&bytes, &Limits::default()).unwrap();
        assert_eq!((parsed, payloads.len()), (h.clone(), 9));
        let wrong = AudioHeader { chunk_count: 3, ..h };
        let err = wrong.validate(&Limits::default()).unwrap_err();
        assert!(err.to_string().contains("3 channel groups"), "{err}");
    }

    #[test]
    fn inconsistent_headers_are_named() {
        type Change = fn(&mut AudioHeader);
        let cases: [(Change, &str); 5] = [
            (|h| h.chunk_count = 2, "chunk count"),
            (|h| h.block_frames = 1000, "block frames"),
            (|h| h.block_frames = MAX_BLOCK_FRAMES * 2, "block frames"),
            (|h| h.sample_rate = 0, "sample rate"),
            (|h| h.latent_channels = u16::MAX, "latent size"),
        ];
        for (change, field) in cases {
            let mut h = header();
            change(&mut h);
            let limits = Limits::default().with_max_latent_values(1 << 20);
            let err = h.validate(&limits).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn level_normalizes_and_restores() {
        let mut x = vec![0.25f32, 0.75, -0.25, 0.25];
        let level = Level::normalize(&mut x);
        assert_eq!(level.offset, 0.25);
        assert_eq!(x, vec![0.0, 0.5, -0.5, 0.0]);
        assert!((level.restore(0.5) - 0.75).abs() < 1e-6);
        assert!((level.restore(9.0) - 0.75).abs() < 1e-6, "clamped like the reference");
    }
}
