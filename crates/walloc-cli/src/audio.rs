//! Audio in the CLI: sources read block by block into the library's
//! streaming encoder, and the streaming decoder written out as WAV
//! (`hound`), so that memory holds one block, not the whole recording.

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use walloc::audio::{AudioDecoder, AudioEncoder, AudioFormat};
use walloc::{DecodeOptions, EncodeOptions, Model};
use walloc_io::audio::{self as audio_in, AudioSource};
use walloc_io::wav::WavSink;

use crate::io::{progress, write_atomically};

/// Encodes any audio source into a `.wal` file image with `options`
/// (coder and step).
fn encode_source(source: &mut dyn AudioSource, model: &Model, options: &EncodeOptions) -> Result<Vec<u8>> {
    let format = AudioFormat {
        channels: source.channels(),
        sample_rate: source.sample_rate(),
        format: source.format(),
    };
    let mut encoder = AudioEncoder::with_options(model, format, options)?;
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
pub fn encode_file(input: &Path, model: &Model, options: &EncodeOptions) -> Result<Vec<u8>> {
    let mut source = audio_in::open(input)?;
    encode_source(source.as_mut(), model, options)
        .with_context(|| format!("encoding {} with {}", input.display(), model.config().name))
}

/// Encodes a WAV file held in memory (stdin) into a `.wal` file image.
pub fn encode_bytes(bytes: &[u8], model: &Model, options: &EncodeOptions) -> Result<Vec<u8>> {
    let mut source = audio_in::from_wav_bytes(bytes.to_vec())?;
    encode_source(source.as_mut(), model, options).with_context(|| format!("encoding with {}", model.config().name))
}

/// Decodes an audio `.wal` file made with `model` into a WAV file at
/// `output` (atomically; `-` for stdout), block by block.
pub fn decode(bytes: &[u8], output: &Path, model: &Model) -> Result<()> {
    let decoder = AudioDecoder::new(bytes, std::slice::from_ref(model), &DecodeOptions::default())?;
    write_atomically(output, |sink| {
        let mut wav = WavSink::new(sink, decoder.format())?;
        let bar = progress(decoder.blocks() as u64, "decoding");
        for block in decoder {
            wav.write_planar(&block?)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(wav.finish()?)
    })
}
