//! The `.wal` container (docs/FORMAT.md): a fixed header protected by a
//! CRC32, then length-prefixed payload chunks, each with its own CRC32, so
//! that any damaged byte is detected. Parsing checks every size against
//! [`Limits`] before anything is allocated.

use crate::config::Modality;
use crate::error::{invalid, CodecError, Result};
use crate::model::ModelId;
use crate::step::Step;

/// The first four bytes of every walloc file.
pub const MAGIC: [u8; 4] = *b"WALC";
/// The newest container version this build writes and reads: version 2
/// adds the quantizer step ([`Step`]) and the `adaptive` and `predictive`
/// latent coders, version 3 the `contextual` coder. A file is written as
/// the oldest version that holds what it uses, so that a reader that
/// cannot decode it says so by the version.
pub const VERSION: u8 = 3;
/// Header length in bytes, CRC included.
pub const HEADER_LEN: usize = 76;

/// How the integer latent is stored in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LatentCoder {
    /// rANS with the model's static per-channel tables; one chunk per band
    /// of latent rows.
    Rans = 0,
    /// The reference's tiled latent image, PNG; one chunk.
    Png = 1,
    /// The reference's tiled latent image, lossless WebP; one chunk.
    WebP = 2,
    /// Context-adaptive binary range coding ([`crate::adaptive`]), started
    /// from the model's tables at the file's step; one chunk per band of
    /// latent rows.
    Adaptive = 3,
    /// The adaptive coder with each channel of each chunk coded as its
    /// values or as their median-prediction residuals, whichever is
    /// smaller ([`crate::adaptive`]); one chunk per band of latent rows.
    Predictive = 4,
    /// The predictive coder with wider contexts
    /// ([`crate::adaptive::ContextSet::Wide`]): four spatial neighbours,
    /// the previous channel's neighbourhood and three earlier channels, in
    /// contexts that adapt faster while new; one chunk per band of latent
    /// rows.
    Contextual = 5,
}

impl std::str::FromStr for LatentCoder {
    type Err = CodecError;

    /// `predictive`, `adaptive`, `rans`, `png` or `webp`, as
    /// [`LatentCoder::name`] spells them.
    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| invalid("coder", format!("{name:?} (predictive, adaptive, rans, png or webp)")))
    }
}

impl LatentCoder {
    /// Name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            LatentCoder::Rans => "rans",
            LatentCoder::Png => "png",
            LatentCoder::WebP => "webp",
            LatentCoder::Adaptive => "adaptive",
            LatentCoder::Predictive => "predictive",
            LatentCoder::Contextual => "contextual",
        }
    }

    /// Every coder, in code order.
    pub const ALL: [LatentCoder; 6] = [
        LatentCoder::Rans,
        LatentCoder::Png,
        LatentCoder::WebP,
        LatentCoder::Adaptive,
        LatentCoder::Predictive,
        LatentCoder::Contextual,
    ];

    /// The coder of a header's code.
    pub(crate) fn from_code(code: u8) -> Result<Self> {
        Self::ALL.into_iter().find(|c| *c as u8 == code).ok_or_else(|| {
            invalid(
                "latent coder",
                format!("{code} (known: 0 rans, 1 png, 2 webp, 3 adaptive, 4 predictive, 5 contextual)"),
            )
        })
    }

    /// Whether the latent is entropy-coded in bands of rows, one chunk each
    /// (rANS and the adaptive coders), rather than packed into one latent
    /// image.
    pub fn is_banded(self) -> bool {
        self == LatentCoder::Rans || self.is_adaptive()
    }

    /// Whether the coder adapts its contexts as it codes (adaptive,
    /// predictive and contextual), so that it fits every quantizer step.
    pub fn is_adaptive(self) -> bool {
        self.adaptive_kind().is_some()
    }

    /// The first container version that holds this coder.
    pub fn first_version(self) -> u8 {
        match self {
            LatentCoder::Rans | LatentCoder::Png | LatentCoder::WebP => 1,
            LatentCoder::Adaptive | LatentCoder::Predictive => 2,
            LatentCoder::Contextual => 3,
        }
    }

    /// How an adaptive coder codes: whether it may code channels as
    /// prediction residuals, and the contexts it conditions on; `None` for
    /// the others.
    pub fn adaptive_kind(self) -> Option<(bool, crate::adaptive::ContextSet)> {
        use crate::adaptive::ContextSet;
        match self {
            LatentCoder::Adaptive => Some((false, ContextSet::Neighbours)),
            LatentCoder::Predictive => Some((true, ContextSet::Neighbours)),
            LatentCoder::Contextual => Some((true, ContextSet::Wide)),
            LatentCoder::Rans | LatentCoder::Png | LatentCoder::WebP => None,
        }
    }
}

/// Limits on what a file may ask for, checked before allocation (as
/// image-rs's `Limits`): every size a header declares goes through one of
/// the checks here. Build other limits from the default with the `with_`
/// methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest width or height.
    pub max_dimension: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Largest number of latent values (channels × height × width).
    pub max_latent_values: u64,
}

impl Default for Limits {
    /// 65,535 pixels a side, 2^28 pixels (268 MP), 2^28 latent values.
    fn default() -> Self {
        Limits {
            max_dimension: 65_535,
            max_pixels: 1 << 28,
            max_latent_values: 1 << 28,
        }
    }
}

impl Limits {
    /// The same limits with another largest width or height.
    pub fn with_max_dimension(self, max_dimension: u32) -> Self {
        Limits { max_dimension, ..self }
    }

    /// The same limits with another largest pixel count.
    pub fn with_max_pixels(self, max_pixels: u64) -> Self {
        Limits { max_pixels, ..self }
    }

    /// The same limits with another largest latent size.
    pub fn with_max_latent_values(self, max_latent_values: u64) -> Self {
        Limits {
            max_latent_values,
            ..self
        }
    }

    /// Refuses a side (`what`: width, height) of 0 or beyond `max_dimension`.
    pub fn check_dimension(&self, what: &'static str, value: u32) -> Result<()> {
        if value == 0 {
            return Err(invalid(what, "0"));
        }
        check(what, value.into(), self.max_dimension.into())
    }

    /// Refuses `width × height` beyond the limits (each side, then the count).
    pub fn check_image(&self, width: u32, height: u32) -> Result<()> {
        self.check_dimension("width", width)?;
        self.check_dimension("height", height)?;
        check("pixel count", u64::from(width) * u64::from(height), self.max_pixels)
    }

    /// Refuses a latent of more than `max_latent_values` values.
    pub fn check_latent_values(&self, values: u64) -> Result<()> {
        check("latent size", values, self.max_latent_values)
    }
}

fn check(what: &'static str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        return Err(CodecError::LimitExceeded { what, value, limit });
    }
    Ok(())
}

/// Everything the header records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// SHA-256 of the model file that made the latent.
    pub model_id: ModelId,
    /// Image channels (1 gray, 3 RGB).
    pub channels: u8,
    /// Bits per sample of the image: 8, or 16 (normalized by 65,535).
    pub sample_bits: u8,
    /// Original width in pixels (before padding).
    pub width: u32,
    /// Original height in pixels.
    pub height: u32,
    /// Wavelet packet levels J.
    pub levels: u8,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Latent channels.
    pub latent_channels: u16,
    /// Latent width, `ceil(width / 2^J)`.
    pub latent_width: u32,
    /// Latent height.
    pub latent_height: u32,
    /// How the latent is coded.
    pub coder: LatentCoder,
    /// The quantizer step the latent was coded at.
    pub step: Step,
    /// Latent rows per chunk.
    pub rows_per_chunk: u32,
    /// Number of chunks that follow.
    pub chunk_count: u32,
}

impl Header {
    /// Number of latent values.
    pub fn latent_values(&self) -> u64 {
        u64::from(self.latent_channels) * u64::from(self.latent_width) * u64::from(self.latent_height)
    }

    /// Checks internal consistency and the limits.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        if !matches!(self.channels, 1 | 3) {
            return Err(invalid("channels", format!("{} (1 or 3)", self.channels)));
        }
        if !matches!(self.sample_bits, 8 | 16) {
            return Err(invalid("sample bits", format!("{} (8 or 16)", self.sample_bits)));
        }
        limits.check_image(self.width, self.height)?;
        if !(1..=6).contains(&self.levels) {
            return Err(invalid("levels", format!("{} (1..=6)", self.levels)));
        }
        if !(2..=8).contains(&self.latent_bits) {
            return Err(invalid("latent bits", format!("{} (2..=8)", self.latent_bits)));
        }
        if self.latent_channels == 0 {
            return Err(invalid("latent channels", "0"));
        }
        let side = |v: u32| v.div_ceil(1 << self.levels);
        if (self.latent_width, self.latent_height) != (side(self.width), side(self.height)) {
            return Err(invalid(
                "latent shape",
                format!(
                    "{}×{} for a {}×{} image at J={} (expected {}×{})",
                    self.latent_width,
                    self.latent_height,
                    self.width,
                    self.height,
                    self.levels,
                    side(self.width),
                    side(self.height)
                ),
            ));
        }
        limits.check_latent_values(self.latent_values())?;
        if self.rows_per_chunk == 0 {
            return Err(invalid("rows per chunk", "0"));
        }
        let expected_chunks = if self.coder.is_banded() {
            self.latent_height.div_ceil(self.rows_per_chunk)
        } else {
            1
        };
        if self.chunk_count != expected_chunks {
            return Err(invalid(
                "chunk count",
                format!("{} (the latent shape implies {expected_chunks})", self.chunk_count),
            ));
        }
        Ok(())
    }

    fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = header_prefix(Modality::Image, &self.model_id);
        b[40] = self.channels;
        b[41] = self.sample_bits;
        b[42..46].copy_from_slice(&self.width.to_le_bytes());
        b[46..50].copy_from_slice(&self.height.to_le_bytes());
        b[50] = self.levels;
        b[51] = self.latent_bits;
        b[52..54].copy_from_slice(&self.latent_channels.to_le_bytes());
        b[54..58].copy_from_slice(&self.latent_width.to_le_bytes());
        b[58..62].copy_from_slice(&self.latent_height.to_le_bytes());
        b[62] = self.coder as u8;
        b[63] = self.step.code() as u8;
        b[4] = version_for(self.coder, self.step);
        b[64..68].copy_from_slice(&self.rows_per_chunk.to_le_bytes());
        b[68..72].copy_from_slice(&self.chunk_count.to_le_bytes());
        seal(b)
    }
}

/// A header with the fields every modality shares filled in: magic,
/// version, modality, header length and model id.
pub(crate) fn header_prefix(modality: Modality, model_id: &ModelId) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..4].copy_from_slice(&MAGIC);
    // Version 1 unless the modality's header uses what version 2 added.
    b[4] = 1;
    b[5] = modality.code();
    b[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    b[8..40].copy_from_slice(&model_id.0);
    b
}

/// The version a file of `coder` at `step` is written as: the oldest
/// that holds both.
pub(crate) fn version_for(coder: LatentCoder, step: Step) -> u8 {
    let step_version = if step == Step::NATIVE { 1 } else { 2 };
    coder.first_version().max(step_version)
}

/// The coder of a header's coder byte, which its version must hold.
pub(crate) fn coder_field(header: &[u8], at: usize) -> Result<LatentCoder> {
    let coder = LatentCoder::from_code(header[at])?;
    if coder.first_version() > header[4] {
        return Err(invalid(
            "latent coder",
            format!(
                "{} in a version-{} file (it came with version {})",
                coder.name(),
                header[4],
                coder.first_version()
            ),
        ));
    }
    Ok(coder)
}

/// The step of a header's step byte: a signed code in version 2, a
/// reserved zero in version 1.
pub(crate) fn step_field(header: &[u8], at: usize) -> Result<Step> {
    if header[4] == 1 && header[at] != 0 {
        return Err(invalid("reserved byte", header[at]));
    }
    Step::from_code(header[at] as i8)
}

/// The coder of a banded modality's coder byte (audio, volumes): rANS or
/// an adaptive coder its version holds.
pub(crate) fn banded_coder_field(header: &[u8], at: usize) -> Result<LatentCoder> {
    let coder = coder_field(header, at)?;
    if !coder.is_banded() {
        return Err(invalid(
            "latent coder",
            format!(
                "{} (audio and volumes are coded in bands: rANS or an adaptive coder)",
                coder.name()
            ),
        ));
    }
    Ok(coder)
}

/// Writes the header CRC.
pub(crate) fn seal(mut b: [u8; HEADER_LEN]) -> [u8; HEADER_LEN] {
    let crc = crc32fast::hash(&b[..72]);
    b[72..76].copy_from_slice(&crc.to_le_bytes());
    b
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks what every header shares (magic, version, CRC, length) and
/// returns the header bytes and the modality.
pub(crate) fn checked_header(bytes: &[u8]) -> Result<(&[u8], Modality)> {
    if bytes.len() < 5 {
        return Err(if bytes.len() >= 4 && bytes[..4] != MAGIC {
            CodecError::BadMagic
        } else {
            CodecError::Truncated("header")
        });
    }
    if bytes[..4] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    if !(1..=VERSION).contains(&bytes[4]) {
        return Err(CodecError::UnsupportedVersion {
            found: bytes[4],
            supported: VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::Truncated("header"));
    }
    let b = &bytes[..HEADER_LEN];
    if u32_at(b, 72) != crc32fast::hash(&b[..72]) {
        return Err(CodecError::BadChecksum("header".into()));
    }
    let header_len = u16::from_le_bytes([b[6], b[7]]);
    if usize::from(header_len) != HEADER_LEN {
        return Err(invalid("header length", header_len));
    }
    let modality = Modality::ALL
        .into_iter()
        .find(|m| m.code() == b[5])
        .ok_or_else(|| invalid("modality", format!("{} (1 image, 2 audio, 3 volume)", b[5])))?;
    Ok((b, modality))
}

/// The modality of a file (after checking its header's CRC).
pub fn modality(bytes: &[u8]) -> Result<Modality> {
    checked_header(bytes).map(|(_, modality)| modality)
}

/// The id of the model that made a file (after checking its header's CRC),
/// without parsing the rest: what finding the model needs.
pub fn model_id(bytes: &[u8]) -> Result<ModelId> {
    let (b, _) = checked_header(bytes)?;
    let mut id = [0u8; 32];
    id.copy_from_slice(&b[8..40]);
    Ok(ModelId(id))
}

/// Parses and checks an image header (magic, version, CRC, fields, limits).
pub fn parse_header(bytes: &[u8], limits: &Limits) -> Result<Header> {
    let (b, modality) = checked_header(bytes)?;
    if modality != Modality::Image {
        return Err(invalid("modality", format!("{modality} (this is not an image file)")));
    }
    let mut model_id = [0u8; 32];
    model_id.copy_from_slice(&b[8..40]);
    let header = Header {
        model_id: ModelId(model_id),
        channels: b[40],
        sample_bits: b[41],
        width: u32_at(b, 42),
        height: u32_at(b, 46),
        levels: b[50],
        latent_bits: b[51],
        latent_channels: u16::from_le_bytes([b[52], b[53]]),
        latent_width: u32_at(b, 54),
        latent_height: u32_at(b, 58),
        coder: coder_field(b, 62)?,
        step: step_field(b, 63)?,
        rows_per_chunk: u32_at(b, 64),
        chunk_count: u32_at(b, 68),
    };
    header.validate(limits)?;
    Ok(header)
}

/// Parses a whole file: the header and its chunks' payloads (borrowed).
/// Every chunk's CRC is checked, and no byte may follow the last chunk.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(Header, Vec<&'a [u8]>)> {
    let header = parse_header(bytes, limits)?;
    let chunks = parse_chunks(bytes, header.chunk_count)?;
    Ok((header, chunks))
}

/// The payloads of the `count` chunks after the header, CRCs checked; no
/// byte may follow the last.
pub(crate) fn parse_chunks(bytes: &[u8], count: u32) -> Result<Vec<&[u8]>> {
    let mut rest = &bytes[HEADER_LEN..];
    // Each chunk takes at least 8 bytes: refuse counts the file cannot hold.
    if u64::from(count) * 8 > rest.len() as u64 {
        return Err(CodecError::Truncated("chunks"));
    }
    let mut chunks = Vec::with_capacity(count as usize);
    for index in 0..count {
        if rest.len() < 8 {
            return Err(CodecError::Truncated("chunk length"));
        }
        let len = u32_at(rest, 0) as usize;
        if rest.len() - 8 < len {
            return Err(CodecError::Truncated("chunk payload"));
        }
        let crc = u32_at(rest, 4 + len);
        if crc != crc32fast::hash(&rest[..4 + len]) {
            return Err(CodecError::BadChecksum(format!("chunk {index}")));
        }
        chunks.push(&rest[4..4 + len]);
        rest = &rest[8 + len..];
    }
    if !rest.is_empty() {
        return Err(invalid(
            "file length",
            format!("{} bytes after the last chunk", rest.len()),
        ));
    }
    Ok(chunks)
}

/// Writes a header and chunks into a file image.
pub fn write(header: &Header, chunks: &[Vec<u8>]) -> Vec<u8> {
    write_sealed(&header.to_bytes(), chunks)
}

/// Writes sealed header bytes and chunks into a file image.
pub(crate) fn write_sealed(header: &[u8; HEADER_LEN], chunks: &[Vec<u8>]) -> Vec<u8> {
    let total = HEADER_LEN + chunks.iter().map(|c| c.len() + 8).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(header);
    for chunk in chunks {
        let start = out.len();
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(chunk);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coders_parse_by_their_names() {
        for coder in LatentCoder::ALL {
            assert_eq!(coder.name().parse::<LatentCoder>().unwrap(), coder);
        }
        let error = "jpeg".parse::<LatentCoder>().unwrap_err();
        assert!(error.to_string().contains("adaptive, rans, png or webp"), "{error}");
    }

    fn header() -> Header {
        Header {
            model_id: ModelId([7; 32]),
            channels: 3,
            sample_bits: 8,
            width: 100,
            height: 30,
            levels: 3,
            latent_bits: 8,
            latent_channels: 12,
            latent_width: 13,
            latent_height: 4,
            coder: LatentCoder::Rans,
            step: Step::NATIVE,
            rows_per_chunk: 3,
            chunk_count: 2,
        }
    }

    #[test]
    fn steps_and_adaptive_coding_are_version_2() {
        let native = write(&header(), &[vec![1; 4], vec![2; 4]]);
        assert_eq!(native[4], 1, "a file with nothing new stays version 1");
        let stepped = Header {
            step: Step::from_code(-7).unwrap(),
            coder: LatentCoder::Adaptive,
            ..header()
        };
        let bytes = write(&stepped, &[vec![1; 4], vec![2; 4]]);
        assert_eq!((bytes[4], bytes[62], bytes[63]), (2, 3, (-7i8) as u8));
        assert_eq!(parse(&bytes, &Limits::default()).unwrap().0, stepped);
        // A version-1 file with its reserved byte set is refused.
        let with_byte_63 = |file: &[u8], value: u8| {
            let mut forged = file.to_vec();
            forged[63] = value;
            let crc = crc32fast::hash(&forged[..72]);
            forged[72..76].copy_from_slice(&crc.to_le_bytes());
            forged
        };
        let forged = with_byte_63(&native, 5);
        assert!(parse(&forged, &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("reserved"));
        // A step code beyond the range is refused by name.
        let forged = with_byte_63(&bytes, 100);
        assert!(parse(&forged, &Limits::default())
            .unwrap_err()
            .to_string()
            .contains("quantizer step"));
    }

    #[test]
    fn the_contextual_coder_is_version_3_and_no_older_file_holds_it() {
        let contextual = Header {
            coder: LatentCoder::Contextual,
            ..header()
        };
        let bytes = write(&contextual, &[vec![1; 4], vec![2; 4]]);
        assert_eq!((bytes[4], bytes[62]), (3, 5));
        assert_eq!(parse(&bytes, &Limits::default()).unwrap().0, contextual);
        // The same coder byte in a version-2 (or 1) file is refused by name.
        for version in [1u8, 2] {
            let mut forged = bytes.clone();
            forged[4] = version;
            let crc = crc32fast::hash(&forged[..72]);
            forged[72..76].copy_from_slice(&crc.to_le_bytes());
            let error = parse(&forged, &Limits::default()).unwrap_err().to_string();
            assert!(
                error.contains("contextual in a version-") && error.contains("version 3"),
                "{error}"
            );
        }
    }

    #[test]
    fn round_trip() {
        let chunks = vec![vec![1, 2, 3, 4], vec![]];
        let bytes = write(&header(), &chunks);
        let (h, got) = parse(&bytes, &Limits::default()).unwrap();
        assert_eq!(h, header());
        assert_eq!(got, vec![&[1u8, 2, 3, 4][..], &[][..]]);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let bytes = write(&header(), &[vec![9; 10], vec![5; 3]]);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                assert!(parse(&damaged, &Limits::default()).is_err(), "byte {i} bit {bit}");
            }
        }
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut], &Limits::default()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn limits_refuse_huge_images() {
        let mut h = header();
        h.width = 60_000;
        h.height = 60_000;
        h.latent_width = 7500;
        h.latent_height = 7500;
        h.chunk_count = 2500;
        let err = h.validate(&Limits::default()).unwrap_err();
        assert!(err.to_string().contains("pixel count"), "{err}");
    }
}
