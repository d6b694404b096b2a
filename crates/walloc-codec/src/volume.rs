//! Volumes (CT, MRI, spectral cubes): `depth × height × width` voxels of
//! any [`SampleType`] and 1 to 64 channels, coded in slabs of slices. Each
//! slab is normalized by the volume's value range, padded as the reference
//! pads, transformed by wavelet packets (3-D over the slab, or 2-D over
//! each slice for a model of `dim` 2: a spectral cube with its bands as
//! channels), projected, quantized and rANS-coded into a chunk of its own,
//! so that encoding and decoding hold one slab and a damaged chunk stays
//! local. The value range, the voxel geometry (spacing, orientation) and
//! the source's georeferencing tags travel in the file's first chunk.
//! Layout: docs/FORMAT.md, "Volumes".

use walloc_wavelet::Signal as Planar;

use crate::codec::Latent;
use crate::config::Modality;
use crate::container::{
    banded_coder_field, checked_header, header_prefix, parse_chunks, seal, step_field, u32_at, version_for,
    write_sealed, LatentCoder, Limits, HEADER_LEN,
};
use crate::entropy::BandCoder;
use crate::error::{invalid, CodecError, Result};
use crate::file_tags::{self, FileTag};
use crate::image::reflect;
use crate::model::{Model, ModelId, MAX_CHANNELS, MAX_LEVELS, MAX_LEVELS_3D};
use crate::registry::{Analysis, Synthesis};
use crate::signal::{SampleType, Samples, ValueRange};
use crate::step::Step;

/// Slices per slab unless asked otherwise (rounded up to a multiple of 2^J).
pub const DEFAULT_SLAB_DEPTH: u32 = 64;

/// Bytes of the metadata chunk's fixed part (value range and geometry);
/// the source's tags, if any, follow it.
pub const META_LEN: usize = 160;

/// Where the voxels sit in space, as NIfTI-1 records it, so that a decoded
/// scan lines up with the original in a viewer. Volumes from raw arrays
/// have the default: unit spacing, no orientation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// `pixdim`: `qfac` (±1), then the voxel spacing along x (width), y
    /// (height) and z (depth), then the time step and three more.
    pub pixdim: [f32; 8],
    /// `quatern_b`, `quatern_c`, `quatern_d`, `qoffset_x`, `qoffset_y`,
    /// `qoffset_z`: the qform rotation and offset.
    pub quatern: [f32; 6],
    /// `srow_x`, `srow_y`, `srow_z`: the sform affine's rows.
    pub srow: [[f32; 4]; 3],
    /// `scl_slope` and `scl_inter`: how a reader scales the stored values
    /// (0 and 0 for none), kept so that a decoded scan reads as the
    /// original does.
    pub scaling: [f32; 2],
    /// How the qform maps voxels (0 unknown, 1 scanner, 2 aligned, 3
    /// Talairach, 4 MNI).
    pub qform_code: i16,
    /// How the sform maps voxels (the same codes).
    pub sform_code: i16,
    /// Units of space and time (`xyzt_units`).
    pub xyzt_units: u8,
}

impl Default for Geometry {
    /// Unit spacing, no orientation (both form codes 0).
    fn default() -> Self {
        Geometry {
            pixdim: [1.0; 8],
            quatern: [0.0; 6],
            srow: [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
            scaling: [0.0, 0.0],
            qform_code: 0,
            sform_code: 0,
            xyzt_units: 0,
        }
    }
}

impl Geometry {
    /// Voxel spacing along width, height and depth.
    pub fn spacing(&self) -> [f32; 3] {
        [self.pixdim[1], self.pixdim[2], self.pixdim[3]]
    }

    fn floats(&self) -> impl Iterator<Item = f32> + '_ {
        self.pixdim
            .iter()
            .chain(&self.quatern)
            .chain(self.srow.iter().flatten())
            .chain(&self.scaling)
            .copied()
    }
}

/// What a volume file records: the header's fields and the metadata
/// chunk's (value range and geometry).
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeHeader {
    /// SHA-256 of the model file that made the latent.
    pub model_id: ModelId,
    /// Channels per voxel.
    pub channels: u8,
    /// The original samples' type, which decoding gives back.
    pub sample_type: SampleType,
    /// `[depth, height, width]` in voxels.
    pub shape: [u32; 3],
    /// Axes of the wavelet packets: 3 (over each slab) or 2 (over each
    /// slice, by a model of `dim` 2).
    pub dims: u8,
    /// Wavelet packet levels J.
    pub levels: u8,
    /// Bits per latent value.
    pub latent_bits: u8,
    /// Latent channels.
    pub latent_channels: u16,
    /// Slices per slab (for 3-D packets a multiple of 2^J; the last slab
    /// may be thinner).
    pub slab_depth: u32,
    /// The values that normalize to −0.5 and 0.5.
    pub range: ValueRange,
    /// Where the voxels sit in space.
    pub geometry: Geometry,
    /// The source format's tags, carried as they are (a cube's GeoTIFF
    /// georeferencing).
    pub tags: Vec<FileTag>,
    /// How the slabs' latents are entropy-coded: rANS or adaptive.
    pub coder: LatentCoder,
    /// The quantizer step the latents were coded at.
    pub step: Step,
}

impl VolumeHeader {
    /// Number of slabs.
    pub fn slabs(&self) -> u32 {
        self.shape[0].div_ceil(self.slab_depth.max(1))
    }

    /// The slices of slab `index`: `(first, count)`; no slices past the end.
    pub fn slab(&self, index: u32) -> (u32, u32) {
        let first = index.saturating_mul(self.slab_depth);
        (first, self.slab_depth.min(self.shape[0].saturating_sub(first)))
    }

    /// Samples in one slice (voxels × channels).
    pub fn slice_len(&self) -> usize {
        self.shape[1] as usize * self.shape[2] as usize * usize::from(self.channels)
    }

    /// What the depth axis is padded to a multiple of: 2^J for 3-D
    /// packets, 1 for slices coded one by one.
    fn depth_multiple(&self) -> u32 {
        if self.dims == 3 {
            1 << self.levels
        } else {
            1
        }
    }

    /// The latent's `[depth, height, width]` for a slab of `slices`, with
    /// filters of `filter_len` taps.
    pub fn latent_shape(&self, slices: u32, filter_len: usize) -> [usize; 3] {
        let [pd, ph, pw] = padded_shape(self, slices, filter_len);
        let multiple = 1usize << self.levels;
        [pd / self.depth_multiple() as usize, ph / multiple, pw / multiple]
    }

    /// Checks every field against its rule and the limits: a slice within
    /// the image limits, a slab's samples within the pixel limit and its
    /// latent within the latent limit.
    pub fn validate(&self, limits: &Limits) -> Result<()> {
        if !(1..=MAX_CHANNELS).contains(&u32::from(self.channels)) {
            return Err(invalid("channels", format!("{} (1..={MAX_CHANNELS})", self.channels)));
        }
        let [depth, height, width] = self.shape;
        limits.check_image(width, height)?;
        limits.check_dimension("depth", depth)?;
        let max_levels = match self.dims {
            3 => MAX_LEVELS_3D,
            2 => MAX_LEVELS,
            dims => return Err(invalid("packet axes", format!("{dims} (2 or 3)"))),
        };
        if !(1..=max_levels).contains(&u32::from(self.levels)) {
            return Err(invalid(
                "levels",
                format!("{} (1..={max_levels} for {}-D packets)", self.levels, self.dims),
            ));
        }
        if !(2..=8).contains(&self.latent_bits) {
            return Err(invalid("latent bits", format!("{} (2..=8)", self.latent_bits)));
        }
        if self.latent_channels == 0 {
            return Err(invalid("latent channels", "0"));
        }
        if !self.coder.is_banded() {
            return Err(invalid(
                "latent coder",
                format!(
                    "{} (volumes are rANS-coded or coded by an adaptive coder)",
                    self.coder.name()
                ),
            ));
        }
        let multiple = self.depth_multiple();
        if self.slab_depth == 0 || !self.slab_depth.is_multiple_of(multiple) {
            return Err(invalid(
                "slab depth",
                format!("{} (a positive multiple of {multiple})", self.slab_depth),
            ));
        }
        let [slab, rows, columns] = padded_shape(self, self.slab_depth.min(depth), LONGEST_FILTER).map(|v| v as u64);
        let samples = slab * rows * columns * u64::from(self.channels);
        if samples > limits.max_pixels {
            return Err(CodecError::LimitExceeded {
                what: "slab samples",
                value: samples,
                limit: limits.max_pixels,
            });
        }
        let latent = (u64::from(self.latent_channels) * samples / u64::from(self.channels))
            >> (u32::from(self.dims) * u32::from(self.levels));
        limits.check_latent_values(latent)?;
        let ValueRange { min, max } = self.range;
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(invalid("value range", format!("{min}..{max}")));
        }
        // The geometry is carried as it is: NIfTI writers store NaN in
        // unused fields (nibabel's `scl_slope` for "no scaling") and codes
        // beyond the standard's, and a decoded scan must read as the
        // original does.
        file_tags::check(&self.tags)
    }

    fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = header_prefix(Modality::Volume, &self.model_id);
        b[40] = self.channels;
        b[41] = self.sample_type.code();
        b[59] = if self.dims == 2 { 2 } else { 0 };
        for (i, v) in self.shape.iter().enumerate() {
            b[42 + 4 * i..46 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        b[54] = self.levels;
        b[55] = self.latent_bits;
        b[56..58].copy_from_slice(&self.latent_channels.to_le_bytes());
        b[58] = self.coder as u8;
        b[68] = self.step.code() as u8;
        b[4] = version_for(self.coder, self.step);
        b[60..64].copy_from_slice(&self.slab_depth.to_le_bytes());
        b[64..68].copy_from_slice(&(1 + self.slabs()).to_le_bytes());
        seal(b)
    }

    /// The metadata chunk: range (2 × f64), pixdim (8 × f32), quatern
    /// (6 × f32), srow (12 × f32), scaling (2 × f32), qform and sform
    /// codes (i16), units, zeros; then the tags, if any.
    fn meta_bytes(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(META_LEN);
        m.extend_from_slice(&self.range.min.to_le_bytes());
        m.extend_from_slice(&self.range.max.to_le_bytes());
        for v in self.geometry.floats() {
            m.extend_from_slice(&v.to_le_bytes());
        }
        m.extend_from_slice(&self.geometry.qform_code.to_le_bytes());
        m.extend_from_slice(&self.geometry.sform_code.to_le_bytes());
        m.push(self.geometry.xyzt_units);
        m.resize(META_LEN, 0);
        m.extend(file_tags::encode(&self.tags));
        m
    }
}

fn f64_at(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The metadata chunk's range, geometry and tags.
fn parse_meta(m: &[u8]) -> Result<(ValueRange, Geometry, Vec<FileTag>)> {
    if m.len() < META_LEN {
        return Err(invalid(
            "metadata chunk",
            format!("{} bytes (at least {META_LEN})", m.len()),
        ));
    }
    if m[133..META_LEN].iter().any(|&v| v != 0) {
        return Err(invalid("metadata chunk", "reserved bytes not zero"));
    }
    let range = ValueRange {
        min: f64_at(m, 0),
        max: f64_at(m, 8),
    };
    let float = |i: usize| f32_at(m, 16 + 4 * i);
    let geometry = Geometry {
        pixdim: std::array::from_fn(float),
        quatern: std::array::from_fn(|i| float(8 + i)),
        srow: std::array::from_fn(|r| std::array::from_fn(|c| float(14 + 4 * r + c))),
        scaling: [float(26), float(27)],
        qform_code: i16::from_le_bytes([m[128], m[129]]),
        sform_code: i16::from_le_bytes([m[130], m[131]]),
        xyzt_units: m[132],
    };
    Ok((range, geometry, file_tags::parse(&m[META_LEN..])?))
}

/// Parses a volume file: its header (with the metadata chunk) and the
/// slabs' payloads. Every size is checked against `limits` first.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(VolumeHeader, Vec<&'a [u8]>)> {
    let (b, modality) = checked_header(bytes)?;
    if modality != Modality::Volume {
        return Err(invalid("modality", format!("{modality} (this is not a volume file)")));
    }
    let dims = match b[59] {
        0 => 3,
        2 => 2,
        other => return Err(invalid("packet axes", format!("{other} (0 for 3-D, 2 for 2-D)"))),
    };
    if b[69..72].iter().any(|&v| v != 0) {
        return Err(invalid("reserved bytes", "not zero"));
    }
    let mut model_id = [0u8; 32];
    model_id.copy_from_slice(&b[8..40]);
    let mut header = VolumeHeader {
        model_id: ModelId(model_id),
        channels: b[40],
        sample_type: SampleType::from_code(b[41])?,
        shape: [u32_at(b, 42), u32_at(b, 46), u32_at(b, 50)],
        dims,
        levels: b[54],
        latent_bits: b[55],
        latent_channels: u16::from_le_bytes([b[56], b[57]]),
        slab_depth: u32_at(b, 60),
        range: ValueRange { min: 0.0, max: 1.0 },
        geometry: Geometry::default(),
        tags: Vec::new(),
        coder: banded_coder_field(b, 58)?,
        step: step_field(b, 68)?,
    };
    // The fields that size the chunk count are checked before it is used.
    header.validate(limits)?;
    let count = u32_at(b, 64);
    if count != 1 + header.slabs() {
        return Err(invalid(
            "chunk count",
            format!("{count} (the shape and slab depth imply {})", 1 + header.slabs()),
        ));
    }
    let mut chunks = parse_chunks(bytes, count)?;
    (header.range, header.geometry, header.tags) = parse_meta(chunks[0])?;
    header.validate(limits)?;
    chunks.remove(0);
    Ok((header, chunks))
}

/// Checks that `header` was made by `model`.
pub fn check_model(header: &VolumeHeader, model: &Model) -> Result<()> {
    model.check_id(header.model_id)?;
    let config = model.config();
    let same = config.modality == Modality::Volume
        && u32::from(header.dims) == config.dim
        && u32::from(header.channels) == config.channels
        && u32::from(header.levels) == config.levels
        && header.latent_bits == config.latent_bits
        && u32::from(header.latent_channels) == config.latent_dim;
    if !same {
        return Err(invalid(
            "header",
            format!("shape fields disagree with model {}", config.name),
        ));
    }
    Ok(())
}

/// The longest analysis filter of the filter banks (bior4.4): what the
/// limits assume of a volume's padding before the model is known.
const LONGEST_FILTER: usize = 10;

/// The padded length of an axis of `len` samples at J `levels` with
/// filters of `filter_len` taps: a multiple of 2^J, and at least
/// `filter_len · 2^(J−1)`, so that every line at every level is at least as
/// long as the filter. The reference's periodization folds a line's tail
/// back once, which inverts exactly only for such lines; a thin slab
/// padded only to a multiple of 2^J would lose most of its detail.
pub fn padded_len(len: usize, levels: u8, filter_len: usize) -> usize {
    let multiple = 1usize << levels;
    let least = (filter_len << levels.saturating_sub(1)).next_multiple_of(multiple);
    len.next_multiple_of(multiple).max(least)
}

/// The padded shape `[depth, height, width]` of a slab of `slices`: 2-D
/// packets leave the depth as it is.
fn padded_shape(header: &VolumeHeader, slices: u32, filter_len: usize) -> [usize; 3] {
    let up = |v: u32| padded_len(v as usize, header.levels, filter_len);
    let depth = if header.dims == 3 { up(slices) } else { slices as usize };
    [depth, up(header.shape[1]), up(header.shape[2])]
}

/// Samples of padding before an axis of `len` padded to `padded`, as the
/// reference splits it.
fn before(len: usize, padded: usize) -> usize {
    (padded - len) / 2
}

/// The codec's working value of a sample: `(x − min) / (max − min) − 0.5`.
#[inline]
fn normalized(x: f64, range: ValueRange) -> f32 {
    ((x - range.min) / (range.max - range.min) - 0.5) as f32
}

/// Samples (channels last) as the encoder normalizes them by `range`,
/// planar: `channels` planes. What fitting takes ([`crate::fit::fit_linear_volume`]).
pub fn normalized_planar(samples: &Samples, channels: usize, range: ValueRange) -> Vec<f32> {
    let positions = samples.len() / channels.max(1);
    (0..channels)
        .flat_map(|c| (0..positions).map(move |i| normalized(samples.get(i * channels + c), range)))
        .collect()
}

/// A slab's samples (`slices × height × width × channels`, channels last)
/// normalized by the range to `(x − min) / (max − min) − 0.5`, planar and
/// reflect-padded on every axis as the reference pads.
fn padded_slab(header: &VolumeHeader, samples: &Samples, slices: u32, filter_len: usize) -> Result<Planar> {
    let [_, h, w] = header.shape.map(|v| v as usize);
    let (c, d) = (usize::from(header.channels), slices as usize);
    let [pd, ph, pw] = padded_shape(header, slices, filter_len);
    let (front, top, left) = (before(d, pd), before(h, ph), before(w, pw));
    let mut data = Vec::with_capacity(c * pd * ph * pw);
    for channel in 0..c {
        for z in 0..pd {
            let sz = reflect(z as isize - front as isize, d);
            for y in 0..ph {
                let sy = reflect(y as isize - top as isize, h);
                let row = (sz * h + sy) * w;
                data.extend((0..pw).map(|x| {
                    let sx = reflect(x as isize - left as isize, w);
                    normalized(samples.get((row + sx) * c + channel), header.range)
                }));
            }
        }
    }
    Ok(Planar::new(data, c, vec![pd, ph, pw])?)
}

/// Codes one slab of `slices` slices (`samples` holds them, channels last)
/// with `encoder` (one of `model`'s, quantizing at the header's step) and
/// `coder` (the model's, for the header's coder and step) into its chunk.
pub fn encode_slab(
    encoder: &dyn Analysis,
    coder: &BandCoder,
    model: &Model,
    header: &VolumeHeader,
    samples: &Samples,
    slices: u32,
) -> Result<Vec<u8>> {
    let latent = analyze_slab(encoder, model, header, samples, slices)?;
    if latent.step != header.step {
        return Err(CodecError::IncompatibleInput(format!(
            "the encoder quantizes at {}, the volume is coded at {}",
            latent.step, header.step
        )));
    }
    let plane = latent.height * latent.width;
    coder.encode(&latent.symbols, plane, 0..plane, latent.width)
}

/// The integer latent of one slab of `slices` slices (`samples` holds
/// them, channels last): what [`encode_slab`] entropy-codes.
pub fn analyze_slab(
    encoder: &dyn Analysis,
    model: &Model,
    header: &VolumeHeader,
    samples: &Samples,
    slices: u32,
) -> Result<Latent> {
    if samples.len() != slices as usize * header.slice_len() {
        return Err(CodecError::IncompatibleInput(format!(
            "{} samples are not {slices} slices of {} samples",
            samples.len(),
            header.slice_len()
        )));
    }
    let slab = padded_slab(header, samples, slices, model.bank().len())?;
    if header.dims == 3 {
        return encoder.analyze(slab);
    }
    let latents = planes(slab)
        .map(|slice| encoder.analyze(slice))
        .collect::<Result<Vec<_>>>()?;
    Ok(stacked(latents, usize::from(header.latent_channels)))
}

/// The slices of a planar slab `[channels, depth, height, width]`, each a
/// planar `[channels, height, width]` image.
fn planes(slab: Planar) -> impl Iterator<Item = Planar> {
    let [d, h, w] = [slab.shape[0], slab.shape[1], slab.shape[2]];
    let c = slab.channels;
    (0..d).map(move |z| {
        let data = (0..c)
            .flat_map(|channel| {
                let start = (channel * d + z) * h * w;
                slab.data[start..start + h * w].iter().copied()
            })
            .collect();
        Planar::new(data, c, vec![h, w]).expect("a slice of a checked slab")
    })
}

/// The latents of a slab's slices (`k` channels each) as one latent: each
/// channel's slices stacked row after row, as 3-D latents are.
fn stacked(latents: Vec<Latent>, k: usize) -> Latent {
    let (depth, rows, width) = (latents.len(), latents[0].height, latents[0].width);
    let plane = rows * width;
    let symbols = (0..k)
        .flat_map(|channel| {
            latents
                .iter()
                .flat_map(move |latent| latent.symbols[channel * plane..(channel + 1) * plane].iter().copied())
        })
        .collect();
    Latent {
        depth,
        channels: k,
        height: depth * rows,
        width,
        symbols,
        step: latents[0].step,
    }
}

/// Slice `z`'s latent of a stacked 2-D latent (the inverse of [`stacked`]).
fn slice_of(latent: &Latent, z: usize) -> Latent {
    let rows = latent.height / latent.depth.max(1);
    let plane = rows * latent.width;
    let whole = latent.height * latent.width;
    Latent {
        depth: 1,
        channels: latent.channels,
        height: rows,
        width: latent.width,
        symbols: (0..latent.channels)
            .flat_map(|channel| {
                let start = channel * whole + z * plane;
                latent.symbols[start..start + plane].iter().copied()
            })
            .collect(),
        step: latent.step,
    }
}

/// The integer latent of slab `index` from its chunk.
pub fn decode_slab_latent(model: &Model, header: &VolumeHeader, index: u32, payload: &[u8]) -> Result<Latent> {
    if index >= header.slabs() {
        return Err(invalid("slab", format!("{index} (the volume has {})", header.slabs())));
    }
    let (_, slices) = header.slab(index);
    let [depth, rows, width] = header.latent_shape(slices, model.bank().len());
    let k = usize::from(header.latent_channels);
    let plane = depth * rows * width;
    let mut symbols = vec![0u8; k * plane];
    model
        .band_coder(header.coder, header.step)?
        .decode(payload, &mut symbols, plane, 0..plane, width)?;
    Ok(Latent {
        depth,
        channels: k,
        height: depth * rows,
        width,
        symbols,
        step: header.step,
    })
}

/// Decodes slab `index` from its chunk with `decoder` (one of `model`'s):
/// its slices' samples, channels last, in the header's sample type.
pub fn decode_slab(
    decoder: &dyn Synthesis,
    model: &Model,
    header: &VolumeHeader,
    index: u32,
    payload: &[u8],
) -> Result<Samples> {
    let latent = decode_slab_latent(model, header, index, payload)?;
    synthesize_slab(decoder, model, header, &latent, header.slab(index).1)
}

/// The samples of a slab of `slices` slices decoded from its latent by
/// `decoder`, channels last, in the header's sample type.
pub fn synthesize_slab(
    decoder: &dyn Synthesis,
    model: &Model,
    header: &VolumeHeader,
    latent: &Latent,
    slices: u32,
) -> Result<Samples> {
    let [pd, ph, pw] = padded_shape(header, slices, model.bank().len());
    let [depth, rows, width] = header.latent_shape(slices, model.bank().len());
    if latent.depth != depth || latent.height != depth * rows || latent.width != width {
        return Err(CodecError::IncompatibleInput(format!(
            "a latent of {}×{}×{} does not decode {slices} slices of {}×{} at J = {}",
            latent.depth,
            latent.height / latent.depth.max(1),
            latent.width,
            header.shape[1],
            header.shape[2],
            header.levels
        )));
    }
    let planar = if header.dims == 3 {
        decoder.synthesize(latent)?
    } else {
        let slices = (0..depth)
            .map(|z| decoder.synthesize(&slice_of(latent, z)))
            .collect::<Result<Vec<_>>>()?;
        slab_of(slices, [pd, ph, pw])?
    };
    let c = usize::from(header.channels);
    if planar.channels != c || planar.shape != [pd, ph, pw] {
        return Err(CodecError::IncompatibleInput(format!(
            "the decoder gave {} channels of {:?} for a slab of {:?}",
            planar.channels,
            planar.shape,
            [pd, ph, pw]
        )));
    }
    let [_, h, w] = header.shape.map(|v| v as usize);
    let d = slices as usize;
    let (front, top, left) = (before(d, pd), before(h, ph), before(w, pw));
    let ValueRange { min, max } = header.range;
    let value = |i: usize| {
        let (x, rest) = (i / c % w, i / c / w);
        let (y, z, channel) = (rest % h, rest / h, i % c);
        let v = f64::from(planar.data[((channel * pd + z + front) * ph + y + top) * pw + x + left]);
        (min + (v + 0.5).clamp(0.0, 1.0) * (max - min)) as f32
    };
    Ok(Samples::from_f32(header.sample_type, (0..d * h * w * c).map(value)))
}

/// The planar slab `[channels, depth, height, width]` of its slices'
/// planar images, which must each be `[height, width]`.
fn slab_of(slices: Vec<Planar>, [pd, ph, pw]: [usize; 3]) -> Result<Planar> {
    let c = slices.first().map_or(1, |s| s.channels);
    if let Some(odd) = slices.iter().find(|s| s.channels != c || s.shape != [ph, pw]) {
        return Err(CodecError::IncompatibleInput(format!(
            "the decoder gave {} channels of {:?} for a slice of {:?}",
            odd.channels,
            odd.shape,
            [ph, pw]
        )));
    }
    let plane = ph * pw;
    let data = (0..c)
        .flat_map(|channel| {
            slices
                .iter()
                .flat_map(move |slice| slice.data[channel * plane..(channel + 1) * plane].iter().copied())
        })
        .collect();
    Ok(Planar::new(data, c, vec![pd, ph, pw])?)
}

/// Writes a volume file image: the header, the metadata chunk, then the
/// slabs' chunks in order.
pub fn write(header: &VolumeHeader, slabs: &[Vec<u8>]) -> Result<Vec<u8>> {
    header.validate(&Limits::default())?;
    if slabs.len() != header.slabs() as usize {
        return Err(CodecError::IncompatibleInput(format!(
            "{} slabs for a volume of {}",
            slabs.len(),
            header.slabs()
        )));
    }
    let mut chunks = Vec::with_capacity(slabs.len() + 1);
    chunks.push(header.meta_bytes());
    chunks.extend(slabs.iter().cloned());
    Ok(write_sealed(&header.to_bytes(), &chunks))
}

/// The smallest and largest finite samples, if any.
pub fn extremes(samples: &Samples) -> Option<(f64, f64)> {
    (0..samples.len())
        .map(|i| samples.get(i))
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((min, max)) => Some((f64::min(min, v), f64::max(max, v))),
        })
}

/// The range `min..max` of extremes (`min..min + 1` when they are equal,
/// `0..1` when there are none): what a volume is normalized by unless told
/// otherwise.
pub fn range_of(extremes: Option<(f64, f64)>) -> ValueRange {
    match extremes {
        None => ValueRange { min: 0.0, max: 1.0 },
        Some((min, max)) => ValueRange {
            min,
            max: if max > min { max } else { min + 1.0 },
        },
    }
}

/// The data's own range: [`range_of`] its [`extremes`].
pub fn data_range(samples: &Samples) -> ValueRange {
    range_of(extremes(samples))
}

/// What a volume is and how to code it: everything a [`VolumeEncoder`]
/// needs before the first slice.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeSpec {
    /// `[depth, height, width]` in voxels.
    pub shape: [u32; 3],
    /// Channels per voxel.
    pub channels: u8,
    /// The samples' type, which decoding gives back.
    pub sample_type: SampleType,
    /// The values that normalize to −0.5 and 0.5 (see [`data_range`]).
    pub range: ValueRange,
    /// Where the voxels sit in space.
    pub geometry: Geometry,
    /// Slices per slab, rounded up to a multiple of 2^J for 3-D packets
    /// ([`DEFAULT_SLAB_DEPTH`] by default).
    pub slab_depth: u32,
    /// The source format's tags, carried as they are (none by default).
    pub tags: Vec<FileTag>,
    /// How the slabs' latents are entropy-coded (adaptive by default).
    pub coder: LatentCoder,
    /// The quantizer step (the model's own by default); the encoder must
    /// quantize at it.
    pub step: Step,
    /// Whether the encoder quantizes for rate and distortion
    /// ([`crate::rdo`]); off by default. The file does not record it.
    pub rdo: bool,
}

impl VolumeSpec {
    /// A volume of `shape` with `channels` of `sample_type` over `range`,
    /// with the default geometry and slab depth.
    pub fn new(shape: [u32; 3], channels: u8, sample_type: SampleType, range: ValueRange) -> Self {
        VolumeSpec {
            shape,
            channels,
            sample_type,
            range,
            geometry: Geometry::default(),
            slab_depth: DEFAULT_SLAB_DEPTH,
            tags: Vec::new(),
            coder: LatentCoder::Contextual,
            step: Step::NATIVE,
            rdo: false,
        }
    }

    /// The header of this volume coded by `model`, checked.
    pub fn header(&self, model: &Model) -> Result<VolumeHeader> {
        let config = model.config();
        if config.modality != Modality::Volume || u32::from(self.channels) != config.channels {
            return Err(CodecError::IncompatibleInput(format!(
                "model {} codes {}-channel {}, not {}-channel volumes",
                config.name, config.channels, config.modality, self.channels
            )));
        }
        let mut header = VolumeHeader {
            model_id: model.id(),
            channels: self.channels,
            sample_type: self.sample_type,
            shape: self.shape,
            dims: config.dim as u8,
            levels: config.levels as u8,
            latent_bits: config.latent_bits,
            latent_channels: config.latent_dim as u16,
            slab_depth: self.slab_depth.max(1),
            range: self.range,
            geometry: self.geometry,
            tags: self.tags.clone(),
            coder: self.coder,
            step: self.step,
        };
        header.slab_depth = header.slab_depth.next_multiple_of(header.depth_multiple());
        header.validate(&Limits::default())?;
        Ok(header)
    }
}

/// Encodes a volume from its slices, in order: each slab is coded as soon
/// as its slices are in, so memory beyond the output is one slab's.
pub struct VolumeEncoder<'m> {
    model: &'m Model,
    encoder: Box<dyn Analysis + 'm>,
    coder: BandCoder<'m>,
    header: VolumeHeader,
    pending: Samples,
    slabs: Vec<Vec<u8>>,
}

impl<'m> VolumeEncoder<'m> {
    /// An encoder of the volume `spec` describes with `encoder` (one of
    /// `model`'s, quantizing at the spec's step).
    pub fn new(encoder: Box<dyn Analysis + 'm>, model: &'m Model, spec: &VolumeSpec) -> Result<Self> {
        let header = spec.header(model)?;
        Ok(VolumeEncoder {
            model,
            encoder,
            coder: model.band_coder(header.coder, header.step)?,
            pending: Samples::empty(header.sample_type),
            header,
            slabs: Vec::new(),
        })
    }

    /// The header the file will have.
    pub fn header(&self) -> &VolumeHeader {
        &self.header
    }

    /// Slices taken so far.
    pub fn slices_received(&self) -> u32 {
        let slab_slices = self.slabs.len() as u32 * self.header.slab_depth;
        slab_slices + (self.pending.len() / self.header.slice_len()) as u32
    }

    /// Takes whole slices (`height × width × channels` samples each, of the
    /// volume's type) and codes every slab they complete.
    pub fn push_slices(&mut self, samples: Samples) -> Result<()> {
        let slice = self.header.slice_len();
        let slices = samples.len() / slice;
        if samples.sample_type() != self.header.sample_type
            || !samples.len().is_multiple_of(slice)
            || self.slices_received() as usize + slices > self.header.shape[0] as usize
        {
            return Err(CodecError::IncompatibleInput(format!(
                "{} {} samples are not whole slices of {slice} {} samples within the volume's {} slices ({} in)",
                samples.len(),
                samples.sample_type().name(),
                self.header.sample_type.name(),
                self.header.shape[0],
                self.slices_received()
            )));
        }
        self.pending.append(samples);
        while (self.slabs.len() as u32) < self.header.slabs() {
            let (_, count) = self.header.slab(self.slabs.len() as u32);
            let want = count as usize * slice;
            if self.pending.len() < want {
                break;
            }
            let rest = self.pending.split_off(want);
            let slab = std::mem::replace(&mut self.pending, rest);
            let chunk = encode_slab(
                self.encoder.as_ref(),
                &self.coder,
                self.model,
                &self.header,
                &slab,
                count,
            )?;
            self.slabs.push(chunk);
        }
        Ok(())
    }

    /// The `.wal` file image, once every slice is in.
    pub fn finish(self) -> Result<Vec<u8>> {
        if self.slabs.len() as u32 != self.header.slabs() {
            return Err(CodecError::IncompatibleInput(format!(
                "{} of the volume's {} slices were given",
                self.slices_received(),
                self.header.shape[0]
            )));
        }
        write(&self.header, &self.slabs)
    }
}
