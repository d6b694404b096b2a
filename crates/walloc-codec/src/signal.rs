//! Signals as data: what the codec takes and returns. A [`Signal`] is an
//! N-D array of samples (1 axis for audio, 2 for images, 3 for volumes),
//! channels interleaved last as numpy lays out `(height, width, channels)`
//! or `(frames, channels)`, of one [`SampleType`], with the [`ValueRange`]
//! its values came from.

use crate::error::{invalid, CodecError, Result};
use crate::model::MAX_CHANNELS;

/// Largest number of samples a signal may hold (2^34, 16 G samples).
pub const MAX_SAMPLES: u64 = 1 << 34;

/// The type of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleType {
    /// Unsigned 8-bit integers (8-bit images; 8-bit WAV, offset by 128).
    U8,
    /// Unsigned 16-bit integers (16-bit images).
    U16,
    /// Signed 16-bit integers (16-bit PCM audio, CT in HU).
    I16,
    /// Signed 32-bit integers (24- and 32-bit PCM audio).
    I32,
    /// 32-bit floats.
    F32,
}

impl SampleType {
    /// numpy's name for the type (`uint8`, `int16`, `float32`, …).
    pub fn name(self) -> &'static str {
        match self {
            SampleType::U8 => "uint8",
            SampleType::U16 => "uint16",
            SampleType::I16 => "int16",
            SampleType::I32 => "int32",
            SampleType::F32 => "float32",
        }
    }

    /// Every sample type, in header-code order.
    pub const ALL: [SampleType; 5] = [
        SampleType::U8,
        SampleType::U16,
        SampleType::I16,
        SampleType::I32,
        SampleType::F32,
    ];

    /// The type's code in a volume header (docs/FORMAT.md): 1 to 5.
    pub fn code(self) -> u8 {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 => 2,
            SampleType::I16 => 3,
            SampleType::I32 => 4,
            SampleType::F32 => 5,
        }
    }

    /// The type of a header code.
    pub fn from_code(code: u8) -> Result<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code).ok_or_else(|| {
            invalid(
                "sample type",
                format!("{code} (1 uint8, 2 uint16, 3 int16, 4 int32, 5 float32)"),
            )
        })
    }

    /// The type numpy names `name` (`uint8`, `int16`, `float32`, …).
    pub fn by_name(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
            invalid(
                "sample type",
                format!("{name:?} (uint8, uint16, int16, int32 or float32)"),
            )
        })
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleType::U8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::I32 | SampleType::F32 => 4,
        }
    }

    /// The range a sample of this type spans by default: the type's own
    /// for integers, [-1, 1] for floats (audio's full scale).
    pub fn default_range(self) -> ValueRange {
        let (min, max) = match self {
            SampleType::U8 => (0.0, 255.0),
            SampleType::U16 => (0.0, 65_535.0),
            SampleType::I16 => (-32_768.0, 32_767.0),
            SampleType::I32 => (-2_147_483_648.0, 2_147_483_647.0),
            SampleType::F32 => (-1.0, 1.0),
        };
        ValueRange { min, max }
    }
}

/// Samples of one type, channels interleaved (the last axis).
#[derive(Clone, Debug, PartialEq)]
pub enum Samples {
    /// `uint8` samples.
    U8(Vec<u8>),
    /// `uint16` samples.
    U16(Vec<u16>),
    /// `int16` samples.
    I16(Vec<i16>),
    /// `int32` samples.
    I32(Vec<i32>),
    /// `float32` samples.
    F32(Vec<f32>),
}

impl Samples {
    /// No samples of type `sample_type`.
    pub fn empty(sample_type: SampleType) -> Self {
        match sample_type {
            SampleType::U8 => Samples::U8(Vec::new()),
            SampleType::U16 => Samples::U16(Vec::new()),
            SampleType::I16 => Samples::I16(Vec::new()),
            SampleType::I32 => Samples::I32(Vec::new()),
            SampleType::F32 => Samples::F32(Vec::new()),
        }
    }

    /// Appends `other`, converted to this type if it is another (values
    /// are cast as Rust's `as` does).
    pub fn append(&mut self, other: Samples) {
        match (self, other) {
            (Samples::U8(a), Samples::U8(b)) => a.extend(b),
            (Samples::U16(a), Samples::U16(b)) => a.extend(b),
            (Samples::I16(a), Samples::I16(b)) => a.extend(b),
            (Samples::I32(a), Samples::I32(b)) => a.extend(b),
            (Samples::F32(a), Samples::F32(b)) => a.extend(b),
            (this, other) => {
                let values = (0..other.len()).map(|i| other.get(i));
                match this {
                    Samples::U8(a) => a.extend(values.map(|v| v as u8)),
                    Samples::U16(a) => a.extend(values.map(|v| v as u16)),
                    Samples::I16(a) => a.extend(values.map(|v| v as i16)),
                    Samples::I32(a) => a.extend(values.map(|v| v as i32)),
                    Samples::F32(a) => a.extend(values.map(|v| v as f32)),
                }
            }
        }
    }

    /// Splits off the samples from `at` on (as `Vec::split_off`).
    pub fn split_off(&mut self, at: usize) -> Samples {
        match self {
            Samples::U8(v) => Samples::U8(v.split_off(at)),
            Samples::U16(v) => Samples::U16(v.split_off(at)),
            Samples::I16(v) => Samples::I16(v.split_off(at)),
            Samples::I32(v) => Samples::I32(v.split_off(at)),
            Samples::F32(v) => Samples::F32(v.split_off(at)),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
            Samples::I16(v) => v.len(),
            Samples::I32(v) => v.len(),
            Samples::F32(v) => v.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type of the samples.
    pub fn sample_type(&self) -> SampleType {
        match self {
            Samples::U8(_) => SampleType::U8,
            Samples::U16(_) => SampleType::U16,
            Samples::I16(_) => SampleType::I16,
            Samples::I32(_) => SampleType::I32,
            Samples::F32(_) => SampleType::F32,
        }
    }

    /// `values` as samples of `sample_type`: integers rounded and clamped
    /// to the type's range, floats as they are.
    pub fn from_f32(sample_type: SampleType, values: impl Iterator<Item = f32>) -> Samples {
        match sample_type {
            SampleType::U8 => Samples::U8(values.map(|v| v.round() as u8).collect()),
            SampleType::U16 => Samples::U16(values.map(|v| v.round() as u16).collect()),
            SampleType::I16 => Samples::I16(values.map(|v| v.round() as i16).collect()),
            SampleType::I32 => Samples::I32(values.map(|v| v.round() as i32).collect()),
            SampleType::F32 => Samples::F32(values.collect()),
        }
    }

    /// The samples at `order`'s indices, in that order, of the same type
    /// (a transposition when `order` is a permutation).
    pub fn gathered(&self, order: impl Iterator<Item = usize>) -> Samples {
        match self {
            Samples::U8(v) => Samples::U8(order.map(|i| v[i]).collect()),
            Samples::U16(v) => Samples::U16(order.map(|i| v[i]).collect()),
            Samples::I16(v) => Samples::I16(order.map(|i| v[i]).collect()),
            Samples::I32(v) => Samples::I32(order.map(|i| v[i]).collect()),
            Samples::F32(v) => Samples::F32(order.map(|i| v[i]).collect()),
        }
    }

    /// Sample `i` as an `f64`.
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Samples::U8(v) => f64::from(v[i]),
            Samples::U16(v) => f64::from(v[i]),
            Samples::I16(v) => f64::from(v[i]),
            Samples::I32(v) => f64::from(v[i]),
            Samples::F32(v) => f64::from(v[i]),
        }
    }
}

/// The closed range of values a signal's samples came from: 0–255 for an
/// 8-bit image, −1–1 for float audio. Normalization maps it to the
/// codec's working range, and decoding back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueRange {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// An N-D signal: `shape` (1–3 axes), `channels` interleaved last, samples
/// of one type, the value range they came from and, for audio, the sample
/// rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    shape: Vec<usize>,
    channels: usize,
    samples: Samples,
    range: ValueRange,
    sample_rate: Option<u32>,
}

impl Signal {
    /// Wraps `samples` of `shape` (1–3 axes, each at least 1) with
    /// `channels` interleaved last, checking their count; the value range
    /// is the type's default ([`SampleType::default_range`]).
    pub fn new(shape: Vec<usize>, channels: usize, samples: Samples) -> Result<Self> {
        if !(1..=3).contains(&shape.len()) {
            return Err(invalid("signal shape", format!("{shape:?} (1 to 3 axes)")));
        }
        if shape.contains(&0) {
            return Err(invalid("signal shape", format!("{shape:?} (an axis of length 0)")));
        }
        if channels == 0 || channels as u64 > u64::from(MAX_CHANNELS) {
            return Err(invalid("signal channels", format!("{channels} (1 to {MAX_CHANNELS})")));
        }
        let expected = shape
            .iter()
            .try_fold(channels as u64, |n, &axis| n.checked_mul(axis as u64))
            .filter(|&n| n <= MAX_SAMPLES)
            .ok_or(CodecError::LimitExceeded {
                what: "signal samples",
                value: u64::MAX,
                limit: MAX_SAMPLES,
            })?;
        if samples.len() as u64 != expected {
            return Err(invalid(
                "signal samples",
                format!(
                    "{} {} samples for shape {shape:?} with {channels} channels ({expected} expected)",
                    samples.len(),
                    samples.sample_type().name()
                ),
            ));
        }
        let range = samples.sample_type().default_range();
        Ok(Signal {
            shape,
            channels,
            samples,
            range,
            sample_rate: None,
        })
    }

    /// An image of `height × width` pixels with `channels` interleaved.
    pub fn image(width: usize, height: usize, channels: usize, samples: Samples) -> Result<Self> {
        Signal::new(vec![height, width], channels, samples)
    }

    /// Audio of `frames` frames of `channels` interleaved samples at
    /// `sample_rate` frames per second.
    pub fn audio(frames: usize, channels: usize, samples: Samples, sample_rate: u32) -> Result<Self> {
        Signal::new(vec![frames], channels, samples)?.with_sample_rate(sample_rate)
    }

    /// The same signal with the value range its samples came from (for
    /// example 0–4095 for 12-bit data stored in `uint16`).
    pub fn with_range(mut self, range: ValueRange) -> Result<Self> {
        if !(range.min.is_finite() && range.max.is_finite() && range.min < range.max) {
            return Err(invalid("value range", format!("{}..{}", range.min, range.max)));
        }
        self.range = range;
        Ok(self)
    }

    /// The same signal with a sample rate (audio), 1 Hz to 1 MHz.
    pub fn with_sample_rate(mut self, sample_rate: u32) -> Result<Self> {
        if !(1..=crate::audio::MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(invalid(
                "sample rate",
                format!("{sample_rate} (1 to {})", crate::audio::MAX_SAMPLE_RATE),
            ));
        }
        self.sample_rate = Some(sample_rate);
        Ok(self)
    }

    /// Lengths of the axes (without channels): `[frames]`, `[height, width]`
    /// or `[depth, height, width]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of axes (1 audio, 2 image, 3 volume).
    pub fn axes(&self) -> usize {
        self.shape.len()
    }

    /// Channels, interleaved last.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The samples.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// The samples, taken out.
    pub fn into_samples(self) -> Samples {
        self.samples
    }

    /// The type of the samples.
    pub fn sample_type(&self) -> SampleType {
        self.samples.sample_type()
    }

    /// The value range the samples came from.
    pub fn range(&self) -> ValueRange {
        self.range
    }

    /// The sample rate, for audio.
    pub fn sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }

    /// Positions (samples per channel): the product of the axes.
    pub fn positions(&self) -> usize {
        self.shape.iter().product()
    }

    /// Audio samples as planar `f32` rows at full scale ±1, by the value
    /// range: integers over `min..=max` span 2^bits steps (so `int16`
    /// divides by 32768 and `uint8` centres on 128), floats map `min..max`
    /// to −1..1 (the default range leaves them as they are).
    pub fn to_planar_audio(&self) -> Vec<f32> {
        let (frames, channels) = (self.positions(), self.channels);
        let ValueRange { min, max } = self.range;
        let half = if self.sample_type() == SampleType::F32 {
            (max - min) / 2.0
        } else {
            (max - min + 1.0) / 2.0
        };
        let centre = min + half;
        let mut planar = Vec::with_capacity(frames * channels);
        for c in 0..channels {
            planar.extend((0..frames).map(|i| ((self.samples.get(i * channels + c) - centre) / half) as f32));
        }
        planar
    }
}

impl<P: crate::image::Pixel> From<crate::image::Image<P>> for Signal {
    /// An 8- or 16-bit image as a signal of `[height, width]` with its
    /// channels, over its type's range.
    fn from(image: crate::image::Image<P>) -> Self {
        Signal {
            shape: vec![image.height as usize, image.width as usize],
            channels: usize::from(image.channels),
            samples: P::into_samples(image.pixels),
            range: P::SAMPLE_TYPE.default_range(),
            sample_rate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_checked() {
        let ok = Signal::image(4, 2, 3, Samples::U8(vec![0; 24])).unwrap();
        assert_eq!((ok.shape(), ok.channels(), ok.positions()), (&[2, 4][..], 3, 8));
        assert_eq!(ok.range(), ValueRange { min: 0.0, max: 255.0 });
        let err = Signal::image(4, 2, 3, Samples::U8(vec![0; 23])).unwrap_err();
        assert!(err.to_string().contains("23 uint8 samples"), "{err}");
        for (shape, channels) in [
            (vec![], 1),
            (vec![1, 1, 1, 1], 1),
            (vec![3, 0], 1),
            (vec![3], 0),
            (vec![3], 65),
        ] {
            assert!(
                Signal::new(shape.clone(), channels, Samples::F32(vec![])).is_err(),
                "{shape:?}"
            );
        }
        let huge = Signal::new(vec![1 << 20, 1 << 20, 1 << 20], 1, Samples::U8(vec![]));
        assert!(matches!(huge, Err(CodecError::LimitExceeded { .. })));
        assert!(ok.clone().with_range(ValueRange { min: 1.0, max: 1.0 }).is_err());
        assert!(ok.with_sample_rate(0).is_err());
    }

    #[test]
    fn audio_is_scaled_to_full_scale_planar() {
        let s = Signal::audio(2, 2, Samples::I16(vec![16_384, -32_768, 0, 8_192]), 8000).unwrap();
        assert_eq!(s.to_planar_audio(), vec![0.5, 0.0, -1.0, 0.25]);
        let u = Signal::audio(1, 1, Samples::U8(vec![192]), 8000).unwrap();
        assert_eq!(u.to_planar_audio(), vec![0.5]);
    }
}
