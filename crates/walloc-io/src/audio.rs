//! Reading audio block by block: WAV through `hound` (its exact integer
//! formats kept), FLAC and Ogg Vorbis through `symphonia`. Every source
//! yields planar f32 in [-1, 1] (integers divided by 2^(bits−1)).

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use hound::{SampleFormat as WavFormat, WavReader};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use walloc::audio::{planar_of, SampleFormat};

use crate::error::{FormatError, Result};

/// Extensions read through symphonia.
const COMPRESSED: [&str; 4] = ["flac", "ogg", "oga", "opus"];

/// A stream of audio frames.
pub trait AudioSource {
    /// Channels.
    fn channels(&self) -> usize;
    /// Frames per second.
    fn sample_rate(&self) -> u32;
    /// The sample format decoding writes back.
    fn format(&self) -> SampleFormat;
    /// Up to `frames` frames as planar samples (`channels` rows); fewer only
    /// at the end of the stream.
    fn read_planar(&mut self, frames: usize) -> Result<Vec<f32>>;
}

/// Whether `bytes` start like a WAV file (`RIFF....WAVE`).
pub fn is_wav(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE"
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether `path` names an audio file this build reads (by extension, or
/// WAV by its first bytes).
pub fn is_audio_path(path: &Path) -> bool {
    let ext = extension(path);
    let by_content = || {
        let mut head = [0u8; 12];
        File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| is_wav(&head))
    };
    ext == "wav" || ext == "wave" || COMPRESSED.contains(&ext.as_str()) || (path != Path::new("-") && by_content())
}

/// A WAV stream (`hound`).
pub struct WavSource<R: Read + Seek> {
    reader: WavReader<R>,
    format: SampleFormat,
    name: String,
}

impl<R: Read + Seek> WavSource<R> {
    fn new(reader: WavReader<R>, name: String) -> Result<Self> {
        let spec = reader.spec();
        let format = match (spec.sample_format, spec.bits_per_sample) {
            (WavFormat::Int, bits @ (8 | 16 | 24 | 32)) => SampleFormat::Int(bits as u8),
            (WavFormat::Float, 32) => SampleFormat::Float,
            (format, bits) => {
                return Err(FormatError::audio(
                    &name,
                    format!("{bits}-bit {format:?} WAV samples are not supported (8/16/24/32-bit PCM, 32-bit float)"),
                ))
            }
        };
        Ok(WavSource { reader, format, name })
    }
}

impl<R: Read + Seek> AudioSource for WavSource<R> {
    fn channels(&self) -> usize {
        usize::from(self.reader.spec().channels)
    }

    fn sample_rate(&self) -> u32 {
        self.reader.spec().sample_rate
    }

    fn format(&self) -> SampleFormat {
        self.format
    }

    fn read_planar(&mut self, frames: usize) -> Result<Vec<f32>> {
        let spec = self.reader.spec();
        let wanted = frames * usize::from(spec.channels);
        let name = &self.name;
        let interleaved: Vec<f32> = match spec.sample_format {
            WavFormat::Float => self
                .reader
                .samples::<f32>()
                .take(wanted)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| FormatError::audio(name, e))?,
            WavFormat::Int => {
                let unit = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
                self.reader
                    .samples::<i32>()
                    .take(wanted)
                    .map(|s| s.map(|v| v as f32 * unit))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| FormatError::audio(name, e))?
            }
        };
        Ok(planar_of(&interleaved, usize::from(spec.channels)))
    }
}

/// A FLAC or Ogg Vorbis stream (`symphonia`).
pub struct CompressedSource {
    format_reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track: u32,
    channels: usize,
    sample_rate: u32,
    format: SampleFormat,
    /// Decoded interleaved samples not yet handed out.
    pending: Vec<f32>,
    /// Frames the container says are left, when it says (decoders may
    /// return a padded last packet).
    remaining: Option<u64>,
    finished: bool,
    name: String,
}

impl CompressedSource {
    fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| FormatError::io("opening", path, e))?;
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        hint.with_extension(&extension(path));
        // Gapless: the encoder's delay and padding are trimmed, so the
        // decoded length is the original's.
        let gapless = FormatOptions {
            enable_gapless: true,
            ..FormatOptions::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, stream, &gapless, &MetadataOptions::default())
            .map_err(|e| {
                FormatError::audio(&name, format!("not a FLAC or Ogg Vorbis stream this build reads ({e})"))
            })?;
        let format_reader = probed.format;
        let track = format_reader
            .default_track()
            .ok_or_else(|| FormatError::audio(&name, "no audio track"))?;
        let params = track.codec_params.clone();
        let channels = params.channels.map(|c| c.count()).unwrap_or(0);
        let sample_rate = params.sample_rate.unwrap_or(0);
        if channels == 0 || sample_rate == 0 {
            return Err(FormatError::audio(
                &name,
                "the stream does not say its channels and rate",
            ));
        }
        let format = match params.bits_per_sample {
            Some(bits @ (8 | 16 | 24 | 32)) => SampleFormat::Int(bits as u8),
            // Lossy streams (Vorbis) have no bit depth: keep floats.
            _ => SampleFormat::Float,
        };
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| FormatError::audio(&name, format!("unsupported codec ({e})")))?;
        Ok(CompressedSource {
            track: track.id,
            format_reader,
            decoder,
            channels,
            sample_rate,
            format,
            pending: Vec::new(),
            remaining: params.n_frames,
            finished: false,
            name,
        })
    }

    /// Decodes the next packet of the track into `pending`.
    fn decode_next(&mut self) -> Result<()> {
        let packet = match self.format_reader.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.finished = true;
                return Ok(());
            }
            Err(e) => return Err(FormatError::audio(&self.name, format!("reading the audio stream: {e}"))),
        };
        if packet.track_id() != self.track {
            return Ok(());
        }
        let decoded = self
            .decoder
            .decode(&packet)
            .map_err(|e| FormatError::audio(&self.name, format!("decoding the audio stream: {e}")))?;
        let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
        buffer.copy_interleaved_ref(decoded);
        self.pending.extend_from_slice(buffer.samples());
        Ok(())
    }
}

impl AudioSource for CompressedSource {
    fn channels(&self) -> usize {
        self.channels
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn format(&self) -> SampleFormat {
        self.format
    }

    fn read_planar(&mut self, frames: usize) -> Result<Vec<f32>> {
        let frames = match self.remaining {
            Some(left) => frames.min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => frames,
        };
        let wanted = frames * self.channels;
        while self.pending.len() < wanted && !self.finished {
            self.decode_next()?;
        }
        let take = wanted.min(self.pending.len() / self.channels * self.channels);
        let block: Vec<f32> = self.pending.drain(..take).collect();
        if let Some(left) = self.remaining.as_mut() {
            *left -= (take / self.channels) as u64;
        }
        Ok(planar_of(&block, self.channels))
    }
}

/// Opens an audio file (WAV, FLAC, Ogg Vorbis) for reading block by block.
pub fn open(path: &Path) -> Result<Box<dyn AudioSource>> {
    if COMPRESSED.contains(&extension(path).as_str()) {
        return Ok(Box::new(CompressedSource::open(path)?));
    }
    let name = path.display().to_string();
    let reader = WavReader::open(path).map_err(|e| FormatError::audio(&name, format!("reading WAV: {e}")))?;
    Ok(Box::new(WavSource::new(reader, name)?))
}

/// Reads a WAV file held in memory (stdin).
pub fn from_wav_bytes(bytes: Vec<u8>) -> Result<Box<dyn AudioSource>> {
    let reader =
        WavReader::new(Cursor::new(bytes)).map_err(|e| FormatError::audio("stdin", format!("reading WAV: {e}")))?;
    Ok(Box::new(WavSource::new(reader, "stdin".into())?))
}

/// Planar audio of `channels` rows averaged into one (a mono mixdown).
pub fn mono_of(planar: &[f32], channels: usize) -> Vec<f32> {
    let channels = channels.max(1);
    let frames = planar.len() / channels;
    (0..frames)
        .map(|i| (0..channels).map(|c| planar[c * frames + i]).sum::<f32>() / channels as f32)
        .collect()
}

/// Resamples interleaved audio from `from` Hz to `to` Hz with rubato's FFT
/// resampler (its delay trimmed), to exactly `frames` frames (cut, or
/// padded with silence).
pub fn resample(samples: &[f32], channels: usize, from: u32, to: u32, frames: usize) -> Result<Vec<f32>> {
    use rubato::audioadapter_buffers::owned::InterleavedOwned;
    use rubato::{Fft, FixedSync, Resampler};
    let fail = |e: &dyn std::fmt::Display| FormatError::audio("resampling", format!("{from} → {to} Hz: {e}"));
    if channels == 0 || from == 0 || to == 0 {
        return Err(fail(&"no channels, or a rate of 0 Hz"));
    }
    let input_frames = samples.len() / channels;
    let input = InterleavedOwned::new_from(samples.to_vec(), channels, input_frames).map_err(|e| fail(&e))?;
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, 1024, channels, FixedSync::Both).map_err(|e| fail(&e))?;
    let room = resampler.process_all_needed_output_len(input_frames);
    let mut output = InterleavedOwned::new(0.0, channels, room);
    let (_, produced) = resampler
        .process_all_into_buffer(&input, &mut output, input_frames, None)
        .map_err(|e| fail(&e))?;
    let mut data = output.take_data();
    data.truncate(produced.min(frames) * channels);
    data.resize(frames * channels, 0.0);
    Ok(data)
}
