//! Audio in the CLI: WAV in and out (`hound`), coded block by block so that
//! memory holds one block, not the whole recording.

use std::io::Seek;
use std::path::Path;

use anyhow::{bail, Context, Result};
use hound::{SampleFormat as WavFormat, WavSpec, WavWriter};
use indicatif::{ProgressBar, ProgressStyle};
use walloc_codec::audio::{self, AudioHeader, SampleFormat, DEFAULT_BLOCK_FRAMES};
use walloc_codec::{Latent, Model};
use walloc_nn::decode::AudioDecoder;

use crate::audio_in::{self, AudioSource};
use crate::io::{progress, write_atomically};

fn encode_from(source: &mut dyn AudioSource, model: &Model, block_frames: u32) -> Result<Vec<u8>> {
    let config = model.config();
    if !model.is_audio() {
        bail!("model {} codes images, not audio", config.name);
    }
    let channels = source.channels();
    if channels == 0 || channels > walloc_codec::model::MAX_CHANNELS as usize {
        bail!(
            "the audio has {channels} channels (1 to {} are coded)",
            walloc_codec::model::MAX_CHANNELS
        );
    }
    let group = config.channels as usize;
    // The length is known once the stream ends: the header comes last.
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("encoding {spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    let (mut chunks, mut frames) = (Vec::new(), 0u64);
    loop {
        let planar = source.read_planar(block_frames as usize)?;
        let block = (planar.len() / channels) as u32;
        if block == 0 {
            break;
        }
        for rows in channel_groups(&planar, channels, group) {
            chunks.push(audio::encode_block(model, rows, block)?);
        }
        frames += u64::from(block);
        bar.set_message(format!("{} chunks, {frames} frames", chunks.len()));
        if block < block_frames {
            break;
        }
    }
    bar.finish_and_clear();
    if frames == 0 {
        bail!("the audio has no samples");
    }
    let frames = u32::try_from(frames).context("more than 2^32 frames")?;
    let header = audio::header_for(
        model,
        channels as u8,
        source.format(),
        frames,
        source.sample_rate(),
        block_frames,
    )?;
    Ok(audio::write(&header, &chunks))
}

/// Planar rows cut into groups of `group` channels for a model that codes
/// that many; the last group is filled up by repeating its last row.
fn channel_groups(planar: &[f32], channels: usize, group: usize) -> Vec<Vec<f32>> {
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

/// Decodes one block's chunks (one per channel group) into planar rows of
/// the recording's channels.
fn decode_groups(decoder: &AudioDecoder, header: &AudioHeader, payloads: &[&[u8]], frames: u32) -> Result<Vec<f32>> {
    let (channels, group) = (usize::from(header.channels), usize::from(header.group_channels()));
    let mut planar = Vec::with_capacity(channels * frames as usize);
    for (index, payload) in payloads.iter().enumerate() {
        let rows = decoder.decode_block(header, payload, frames)?;
        let keep = group.min(channels - index * group);
        planar.extend_from_slice(&rows[..keep * frames as usize]);
    }
    Ok(planar)
}

/// Encodes an audio file (WAV, FLAC, Ogg Vorbis), read block by block, into
/// a `.wal` file image.
pub fn encode_file(input: &Path, model: &Model) -> Result<Vec<u8>> {
    let mut source = audio_in::open(input)?;
    encode_from(source.as_mut(), model, DEFAULT_BLOCK_FRAMES)
        .with_context(|| format!("encoding {} with {}", input.display(), model.config().name))
}

/// Encodes any audio source into a `.wal` file image.
pub fn encode_source(source: &mut dyn AudioSource, model: &Model) -> Result<Vec<u8>> {
    encode_from(source, model, DEFAULT_BLOCK_FRAMES)
}

/// Decodes a `.wal` audio file image into interleaved samples in [-1, 1]
/// (before rounding to the original format).
pub fn decode_samples(bytes: &[u8], model: &Model) -> Result<Vec<f32>> {
    let (header, chunks) = audio::parse(bytes, &walloc_codec::Limits::default())?;
    let decoder = AudioDecoder::new(model)?;
    let channels = usize::from(header.channels);
    let mut samples = Vec::with_capacity(header.frames as usize * channels);
    let groups = header.groups() as usize;
    for ((_, frames), payloads) in header.blocks().zip(chunks.chunks(groups)) {
        let planar = decode_groups(&decoder, &header, payloads, frames)?;
        samples.extend(audio_in::interleaved(&planar, channels));
    }
    Ok(samples)
}

/// Encodes a WAV file held in memory (stdin) into a `.wal` file image.
pub fn encode_bytes(bytes: Vec<u8>, model: &Model) -> Result<Vec<u8>> {
    let mut source = audio_in::from_wav_bytes(bytes)?;
    encode_from(source.as_mut(), model, DEFAULT_BLOCK_FRAMES)
        .with_context(|| format!("encoding with {}", model.config().name))
}

/// Interleaves planar samples and writes them in the original format.
fn write_block<W: std::io::Write + Seek>(
    writer: &mut WavWriter<W>,
    planar: &[f32],
    channels: usize,
    format: SampleFormat,
) -> Result<()> {
    let frames = planar.len() / channels;
    for i in 0..frames {
        for c in 0..channels {
            let v = planar[c * frames + i];
            match format {
                SampleFormat::Float => writer.write_sample(v)?,
                SampleFormat::Int(bits) => {
                    let full = (1i64 << (bits - 1)) as f32;
                    let q = (v * full).round().clamp(-full, full - 1.0);
                    writer.write_sample(q as i32)?
                }
            }
        }
    }
    Ok(())
}

fn wav_spec(header: &AudioHeader) -> WavSpec {
    let (bits, sample_format) = match header.format {
        SampleFormat::Int(bits) => (u16::from(bits), WavFormat::Int),
        SampleFormat::Float => (32, WavFormat::Float),
    };
    WavSpec {
        channels: u16::from(header.channels),
        sample_rate: header.sample_rate,
        bits_per_sample: bits,
        sample_format,
    }
}

/// Decodes a parsed audio `.wal` file (its header and block payloads) into
/// a WAV file at `output` (atomically; `-` for stdout).
pub fn decode(header: &AudioHeader, chunks: &[&[u8]], output: &Path, model: &Model) -> Result<()> {
    let decoder = AudioDecoder::new(model)?;
    let channels = usize::from(header.channels);
    write_atomically(output, |sink| {
        let mut writer = WavWriter::new(sink, wav_spec(header))?;
        let bar = progress(header.chunk_count.into(), "decoding");
        let groups = header.groups() as usize;
        for ((_, frames), payloads) in header.blocks().zip(chunks.chunks(groups)) {
            let planar = decode_groups(&decoder, header, payloads, frames)?;
            write_block(&mut writer, &planar, channels, header.format)?;
            bar.inc(groups as u64);
        }
        bar.finish_and_clear();
        writer.finalize()?;
        Ok(())
    })
}

/// The latents of up to `max_blocks` blocks of every audio file in `dir`
/// (for counting entropy tables).
pub fn latents_of_folder(dir: &Path, model: &Model, max_blocks: usize) -> Result<Vec<Latent>> {
    let files = crate::fit_audio::audio_files(dir)?;
    let channels = model.config().channels as usize;
    let block = audio::PAD_MULTIPLE * 4;
    let mut latents = Vec::new();
    for file in files {
        let mut source = audio_in::open(&file)?;
        if source.channels() != channels {
            eprintln!("note: skipping {} ({} channels)", file.display(), source.channels());
            continue;
        }
        for _ in 0..max_blocks {
            let planar = source.read_planar(block as usize)?;
            let length = (planar.len() / channels) as u32;
            if length == 0 {
                break;
            }
            latents.push(audio::analyze_block(model, planar, length)?.1);
        }
    }
    Ok(latents)
}
