//! WAV files written block by block (`hound`), in the sample format the
//! recording had.

use std::io::{Seek, Write};

use hound::{SampleFormat as WavFormat, WavSpec, WavWriter};
use walloc::audio::{AudioFormat, SampleFormat};
use walloc::Samples;

use crate::error::{FormatError, Result};

/// A WAV file being written, a block of planar samples at a time.
pub struct WavSink<W: Write + Seek> {
    writer: WavWriter<W>,
    format: AudioFormat,
}

fn failed(error: hound::Error) -> FormatError {
    FormatError::audio("WAV output", error)
}

impl<W: Write + Seek> WavSink<W> {
    /// Starts a WAV file of `format` on `sink`.
    pub fn new(sink: W, format: AudioFormat) -> Result<Self> {
        let (bits, sample_format) = match format.format {
            SampleFormat::Int(bits) => (u16::from(bits), WavFormat::Int),
            SampleFormat::Float => (32, WavFormat::Float),
        };
        let spec = WavSpec {
            channels: u16::try_from(format.channels)
                .map_err(|_| FormatError::audio("WAV output", "too many channels"))?,
            sample_rate: format.sample_rate,
            bits_per_sample: bits,
            sample_format,
        };
        Ok(WavSink {
            writer: WavWriter::new(sink, spec).map_err(failed)?,
            format,
        })
    }

    /// Writes planar samples at full scale (`channels` rows of equal
    /// length), rounded to the file's sample format.
    pub fn write_planar(&mut self, planar: &[f32]) -> Result<()> {
        let writer = &mut self.writer;
        match self.format.format.quantize(planar, self.format.channels) {
            // hound takes 8-bit samples signed and stores them offset by 128.
            Samples::U8(v) => v.into_iter().try_for_each(|s| writer.write_sample(i32::from(s) - 128)),
            Samples::I16(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
            Samples::I32(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
            Samples::F32(v) => v.into_iter().try_for_each(|s| writer.write_sample(s)),
            Samples::U16(v) => v
                .into_iter()
                .try_for_each(|s| writer.write_sample(i32::from(s) - 32_768)),
        }
        .map_err(failed)
    }

    /// Completes the header (lengths) and flushes.
    pub fn finish(self) -> Result<()> {
        self.writer.finalize().map_err(failed)
    }
}
