//! Audio of any length and channel count, in bounded memory: an
//! [`AudioEncoder`] takes samples as they come and codes each full block
//! (2^21 frames by default) at once, so that it holds one block; an
//! [`AudioDecoder`] yields the recording block by block. A recording with
//! more or fewer channels than the model codes is coded in groups of the
//! model's channels (docs/FORMAT.md).

use walloc_codec::audio::{self as codec_audio, Level};
use walloc_codec::entropy::BandCoder;
use walloc_codec::registry::{Analysis, Synthesis};

pub use walloc_codec::audio::{AudioHeader, SampleFormat, DEFAULT_BLOCK_FRAMES, MAX_BLOCK_FRAMES, PAD_MULTIPLE};

use crate::{
    find_model, registry, DecodeOptions, EncodeOptions, Error, Latent, Modality, Model, Result, SampleType, Samples,
    Signal, ValueRange,
};

/// What an audio file records of a recording besides its samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioFormat {
    /// Channels of the recording (1 to 64).
    pub channels: usize,
    /// Frames per second.
    pub sample_rate: u32,
    /// How the samples were stored; decoding gives them back so.
    pub format: SampleFormat,
}

impl AudioFormat {
    /// The format of an audio signal (1 axis, with a sample rate):
    /// `uint8` is 8-bit PCM, `int16` 16-bit, `int32` 24-bit when its range
    /// is ±2^23 and 32-bit otherwise, `float32` float.
    pub fn of(signal: &Signal) -> Result<Self> {
        if signal.axes() != 1 {
            return Err(Error::IncompatibleInput(format!(
                "audio has 1 axis (frames, channels), this signal has {}",
                signal.axes()
            )));
        }
        let sample_rate = signal
            .sample_rate()
            .ok_or_else(|| Error::IncompatibleInput("audio needs a sample rate".into()))?;
        let format = match signal.sample_type() {
            SampleType::U8 => SampleFormat::Int(8),
            SampleType::I16 => SampleFormat::Int(16),
            SampleType::I32 if signal.range() == range_of(SampleFormat::Int(24)) => SampleFormat::Int(24),
            SampleType::I32 => SampleFormat::Int(32),
            SampleType::F32 => SampleFormat::Float,
            other => {
                return Err(Error::IncompatibleInput(format!(
                    "audio samples are uint8, int16, int32 or float32, not {}",
                    other.name()
                )))
            }
        };
        Ok(AudioFormat {
            channels: signal.channels(),
            sample_rate,
            format,
        })
    }
}

/// The value range of samples stored as `format` (24-bit PCM in `int32`
/// spans ±2^23).
fn range_of(format: SampleFormat) -> ValueRange {
    match format {
        SampleFormat::Int(24) => ValueRange {
            min: -8_388_608.0,
            max: 8_388_607.0,
        },
        other => sample_type_of(other).default_range(),
    }
}

fn sample_type_of(format: SampleFormat) -> SampleType {
    match format {
        SampleFormat::Int(8) => SampleType::U8,
        SampleFormat::Int(16) => SampleType::I16,
        SampleFormat::Int(_) => SampleType::I32,
        SampleFormat::Float => SampleType::F32,
    }
}

fn check_audio_model(model: &Model) -> Result<()> {
    match model.config().modality {
        Modality::Audio => Ok(()),
        other => Err(Error::IncompatibleInput(format!(
            "model {} codes {other}s, not audio",
            model.config().name
        ))),
    }
}

/// Encodes audio as it comes, a block at a time.
pub struct AudioEncoder<'m> {
    model: &'m Model,
    encoder: Box<dyn Analysis + 'm>,
    coder: BandCoder<'m>,
    options: EncodeOptions,
    format: AudioFormat,
    block_frames: u32,
    /// The samples of the block being filled, one row per channel.
    pending: Vec<Vec<f32>>,
    chunks: Vec<Vec<u8>>,
    frames: u64,
}

impl<'m> AudioEncoder<'m> {
    /// An encoder of `format` audio with `model`, in blocks of
    /// [`DEFAULT_BLOCK_FRAMES`], with the default coder at the model's own
    /// step.
    pub fn new(model: &'m Model, format: AudioFormat) -> Result<Self> {
        Self::with_options(model, format, &EncodeOptions::default())
    }

    /// An encoder of `format` audio with `model` at the coder and step of
    /// `options` (rANS or adaptive; a latent image is refused).
    pub fn with_options(model: &'m Model, format: AudioFormat, options: &EncodeOptions) -> Result<Self> {
        check_audio_model(model)?;
        let max = walloc_codec::model::MAX_CHANNELS as usize;
        if format.channels == 0 || format.channels > max {
            return Err(Error::IncompatibleInput(format!(
                "the audio has {} channels (1 to {max} are coded)",
                format.channels
            )));
        }
        crate::check_banded(options, "audio")?;
        Ok(AudioEncoder {
            // A block is one band: a chunk of all its rows.
            encoder: registry().encoder_for(model, options, usize::MAX)?,
            coder: model.band_coder(options.coder, options.step)?,
            options: *options,
            model,
            format,
            block_frames: DEFAULT_BLOCK_FRAMES,
            pending: vec![Vec::new(); format.channels],
            chunks: Vec::new(),
            frames: 0,
        })
    }

    /// The same encoder with blocks of `frames` frames (a multiple of
    /// [`PAD_MULTIPLE`], at most [`MAX_BLOCK_FRAMES`]); before any push.
    pub fn with_block_frames(mut self, frames: u32) -> Result<Self> {
        if frames == 0 || !frames.is_multiple_of(PAD_MULTIPLE) || frames > MAX_BLOCK_FRAMES {
            return Err(Error::InvalidField {
                field: "block frames",
                value: format!("{frames} (a multiple of {PAD_MULTIPLE}, at most {MAX_BLOCK_FRAMES})"),
            });
        }
        self.block_frames = frames;
        Ok(self)
    }

    /// Frames per block.
    pub fn block_frames(&self) -> u32 {
        self.block_frames
    }

    /// Frames taken so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Chunks coded so far (blocks × channel groups).
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Takes planar samples at full scale ±1: `channels` rows of equal
    /// length, one after the other.
    pub fn push_planar(&mut self, planar: &[f32]) -> Result<()> {
        let channels = self.format.channels;
        if !planar.len().is_multiple_of(channels) {
            return Err(Error::IncompatibleInput(format!(
                "{} samples are not {channels} rows of equal length",
                planar.len()
            )));
        }
        let frames = planar.len() / channels;
        if self.frames + frames as u64 > u64::from(u32::MAX) {
            return Err(Error::LimitExceeded {
                what: "audio frames",
                value: self.frames + frames as u64,
                limit: u32::MAX.into(),
            });
        }
        let mut taken = 0;
        while taken < frames {
            let room = self.block_frames as usize - self.pending[0].len();
            let take = room.min(frames - taken);
            for (c, row) in self.pending.iter_mut().enumerate() {
                row.extend_from_slice(&planar[c * frames + taken..c * frames + taken + take]);
            }
            taken += take;
            if self.pending[0].len() == self.block_frames as usize {
                self.code_pending()?;
            }
        }
        self.frames += frames as u64;
        Ok(())
    }

    /// Takes interleaved samples at full scale ±1.
    pub fn push_interleaved(&mut self, interleaved: &[f32]) -> Result<()> {
        self.push_planar(&planar_of(interleaved, self.format.channels))
    }

    /// Codes the pending block, one chunk per channel group.
    fn code_pending(&mut self) -> Result<()> {
        let frames = self.pending[0].len() as u32;
        let group = self.model.config().channels as usize;
        let planar: Vec<f32> = self.pending.iter().flatten().copied().collect();
        self.pending.iter_mut().for_each(Vec::clear);
        for rows in codec_audio::channel_groups(&planar, self.format.channels, group) {
            let chunk = codec_audio::encode_block(self.encoder.as_ref(), &self.coder, self.model, rows, frames)?;
            self.chunks.push(chunk);
        }
        Ok(())
    }

    /// Codes what is left and returns the `.wal` file image.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if !self.pending[0].is_empty() {
            self.code_pending()?;
        }
        if self.frames == 0 {
            return Err(Error::IncompatibleInput("the audio has no samples".into()));
        }
        let header = codec_audio::header_for(
            self.model,
            self.format.channels as u8,
            self.format.format,
            self.frames as u32,
            self.format.sample_rate,
            self.block_frames,
            &self.options,
        )?;
        Ok(codec_audio::write(&header, &self.chunks))
    }
}

/// Planar rows of interleaved samples.
pub fn planar_of(interleaved: &[f32], channels: usize) -> Vec<f32> {
    (0..channels)
        .flat_map(|c| interleaved.iter().skip(c).step_by(channels).copied())
        .collect()
}

/// Interleaved samples of planar rows.
pub fn interleaved_of(planar: &[f32], channels: usize) -> Vec<f32> {
    let frames = planar.len() / channels.max(1);
    (0..frames)
        .flat_map(|i| (0..channels).map(move |c| planar[c * frames + i]))
        .collect()
}

/// Decodes an audio `.wal` file block by block: each item is one block's
/// planar samples (the recording's channels) at the original level.
pub struct AudioDecoder<'a> {
    model: &'a Model,
    header: AudioHeader,
    chunks: Vec<&'a [u8]>,
    decoder: Box<dyn Synthesis + 'a>,
    next: usize,
}

impl<'a> AudioDecoder<'a> {
    /// Parses `bytes` and loads the decoder of the model among `models`
    /// that the file names.
    pub fn new(bytes: &'a [u8], models: &'a [Model], options: &DecodeOptions) -> Result<Self> {
        let (header, chunks) = codec_audio::parse(bytes, &options.limits)?;
        let model = find_model(header.model_id, models)?;
        codec_audio::check_model(&header, model)?;
        Ok(AudioDecoder {
            decoder: registry().decoder(model, &options.decoder)?,
            model,
            header,
            chunks,
            next: 0,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &AudioHeader {
        &self.header
    }

    /// The recording's format.
    pub fn format(&self) -> AudioFormat {
        AudioFormat {
            channels: usize::from(self.header.channels),
            sample_rate: self.header.sample_rate,
            format: self.header.format,
        }
    }

    /// The model that decodes the file.
    pub fn model(&self) -> &Model {
        self.model
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.header.blocks().count()
    }
}

impl Iterator for AudioDecoder<'_> {
    type Item = Result<Vec<f32>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (_, frames) = self.header.blocks().nth(self.next)?;
        let groups = self.header.groups() as usize;
        let payloads = &self.chunks[self.next * groups..(self.next + 1) * groups];
        self.next += 1;
        Some(codec_audio::decode_groups(
            self.decoder.as_ref(),
            self.model,
            &self.header,
            payloads,
            frames,
        ))
    }
}

pub(crate) fn encode(model: &Model, signal: &Signal, options: &EncodeOptions) -> Result<Vec<u8>> {
    let mut encoder = AudioEncoder::with_options(model, AudioFormat::of(signal)?, options)?;
    encoder.push_planar(&signal.to_planar_audio())?;
    encoder.finish()
}

pub(crate) fn decode(bytes: &[u8], models: &[Model], options: &DecodeOptions) -> Result<Signal> {
    let decoder = AudioDecoder::new(bytes, models, options)?;
    let format = decoder.format();
    let mut samples = Samples::empty(sample_type_of(format.format));
    for block in decoder {
        samples.append(format.format.quantize(&block?, format.channels));
    }
    let frames = samples.len() / format.channels;
    Signal::audio(frames, format.channels, samples, format.sample_rate)?.with_range(range_of(format.format))
}

/// The planar full-scale samples of an audio signal with the model's
/// channels, no longer than one block.
fn one_block(model: &Model, signal: &Signal) -> Result<(Vec<f32>, u32)> {
    check_audio_model(model)?;
    let channels = model.config().channels as usize;
    if signal.axes() != 1 || signal.channels() != channels {
        return Err(Error::IncompatibleInput(format!(
            "model {} analyzes {channels}-channel audio (frames, channels), not a signal of shape {:?} with {} channels",
            model.config().name,
            signal.shape(),
            signal.channels()
        )));
    }
    let frames = signal.positions();
    if frames > MAX_BLOCK_FRAMES as usize {
        return Err(Error::LimitExceeded {
            what: "frames of one analyzed block",
            value: frames as u64,
            limit: MAX_BLOCK_FRAMES.into(),
        });
    }
    Ok((signal.to_planar_audio(), frames as u32))
}

pub(crate) fn analyze(model: &Model, signal: &Signal) -> Result<Latent> {
    let (planar, frames) = one_block(model, signal)?;
    let encoder = registry().encoder(model)?;
    Ok(codec_audio::analyze_block(encoder.as_ref(), model, planar, frames)?.1)
}

pub(crate) fn synthesize(model: &Model, latent: &Latent, shape: &[usize]) -> Result<Signal> {
    check_audio_model(model)?;
    let &[frames] = shape else {
        return Err(Error::IncompatibleInput(format!(
            "an audio shape is [frames], not {shape:?}"
        )));
    };
    let decoder = registry().decoder(model, &Default::default())?;
    let channels = model.config().channels as usize;
    // The latent does not carry the level: full scale is twice the
    // normalized peak of 1/2.
    let level = Level {
        offset: 0.0,
        scale: 1.0,
    };
    let planar = codec_audio::synthesize_block(decoder.as_ref(), model, latent, frames, level)?;
    let samples = SampleFormat::Float.quantize(&planar, channels);
    Signal::new(vec![frames], channels, samples)
}
