//! Opus through libopus (`unsafe-libopus`, the reference C library
//! transpiled to Rust): 20 ms frames, the music application, VBR at a
//! target bitrate. The encoder's look-ahead is trimmed from the decoded
//! output so that it lines up with the input sample for sample.

use unsafe_libopus::{
    opus_decode_float, opus_decoder_create, opus_decoder_destroy, opus_encode_float, opus_encoder_create,
    opus_encoder_ctl, opus_encoder_destroy, OpusDecoder, OpusEncoder, OPUS_APPLICATION_AUDIO,
    OPUS_GET_LOOKAHEAD_REQUEST, OPUS_OK, OPUS_SET_BITRATE_REQUEST, OPUS_SET_COMPLEXITY_REQUEST,
};

use super::PeerError;

/// The sample rates libopus codes.
pub const OPUS_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// The largest packet libopus writes.
const MAX_PACKET: usize = 1275 * 3 + 7;

fn error(message: impl Into<String>) -> PeerError {
    PeerError::new("opus", message)
}

/// libopus at a target bitrate.
pub struct Opus {
    /// Target bitrate in bits per second (all channels together).
    pub bitrate: u32,
}

/// What an Opus round trip produced.
pub struct OpusResult {
    /// Bytes of all packets (no Ogg framing).
    pub bytes: usize,
    /// The decoded samples, interleaved, as many as the input.
    pub decoded: Vec<f32>,
}

/// An encoder, destroyed on drop.
struct Encoder(*mut OpusEncoder);

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the state came from opus_encoder_create and is freed only here.
        unsafe { opus_encoder_destroy(self.0) }
    }
}

/// A decoder, destroyed on drop.
struct Decoder(*mut OpusDecoder);

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: the state came from opus_decoder_create and is freed only here.
        unsafe { opus_decoder_destroy(self.0) }
    }
}

/// [`walloc_io::audio::resample`], its error as libopus's.
fn resample(samples: &[f32], channels: usize, from: u32, to: u32, frames: usize) -> Result<Vec<f32>, PeerError> {
    walloc_io::audio::resample(samples, channels, from, to, frames).map_err(|e| error(e.to_string()))
}

impl Opus {
    /// Encodes and decodes interleaved samples in [-1, 1], mono or stereo,
    /// at any rate: audio at a rate libopus does not code is resampled to
    /// 48 kHz and back (rubato), and the result compared at its own rate.
    pub fn round_trip_any_rate(&self, samples: &[f32], channels: u16, rate: u32) -> Result<OpusResult, PeerError> {
        if OPUS_RATES.contains(&rate) {
            return self.round_trip(samples, channels, rate);
        }
        let c = usize::from(channels.max(1));
        let frames = samples.len() / c;
        let up_frames = (frames as u64 * 48000).div_ceil(u64::from(rate)) as usize;
        let up = resample(samples, c, rate, 48000, up_frames)?;
        let coded = self.round_trip(&up, channels, 48000)?;
        let decoded = resample(&coded.decoded, c, 48000, rate, frames)?;
        Ok(OpusResult {
            bytes: coded.bytes,
            decoded,
        })
    }

    /// Encodes and decodes interleaved samples in [-1, 1] at one of
    /// [`OPUS_RATES`], mono or stereo.
    pub fn round_trip(&self, samples: &[f32], channels: u16, rate: u32) -> Result<OpusResult, PeerError> {
        if !OPUS_RATES.contains(&rate) {
            return Err(error(format!("libopus codes {OPUS_RATES:?} Hz, not {rate} Hz")));
        }
        if !(1..=2).contains(&channels) {
            return Err(error(format!("mono or stereo only, not {channels} channels")));
        }
        let (channel_count, frame) = (usize::from(channels), rate as usize / 50);
        let (encoder, decoder, lookahead) = self.open(rate, channels)?;
        let frames = samples.len() / channel_count;
        // Room for the look-ahead at the end, and a whole last frame.
        let padded_frames = (frames + lookahead).div_ceil(frame) * frame;
        let mut input = samples.to_vec();
        input.resize(padded_frames * channel_count, 0.0);
        let mut output = Vec::with_capacity(input.len());
        let mut packet = vec![0u8; MAX_PACKET];
        let mut pcm = vec![0f32; frame * channel_count];
        let mut bytes = 0;
        for chunk in input.chunks_exact(frame * channel_count) {
            // SAFETY: `chunk` holds `frame` frames; `packet` holds MAX_PACKET bytes.
            let written = unsafe {
                opus_encode_float(
                    encoder.0,
                    chunk.as_ptr(),
                    frame as i32,
                    packet.as_mut_ptr(),
                    MAX_PACKET as i32,
                )
            };
            if written < 0 {
                return Err(error(format!("libopus could not encode (error {written})")));
            }
            bytes += written as usize;
            // SAFETY: `packet` holds `written` bytes; `pcm` holds `frame` frames.
            let decoded =
                unsafe { opus_decode_float(decoder.0, packet.as_ptr(), written, pcm.as_mut_ptr(), frame as i32, 0) };
            if decoded < 0 {
                return Err(error(format!("libopus could not decode (error {decoded})")));
            }
            output.extend_from_slice(&pcm[..decoded as usize * channel_count]);
        }
        let start = lookahead * channel_count;
        let decoded = output[start..start + frames * channel_count].to_vec();
        Ok(OpusResult { bytes, decoded })
    }

    fn open(&self, rate: u32, channels: u16) -> Result<(Encoder, Decoder, usize), PeerError> {
        let mut status = 0;
        // SAFETY: `status` is a live local.
        let encoder = Encoder(unsafe {
            opus_encoder_create(rate as i32, i32::from(channels), OPUS_APPLICATION_AUDIO, &mut status)
        });
        if status != OPUS_OK || encoder.0.is_null() {
            return Err(error(format!("libopus could not start an encoder (error {status})")));
        }
        // SAFETY: `status` is a live local.
        let decoder = Decoder(unsafe { opus_decoder_create(rate as i32, i32::from(channels), &mut status) });
        if status != OPUS_OK || decoder.0.is_null() {
            return Err(error(format!("libopus could not start a decoder (error {status})")));
        }
        let mut lookahead = 0i32;
        // SAFETY: the encoder is live; the requests take an i32 and an &mut i32.
        let set = unsafe {
            opus_encoder_ctl!(encoder.0, OPUS_SET_BITRATE_REQUEST, self.bitrate as i32)
                | opus_encoder_ctl!(encoder.0, OPUS_SET_COMPLEXITY_REQUEST, 10)
                | opus_encoder_ctl!(encoder.0, OPUS_GET_LOOKAHEAD_REQUEST, &mut lookahead)
        };
        if set != OPUS_OK {
            return Err(error(format!("libopus rejected the bitrate {} bit/s", self.bitrate)));
        }
        Ok((encoder, decoder, lookahead.max(0) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::snr;

    #[test]
    fn round_trip_keeps_length_and_aligns_with_the_input() {
        // A 440 Hz + 1 kHz stereo tone, 0.5 s at 48 kHz.
        let rate = 48000;
        let samples: Vec<f32> = (0..rate / 2)
            .flat_map(|n| {
                let t = n as f32 / rate as f32;
                let left = 0.4 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                let right = 0.3 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
                [left, right]
            })
            .collect();
        let result = Opus { bitrate: 96_000 }.round_trip(&samples, 2, rate).unwrap();
        assert_eq!(result.decoded.len(), samples.len());
        // Misaligned by the look-ahead, the SNR of a pure tone would be far
        // below this.
        let quality = snr(&samples[9600..], &result.decoded[9600..]);
        assert!(quality > 15.0, "SNR {quality} dB");
        let seconds = 0.5;
        let kbps = result.bytes as f64 * 8.0 / seconds / 1000.0;
        assert!(kbps > 40.0 && kbps < 150.0, "{kbps} kbit/s");
    }

    #[test]
    fn other_rates_go_through_48_khz_and_come_back_aligned() {
        let rate = 44100;
        let samples: Vec<f32> = (0..rate / 2)
            .map(|n| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * n as f32 / rate as f32).sin())
            .collect();
        let result = Opus { bitrate: 64_000 }.round_trip_any_rate(&samples, 1, rate).unwrap();
        assert_eq!(result.decoded.len(), samples.len());
        let quality = snr(&samples[4410..], &result.decoded[4410..]);
        assert!(quality > 15.0, "SNR {quality} dB");
    }

    #[test]
    fn refuses_what_libopus_cannot_code() {
        let opus = Opus { bitrate: 64_000 };
        assert!(opus.round_trip(&[0.0; 100], 2, 44100).is_err());
        assert!(opus.round_trip(&[0.0; 300], 3, 48000).is_err());
    }
}
