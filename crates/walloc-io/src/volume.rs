//! Volume files in and out, slice by slice so that memory stays one
//! slab's: NIfTI-1 (`.nii`, `.nii.gz`) read through the `nifti` crate,
//! numpy `.npy` read and written through `npyz`, and raw little-endian
//! arrays whose shape and type are given. Sample types uint8, uint16,
//! int16, int32 and float32 are kept; NIfTI geometry (spacing, qform,
//! sform, units, intensity scaling) is kept.
//!
//! NIfTI is written here, not through the `nifti` crate: its writer takes
//! the whole volume as one array, and a decoder must write slab by slab.
//! The 348-byte NIfTI-1 header is filled with the fields the crate reads,
//! and the tests read it back with the crate (and with nibabel).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use nifti::{Endianness, NiftiHeader, NiftiType};
use npyz::{NpyWriter, WriterBuilder};
use walloc::volume::Geometry;
use walloc::{SampleType, Samples};

use crate::error::{FormatError, Result};

/// Largest side of a volume read from a file.
const MAX_SIDE: u64 = 65_535;
/// Most voxels in one slice (2^28), as the codec's pixel limit.
const MAX_SLICE: u64 = 1 << 28;

/// A volume file's format, told by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeFormat {
    /// NIfTI-1, gzip-compressed when `gz`.
    Nifti {
        /// `.nii.gz` rather than `.nii`.
        gz: bool,
    },
    /// numpy `.npy`, C order.
    Npy,
    /// Raw samples, little endian, C order (`depth × height × width`).
    Raw,
}

impl VolumeFormat {
    /// The format of `path`: `.nii`, `.nii.gz`, `.npy`, or `.raw`; `None`
    /// for any other name.
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".nii.gz") {
            Some(VolumeFormat::Nifti { gz: true })
        } else if name.ends_with(".nii") {
            Some(VolumeFormat::Nifti { gz: false })
        } else if name.ends_with(".npy") {
            Some(VolumeFormat::Npy)
        } else if name.ends_with(".raw") {
            Some(VolumeFormat::Raw)
        } else {
            None
        }
    }
}

/// The layout of a raw file: `[depth, height, width]` and the sample type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawLayout {
    /// `[depth, height, width]` in voxels.
    pub shape: [u32; 3],
    /// The samples' type (little endian).
    pub sample_type: SampleType,
}

/// Where the slices come from.
enum Slices {
    Nifti(nifti::StreamedNiftiVolume<Box<dyn Read>>),
    Stream(Box<dyn Read>),
}

/// A volume being read, slice by slice.
pub struct VolumeReader {
    /// `[depth, height, width]` in voxels.
    pub shape: [u32; 3],
    /// Channels per voxel (1, or the last axis of a 4-D `.npy`).
    pub channels: u8,
    /// The samples' type.
    pub sample_type: SampleType,
    /// Where the voxels sit in space (the default for `.npy` and raw).
    pub geometry: Geometry,
    slices: Slices,
    big_endian: bool,
    read: u32,
    name: String,
}

fn bad(name: &str, message: impl Into<String>) -> FormatError {
    FormatError::Volume {
        name: name.to_string(),
        message: message.into(),
    }
}

/// Checks a volume's sides against the reading limits.
fn check_shape(name: &str, shape: [u64; 3], channels: u64) -> Result<[u32; 3]> {
    if shape.contains(&0) || shape.iter().any(|&v| v > MAX_SIDE) {
        return Err(bad(name, format!("shape {shape:?}: every side 1 to {MAX_SIDE}")));
    }
    if shape[1] * shape[2] * channels > MAX_SLICE {
        return Err(bad(
            name,
            format!("slices of {}×{} voxels exceed {MAX_SLICE}", shape[1], shape[2]),
        ));
    }
    Ok(shape.map(|v| v as u32))
}

fn nifti_sample_type(name: &str, header: &NiftiHeader) -> Result<SampleType> {
    let ok = |t| Ok(t);
    let datatype = header.datatype;
    match header.data_type() {
        Ok(NiftiType::Uint8) => ok(SampleType::U8),
        Ok(NiftiType::Uint16) => ok(SampleType::U16),
        Ok(NiftiType::Int16) => ok(SampleType::I16),
        Ok(NiftiType::Int32) => ok(SampleType::I32),
        Ok(NiftiType::Float32) => ok(SampleType::F32),
        other => Err(bad(
            name,
            format!(
                "NIfTI datatype {datatype} ({other:?}): walloc codes uint8, uint16, int16, int32 and float32 volumes"
            ),
        )),
    }
}

fn nifti_code(sample_type: SampleType) -> NiftiType {
    match sample_type {
        SampleType::U8 => NiftiType::Uint8,
        SampleType::U16 => NiftiType::Uint16,
        SampleType::I16 => NiftiType::Int16,
        SampleType::I32 => NiftiType::Int32,
        SampleType::F32 => NiftiType::Float32,
    }
}

/// The geometry a NIfTI header records.
fn geometry_of(h: &NiftiHeader) -> Geometry {
    Geometry {
        pixdim: h.pixdim,
        quatern: [
            h.quatern_b,
            h.quatern_c,
            h.quatern_d,
            h.quatern_x,
            h.quatern_y,
            h.quatern_z,
        ],
        srow: [h.srow_x, h.srow_y, h.srow_z],
        scaling: [h.scl_slope, h.scl_inter],
        qform_code: h.qform_code,
        sform_code: h.sform_code,
        xyzt_units: h.xyzt_units,
    }
}

/// numpy's type string (`<i2`, `|u1`, `>f4`, …): the sample type and
/// whether it is big endian.
fn npy_sample_type(name: &str, descr: &str) -> Result<(SampleType, bool)> {
    let (order, kind) = descr.split_at(descr.len().min(1));
    let sample_type = match kind {
        "u1" => SampleType::U8,
        "u2" => SampleType::U16,
        "i2" => SampleType::I16,
        "i4" => SampleType::I32,
        "f4" => SampleType::F32,
        _ => {
            return Err(bad(
                name,
                format!("numpy dtype {descr}: walloc codes uint8, uint16, int16, int32 and float32 volumes"),
            ))
        }
    };
    Ok((sample_type, order == ">"))
}

impl VolumeReader {
    /// Opens a volume file: NIfTI and `.npy` describe themselves; a raw
    /// file (or any file, when `raw` is given) is read with `raw`'s layout.
    pub fn open(path: &Path, raw: Option<RawLayout>) -> Result<Self> {
        let name = path.display().to_string();
        if let Some(layout) = raw {
            let file = File::open(path).map_err(|e| FormatError::io("opening", path, e))?;
            let expected =
                layout.shape.iter().map(|&v| u64::from(v)).product::<u64>() * layout.sample_type.bytes() as u64;
            let size = file.metadata().map_err(|e| FormatError::io("reading", path, e))?.len();
            if size != expected {
                return Err(bad(
                    &name,
                    format!(
                        "{size} bytes, but {:?} {} samples take {expected}",
                        layout.shape,
                        layout.sample_type.name()
                    ),
                ));
            }
            let shape = check_shape(&name, layout.shape.map(u64::from), 1)?;
            return Ok(Self::stream(
                name,
                shape,
                1,
                layout.sample_type,
                Box::new(BufReader::new(file)),
                false,
            ));
        }
        match VolumeFormat::of(path) {
            Some(VolumeFormat::Nifti { .. }) => Self::open_nifti(path, name),
            Some(VolumeFormat::Npy) => Self::open_npy(path, name),
            _ => Err(bad(
                &name,
                "not a volume file (.nii, .nii.gz or .npy; raw files need --shape and --dtype)",
            )),
        }
    }

    fn stream(
        name: String,
        shape: [u32; 3],
        channels: u8,
        sample_type: SampleType,
        source: Box<dyn Read>,
        big_endian: bool,
    ) -> Self {
        VolumeReader {
            shape,
            channels,
            sample_type,
            geometry: Geometry::default(),
            slices: Slices::Stream(source),
            big_endian,
            read: 0,
            name,
        }
    }

    fn open_nifti(path: &Path, name: String) -> Result<Self> {
        let failed = |e: nifti::NiftiError| bad(&name, format!("reading NIfTI: {e}"));
        let file = BufReader::new(File::open(path).map_err(|e| FormatError::io("opening", path, e))?);
        let source: Box<dyn Read> = if VolumeFormat::of(path) == Some(VolumeFormat::Nifti { gz: true }) {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut source = source;
        let header = NiftiHeader::from_reader(&mut source).map_err(failed)?;
        if &header.magic != b"n+1\0" {
            return Err(bad(
                &name,
                "a NIfTI header without its data (.hdr/.img pair): use a .nii file",
            ));
        }
        let dims = header.dim;
        let rank = usize::from(dims[0]);
        if !(2..=7).contains(&rank) || dims[4..=rank.max(3)].iter().any(|&v| v > 1) {
            return Err(bad(
                &name,
                format!(
                    "NIfTI dims {:?}: walloc codes 3-D volumes (a time series: split it)",
                    &dims[..=rank.min(7)]
                ),
            ));
        }
        let depth = if rank >= 3 { dims[3] } else { 1 };
        let shape = check_shape(&name, [u64::from(depth), u64::from(dims[2]), u64::from(dims[1])], 1)?;
        let sample_type = nifti_sample_type(&name, &header)?;
        // Skip the extensions to the data, then read x × y planes.
        let skip = f64::from(header.vox_offset) - 348.0;
        if !(4.0..=f64::from(1u32 << 26)).contains(&skip) {
            return Err(bad(&name, format!("NIfTI vox_offset {}", header.vox_offset)));
        }
        std::io::copy(&mut (&mut source).take(skip as u64), &mut std::io::sink())
            .map_err(|e| bad(&name, format!("reading NIfTI extensions: {e}")))?;
        let volume = nifti::StreamedNiftiVolume::from_reader_rank(source, &header, 2).map_err(failed)?;
        Ok(VolumeReader {
            shape,
            channels: 1,
            sample_type,
            geometry: geometry_of(&header),
            slices: Slices::Nifti(volume),
            big_endian: header.endianness == Endianness::Big,
            read: 0,
            name,
        })
    }

    fn open_npy(path: &Path, name: String) -> Result<Self> {
        let file = File::open(path).map_err(|e| FormatError::io("opening", path, e))?;
        let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|e| bad(&name, format!("reading .npy: {e}")))?;
        if npy.order() != npyz::Order::C {
            return Err(bad(
                &name,
                "a Fortran-order .npy: save it in C order (np.ascontiguousarray)",
            ));
        }
        let (d, h, w, c) = match *npy.shape() {
            [d, h, w] => (d, h, w, 1),
            [d, h, w, c] if (1..=64).contains(&c) => (d, h, w, c),
            ref other => {
                return Err(bad(
                    &name,
                    format!("an array of shape {other:?}: volumes are (depth, height, width[, channels ≤ 64])"),
                ))
            }
        };
        let descr = npy.dtype().descr().trim_matches('\'').to_string();
        let (sample_type, big_endian) = npy_sample_type(&name, &descr)?;
        let shape = check_shape(&name, [d, h, w], c)?;
        let reader = npy.into_inner();
        Ok(Self::stream(
            name,
            shape,
            c as u8,
            sample_type,
            Box::new(reader),
            big_endian,
        ))
    }

    /// Samples in one slice.
    pub fn slice_len(&self) -> usize {
        self.shape[1] as usize * self.shape[2] as usize * usize::from(self.channels)
    }

    /// Slices not read yet.
    pub fn slices_left(&self) -> u32 {
        self.shape[0] - self.read
    }

    /// Reads the next `count` slices (fewer at the end), channels last.
    pub fn read_slices(&mut self, count: u32) -> Result<Samples> {
        let count = count.min(self.slices_left());
        let bytes_per_slice = self.slice_len() * self.sample_type.bytes();
        let mut bytes = Vec::with_capacity(count as usize * bytes_per_slice);
        for _ in 0..count {
            match &mut self.slices {
                Slices::Nifti(volume) => {
                    let slice = volume
                        .read_slice()
                        .map_err(|e| bad(&self.name, format!("reading slice {}: {e}", self.read)))?;
                    bytes.extend_from_slice(slice.raw_data());
                }
                Slices::Stream(reader) => {
                    let start = bytes.len();
                    bytes.resize(start + bytes_per_slice, 0);
                    reader
                        .read_exact(&mut bytes[start..])
                        .map_err(|e| bad(&self.name, format!("reading slice {}: {e}", self.read)))?;
                }
            }
            self.read += 1;
        }
        Ok(samples_of_bytes(&bytes, self.sample_type, self.big_endian))
    }
}

/// Samples from their bytes.
fn samples_of_bytes(bytes: &[u8], sample_type: SampleType, big_endian: bool) -> Samples {
    macro_rules! decode {
        ($t:ty, $n:literal, $variant:ident) => {
            Samples::$variant(
                bytes
                    .chunks_exact($n)
                    .map(|b| {
                        let b: [u8; $n] = b.try_into().expect("chunk size");
                        if big_endian {
                            <$t>::from_be_bytes(b)
                        } else {
                            <$t>::from_le_bytes(b)
                        }
                    })
                    .collect(),
            )
        };
    }
    match sample_type {
        SampleType::U8 => Samples::U8(bytes.to_vec()),
        SampleType::U16 => decode!(u16, 2, U16),
        SampleType::I16 => decode!(i16, 2, I16),
        SampleType::I32 => decode!(i32, 4, I32),
        SampleType::F32 => decode!(f32, 4, F32),
    }
}

/// Little-endian bytes of samples.
fn bytes_of_samples(samples: &Samples) -> Vec<u8> {
    match samples {
        Samples::U8(v) => v.clone(),
        Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Samples::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Samples::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Samples::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The 352 bytes before a `.nii` file's data: the NIfTI-1 header (little
/// endian) and an empty extension flag.
pub fn nifti_header(shape: [u32; 3], sample_type: SampleType, geometry: &Geometry) -> Vec<u8> {
    let mut b = vec![0u8; 352];
    let put = |b: &mut Vec<u8>, at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut b, 0, &348i32.to_le_bytes());
    b[38] = b'r';
    let [d, h, w] = shape;
    for (i, v) in [3u32, w, h, d, 1, 1, 1, 1].iter().enumerate() {
        put(&mut b, 40 + 2 * i, &(*v as i16).to_le_bytes());
    }
    let code = nifti_code(sample_type);
    put(&mut b, 70, &(code as i16).to_le_bytes());
    put(&mut b, 72, &((sample_type.bytes() * 8) as i16).to_le_bytes());
    for (i, v) in geometry.pixdim.iter().enumerate() {
        put(&mut b, 76 + 4 * i, &v.to_le_bytes());
    }
    put(&mut b, 108, &352f32.to_le_bytes());
    put(&mut b, 112, &geometry.scaling[0].to_le_bytes());
    put(&mut b, 116, &geometry.scaling[1].to_le_bytes());
    b[123] = geometry.xyzt_units;
    let description = b"walloc";
    put(&mut b, 148, description);
    put(&mut b, 252, &geometry.qform_code.to_le_bytes());
    put(&mut b, 254, &geometry.sform_code.to_le_bytes());
    for (i, v) in geometry.quatern.iter().enumerate() {
        put(&mut b, 256 + 4 * i, &v.to_le_bytes());
    }
    for (r, row) in geometry.srow.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put(&mut b, 280 + 16 * r + 4 * c, &v.to_le_bytes());
        }
    }
    put(&mut b, 344, b"n+1\0");
    b
}

/// A `.npy` writer of one sample type.
enum NpyTarget<'w> {
    U8(NpyWriter<u8, Box<dyn Write + 'w>>),
    U16(NpyWriter<u16, Box<dyn Write + 'w>>),
    I16(NpyWriter<i16, Box<dyn Write + 'w>>),
    I32(NpyWriter<i32, Box<dyn Write + 'w>>),
    F32(NpyWriter<f32, Box<dyn Write + 'w>>),
}

/// Where a volume's samples go.
enum Target<'w> {
    /// NIfTI and raw bytes.
    Plain(Box<dyn Write + 'w>),
    /// `.nii.gz`.
    Gz(GzEncoder<Box<dyn Write + 'w>>),
    /// `.npy`, through `npyz`.
    Npy(NpyTarget<'w>),
}

fn npy_writer<'w, T: npyz::AutoSerialize>(
    sink: Box<dyn Write + 'w>,
    dims: &[u64],
) -> std::io::Result<NpyWriter<T, Box<dyn Write + 'w>>> {
    npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(dims)
        .writer(sink)
        .begin_nd()
}

fn written(e: std::io::Error) -> FormatError {
    bad("output", format!("writing: {e}"))
}

/// Writes a volume slice by slice into a sink.
pub struct VolumeWriter<'w> {
    target: Target<'w>,
    sample_type: SampleType,
    expected: usize,
    written: usize,
}

impl<'w> VolumeWriter<'w> {
    /// A writer of a volume of `shape` with `channels` of `sample_type` in
    /// `format` into `sink`: the header now, slices as they come.
    pub fn new(
        sink: impl Write + 'w,
        format: VolumeFormat,
        shape: [u32; 3],
        channels: u8,
        sample_type: SampleType,
        geometry: &Geometry,
    ) -> Result<Self> {
        let sink: Box<dyn Write + 'w> = Box::new(sink);
        let mut dims: Vec<u64> = shape.iter().map(|&v| u64::from(v)).collect();
        if channels > 1 {
            dims.push(u64::from(channels));
        }
        let target = match format {
            VolumeFormat::Nifti { gz } => {
                if channels != 1 {
                    return Err(bad(
                        "output",
                        format!("{channels}-channel volumes: NIfTI output holds one channel"),
                    ));
                }
                let header = nifti_header(shape, sample_type, geometry);
                if gz {
                    let mut encoder = GzEncoder::new(sink, flate2::Compression::default());
                    encoder.write_all(&header).map_err(written)?;
                    Target::Gz(encoder)
                } else {
                    let mut sink = sink;
                    sink.write_all(&header).map_err(written)?;
                    Target::Plain(sink)
                }
            }
            VolumeFormat::Npy => Target::Npy(match sample_type {
                SampleType::U8 => NpyTarget::U8(npy_writer(sink, &dims).map_err(written)?),
                SampleType::U16 => NpyTarget::U16(npy_writer(sink, &dims).map_err(written)?),
                SampleType::I16 => NpyTarget::I16(npy_writer(sink, &dims).map_err(written)?),
                SampleType::I32 => NpyTarget::I32(npy_writer(sink, &dims).map_err(written)?),
                SampleType::F32 => NpyTarget::F32(npy_writer(sink, &dims).map_err(written)?),
            }),
            VolumeFormat::Raw => Target::Plain(sink),
        };
        Ok(VolumeWriter {
            target,
            sample_type,
            expected: dims.iter().product::<u64>() as usize,
            written: 0,
        })
    }

    /// Writes the next samples (whole slices, channels last, of the
    /// volume's type).
    pub fn write_samples(&mut self, samples: &Samples) -> Result<()> {
        if samples.sample_type() != self.sample_type || self.written + samples.len() > self.expected {
            return Err(bad(
                "output",
                format!(
                    "{} {} samples past the volume's {} {} samples",
                    samples.len(),
                    samples.sample_type().name(),
                    self.expected,
                    self.sample_type.name()
                ),
            ));
        }
        match (&mut self.target, samples) {
            (Target::Plain(sink), _) => sink.write_all(&bytes_of_samples(samples)),
            (Target::Gz(sink), _) => sink.write_all(&bytes_of_samples(samples)),
            (Target::Npy(NpyTarget::U8(w)), Samples::U8(v)) => w.extend(v.iter().copied()),
            (Target::Npy(NpyTarget::U16(w)), Samples::U16(v)) => w.extend(v.iter().copied()),
            (Target::Npy(NpyTarget::I16(w)), Samples::I16(v)) => w.extend(v.iter().copied()),
            (Target::Npy(NpyTarget::I32(w)), Samples::I32(v)) => w.extend(v.iter().copied()),
            (Target::Npy(NpyTarget::F32(w)), Samples::F32(v)) => w.extend(v.iter().copied()),
            (Target::Npy(_), _) => unreachable!("the sample type was checked"),
        }
        .map_err(written)?;
        self.written += samples.len();
        Ok(())
    }

    /// Ends the file, once every sample is written.
    pub fn finish(self) -> Result<()> {
        if self.written != self.expected {
            return Err(bad(
                "output",
                format!(
                    "{} of the volume's {} samples were written",
                    self.written, self.expected
                ),
            ));
        }
        match self.target {
            Target::Plain(mut sink) => sink.flush(),
            Target::Gz(sink) => sink.finish().and_then(|mut inner| inner.flush()),
            Target::Npy(NpyTarget::U8(w)) => w.finish(),
            Target::Npy(NpyTarget::U16(w)) => w.finish(),
            Target::Npy(NpyTarget::I16(w)) => w.finish(),
            Target::Npy(NpyTarget::I32(w)) => w.finish(),
            Target::Npy(NpyTarget::F32(w)) => w.finish(),
        }
        .map_err(written)
    }
}

/// Reads a whole volume file into a signal (3 axes, its own sample type
/// and range) and its geometry.
pub fn read_volume(path: &Path, raw: Option<RawLayout>) -> Result<(walloc::Signal, Geometry)> {
    let mut reader = VolumeReader::open(path, raw)?;
    let samples = reader.read_slices(reader.slices_left())?;
    let [d, h, w] = reader.shape.map(|v| v as usize);
    let signal = walloc::Signal::new(vec![d, h, w], usize::from(reader.channels), samples)?;
    Ok((signal, reader.geometry))
}

/// Whether `path` names a volume file (`.nii`, `.nii.gz`, `.npy`).
pub fn is_volume_path(path: &Path) -> bool {
    matches!(
        VolumeFormat::of(path),
        Some(VolumeFormat::Nifti { .. } | VolumeFormat::Npy)
    )
}
