//! Audio in the CLI: WAV in and out (`hound`), coded block by block so that
//! memory holds one block, not the whole recording.

use std::io::{Cursor, Read, Seek};
use std::path::Path;

use anyhow::{bail, Context, Result};
use hound::{SampleFormat as WavFormat, WavReader, WavSpec, WavWriter};
use indicatif::{ProgressBar, ProgressStyle};
use walloc_codec::audio::{self, AudioHeader, SampleFormat, DEFAULT_BLOCK_FRAMES};
use walloc_codec::{Latent, Limits, Model};
use walloc_nn::decode::AudioDecoder;

use crate::io::write_atomically;

/// Whether `bytes` start like a WAV file (`RIFF....WAVE`).
pub fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

/// Whether `path` names a WAV file by its extension or its first bytes.
pub fn looks_like_wav(path: &Path) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("wave"));
    let by_content = || {
        let mut head = [0u8; 12];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| is_wav(&head))
    };
    by_name || (path != Path::new("-") && by_content())
}

/// The format of a WAV stream as the container records it.
fn sample_format(spec: &WavSpec) -> Result<SampleFormat> {
    match (spec.sample_format, spec.bits_per_sample) {
        (WavFormat::Int, bits @ (8 | 16 | 24 | 32)) => Ok(SampleFormat::Int(bits as u8)),
        (WavFormat::Float, 32) => Ok(SampleFormat::Float),
        (format, bits) => {
            bail!("{bits}-bit {format:?} WAV samples are not supported (8/16/24/32-bit PCM, 32-bit float)")
        }
    }
}

/// Reads up to `frames` interleaved frames as planar f32 in [-1, 1].
fn read_block<R: Read + Seek>(reader: &mut WavReader<R>, channels: usize, frames: usize) -> Result<Vec<f32>> {
    let spec = reader.spec();
    let wanted = frames * channels;
    let interleaved: Vec<f32> = match spec.sample_format {
        WavFormat::Float => reader.samples::<f32>().take(wanted).collect::<Result<_, _>>()?,
        WavFormat::Int => {
            let unit = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .take(wanted)
                .map(|s| s.map(|v| v as f32 * unit))
                .collect::<Result<_, _>>()?
        }
    };
    if interleaved.len() != wanted {
        bail!(
            "the WAV data ends early ({} of {wanted} samples in a block)",
            interleaved.len()
        );
    }
    Ok((0..channels)
        .flat_map(|c| interleaved.iter().skip(c).step_by(channels).copied())
        .collect())
}

fn progress(blocks: u64, what: &str) -> ProgressBar {
    let bar = if blocks > 1 {
        ProgressBar::new(blocks)
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template(&format!("{what} {{bar:30}} {{pos}}/{{len}} blocks, ETA {{eta}}")) {
        bar.set_style(style);
    }
    bar
}

fn encode_from<R: Read + Seek>(reader: &mut WavReader<R>, model: &Model, block_frames: u32) -> Result<Vec<u8>> {
    let spec = reader.spec();
    let config = model.config();
    if !model.is_audio() {
        bail!("model {} codes images, not audio", config.name);
    }
    if u32::from(spec.channels) != config.channels {
        bail!(
            "the audio has {} channels; model {} codes {}",
            spec.channels,
            config.name,
            config.channels
        );
    }
    let frames = reader.duration();
    if frames == 0 {
        bail!("the audio has no samples");
    }
    let header = audio::header_for(model, sample_format(&spec)?, frames, spec.sample_rate, block_frames)?;
    let bar = progress(header.chunk_count.into(), "encoding");
    let channels = usize::from(spec.channels);
    let mut chunks = Vec::with_capacity(header.chunk_count as usize);
    for (_, block) in header.blocks() {
        let planar = read_block(reader, channels, block as usize)?;
        chunks.push(audio::encode_block(model, planar, block)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(audio::write(&header, &chunks))
}

/// Encodes a WAV file, streamed block by block, into a `.wal` file image.
pub fn encode_file(input: &Path, model: &Model) -> Result<Vec<u8>> {
    let mut reader = WavReader::open(input).with_context(|| format!("reading WAV {}", input.display()))?;
    encode_from(&mut reader, model, DEFAULT_BLOCK_FRAMES)
        .with_context(|| format!("encoding {} with {}", input.display(), model.config().name))
}

/// Encodes a WAV file held in memory (stdin) into a `.wal` file image.
pub fn encode_bytes(bytes: Vec<u8>, model: &Model) -> Result<Vec<u8>> {
    let mut reader = WavReader::new(Cursor::new(bytes)).context("reading WAV from stdin")?;
    encode_from(&mut reader, model, DEFAULT_BLOCK_FRAMES)
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

/// Decodes an audio `.wal` file image into a WAV file at `output`
/// (atomically; `-` for stdout).
pub fn decode(bytes: &[u8], output: &Path, model: &Model) -> Result<()> {
    let (header, chunks) = audio::parse(bytes, &Limits::default())?;
    audio::check_model(&header, model)?;
    let decoder = AudioDecoder::new(model)?;
    let channels = usize::from(header.channels);
    write_atomically(output, |sink| {
        let mut writer = WavWriter::new(sink, wav_spec(&header))?;
        let bar = progress(header.chunk_count.into(), "decoding");
        for ((_, frames), payload) in header.blocks().zip(&chunks) {
            let planar = decoder.decode_block(&header, payload, frames)?;
            write_block(&mut writer, &planar, channels, header.format)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        writer.finalize()?;
        Ok(())
    })
}

/// The latents of up to `max_blocks` blocks of every WAV file in `dir`
/// (for counting entropy tables).
pub fn latents_of_folder(dir: &Path, model: &Model, max_blocks: usize) -> Result<Vec<Latent>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && looks_like_wav(p))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no WAV files in {}", dir.display());
    }
    let channels = model.config().channels as usize;
    let block = audio::PAD_MULTIPLE * 4;
    let mut latents = Vec::new();
    for file in files {
        let mut reader = WavReader::open(&file).with_context(|| format!("reading {}", file.display()))?;
        if usize::from(reader.spec().channels) != channels {
            eprintln!(
                "note: skipping {} ({} channels)",
                file.display(),
                reader.spec().channels
            );
            continue;
        }
        let frames = reader.duration();
        for start in (0..frames).step_by(block as usize).take(max_blocks) {
            let length = block.min(frames - start);
            let planar = read_block(&mut reader, channels, length as usize)?;
            latents.push(audio::analyze_block(model, planar, length)?.1);
        }
    }
    Ok(latents)
}
