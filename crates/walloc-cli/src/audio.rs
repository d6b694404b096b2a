//! Audio in the CLI: sources read block by block into the library's
//! streaming encoder, and the streaming decoder written out as WAV
//! (`hound`), so that memory holds one block, not the whole recording.

use std::io::Seek;
use std::path::Path;

use anyhow::{Context, Result};
use hound::{SampleFormat as WavFormat, WavSpec, WavWriter};
use indicatif::{ProgressBar, ProgressStyle};
use walloc::audio::{AudioDecoder, AudioEncoder, AudioFormat, SampleFormat};
use walloc::{DecodeOptions, Model, Samples};

use crate::audio_in::{self, AudioSource};
use crate::io::{progress, write_atomically};

/// Encodes any audio source into a `.wal` file image.
pub fn encode_source(source: &mut dyn AudioSource, model: &Model) -> Result<Vec<u8>> {
    let format = AudioFormat {
        channels: source.channels(),
        sample_rate: source.sample_rate(),
        format: source.format(),
    };
    let mut encoder = AudioEncoder::new(model, format)?;
    let block = encoder.block_frames() as usize;
    // The length is known once the stream ends: the header comes last.
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("encoding {spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    loop {
        let planar = source.read_planar(block)?;
        let frames = planar.len() / format.channels;
        encoder.push_planar(&planar)?;
        bar.set_message(format!("{} chunks, {} frames", encoder.chunks(), encoder.frames()));
        if frames < block {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(encoder.finish()?)
}

/// Encodes an audio file (WAV, FLAC, Ogg Vorbis), read block by block, into
/// a `.wal` file image.
pub fn encode_file(input: &Path, model: &Model) -> Result<Vec<u8>> {
    let mut source = audio_in::open(input)?;
    encode_source(source.as_mut(), model)
        .with_context(|| format!("encoding {} with {}", input.display(), model.config().name))
}

/// Encodes a WAV file held in memory (stdin) into a `.wal` file image.
pub fn encode_bytes(bytes: Vec<u8>, model: &Model) -> Result<Vec<u8>> {
    let mut source = audio_in::from_wav_bytes(bytes)?;
    encode_source(source.as_mut(), model).with_context(|| format!("encoding with {}", model.config().name))
}

/// Decodes a `.wal` audio file image into interleaved samples in [-1, 1]
/// (before rounding to the original format).
pub fn decode_samples(bytes: &[u8], model: &Model) -> Result<Vec<f32>> {
    let decoder = AudioDecoder::new(bytes, std::slice::from_ref(model), &DecodeOptions::default())?;
    let channels = decoder.format().channels;
    let mut samples = Vec::new();
    for block in decoder {
        samples.extend(audio_in::interleaved(&block?, channels));
    }
    Ok(samples)
}

/// Writes interleaved samples of the original format.
fn write_samples<W: std::io::Write + Seek>(writer: &mut WavWriter<W>, samples: Samples) -> Result<()> {
    match samples {
        // hound takes 8-bit samples signed and stores them offset by 128.
        Samples::U8(v) => v.into_iter().try_for_each(|s| writer.write_sample(i32::from(s) - 128)),
        Samples::I16(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
        Samples::I32(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
        Samples::F32(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
        Samples::U16(v) => v
            .into_iter()
            .try_for_each(|s| writer.write_sample(i32::from(s) - 32_768)),
    }?;
    Ok(())
}

fn wav_spec(format: AudioFormat) -> WavSpec {
    let (bits, sample_format) = match format.format {
        SampleFormat::Int(bits) => (u16::from(bits), WavFormat::Int),
        SampleFormat::Float => (32, WavFormat::Float),
    };
    WavSpec {
        channels: format.channels as u16,
        sample_rate: format.sample_rate,
        bits_per_sample: bits,
        sample_format,
    }
}

/// Decodes an audio `.wal` file made with `model` into a WAV file at
/// `output` (atomically; `-` for stdout), block by block.
pub fn decode(bytes: &[u8], output: &Path, model: &Model) -> Result<()> {
    let decoder = AudioDecoder::new(bytes, std::slice::from_ref(model), &DecodeOptions::default())?;
    let format = decoder.format();
    write_atomically(output, |sink| {
        let mut writer = WavWriter::new(sink, wav_spec(format))?;
        let bar = progress(decoder.blocks() as u64, "decoding");
        for block in decoder {
            write_samples(&mut writer, format.format.quantize(&block?, format.channels))?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        writer.finalize()?;
        Ok(())
    })
}
