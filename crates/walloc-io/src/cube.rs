//! Spectral cubes in and out: multi-band TIFF (any band count, chunky or
//! planar, uint8/uint16/int16/int32/float32, through the `tiff` crate) with
//! its GeoTIFF georeferencing, and the two ways of coding one as a volume:
//! the bands as depth (one channel, any band count, 3-D packets) or as
//! channels (one slice, 2-D packets). A cube is read and written whole:
//! TIFF interleaves the bands of each pixel, and a cube coded with its
//! bands as depth decodes band by band.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::path::Path;

use tiff::decoder::{Decoder, DecodingResult, Limits as TiffLimits};
use tiff::encoder::colortype::{ColorType, Gray16, Gray32Float, Gray8, GrayI16, GrayI32};
use tiff::encoder::{Compression, ImageEncoder, TiffEncoder, TiffKindStandard};
use tiff::tags::{ExtraSamples, PlanarConfiguration, Tag};
use tiff::TiffResult;
use walloc::volume::{FileTag, TagValue};
use walloc::{SampleType, Samples};

use crate::error::{FormatError, Result};

/// Most samples (pixels × bands) in a cube, as the codec's pixel limit.
pub const MAX_CUBE_SAMPLES: u64 = 1 << 28;

/// Most bands in a cube coded with its bands as depth (the volume depth
/// limit); as channels, a model codes at most 64.
pub const MAX_BANDS: u32 = 65_535;

/// The GeoTIFF and GDAL tags a cube carries through the codec: pixel scale,
/// tie points, transformation, geo keys (directory, doubles, text), GDAL
/// metadata and no-data value.
pub const GEO_TAGS: [u16; 8] = [33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113];

/// Which axis of the volume a cube's bands become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandAxis {
    /// A volume of `bands × height × width` voxels, one channel: any band
    /// count, coded by 3-D packets (the bands are a third axis to
    /// transform).
    Depth,
    /// One slice of `height × width` pixels with a channel per band, coded
    /// by 2-D packets (the model sees every band of a position at once).
    Channels,
}

/// A spectral cube: `height × width` pixels of `bands` samples each.
#[derive(Clone, Debug, PartialEq)]
pub struct Cube {
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Samples per pixel.
    pub bands: u32,
    /// The samples, pixel by pixel, bands last (TIFF's chunky order).
    pub samples: Samples,
    /// The source's georeferencing tags ([`GEO_TAGS`]) as they were.
    pub tags: Vec<FileTag>,
}

/// A volume's layout: `[depth, height, width]`, channels, samples
/// (channels last).
pub type VolumeLayout = ([u32; 3], u8, Samples);

impl Cube {
    /// The cube as a volume with its bands on `axis`.
    pub fn into_volume(self, axis: BandAxis) -> Result<VolumeLayout> {
        let (h, w, b) = (self.height, self.width, self.bands);
        match axis {
            BandAxis::Channels => {
                let channels = u8::try_from(b)
                    .ok()
                    .filter(|&c| c <= 64)
                    .ok_or_else(|| FormatError::Volume {
                        name: "cube".into(),
                        message: format!("{b} bands are more than 64 channels: code them as depth"),
                    })?;
                Ok(([1, h, w], channels, self.samples))
            }
            BandAxis::Depth => {
                let (pixels, bands) = (h as usize * w as usize, b as usize);
                let order = (0..bands).flat_map(|band| (0..pixels).map(move |p| p * bands + band));
                Ok(([b, h, w], 1, self.samples.gathered(order)))
            }
        }
    }

    /// The cube a volume of `shape` and `channels` holds: its bands are the
    /// channels of one slice, or the slices of one channel.
    pub fn from_volume(shape: [u32; 3], channels: u8, samples: Samples, tags: Vec<FileTag>) -> Result<Cube> {
        let [d, h, w] = shape;
        let (pixels, bands) = (h as usize * w as usize, d.max(u32::from(channels)));
        let samples = match (d, channels) {
            (1, _) => samples,
            (_, 1) => {
                let depth = d as usize;
                samples.gathered((0..pixels).flat_map(|p| (0..depth).map(move |band| band * pixels + p)))
            }
            _ => {
                return Err(FormatError::Volume {
                    name: "cube".into(),
                    message: format!(
                        "a volume of {d} slices of {channels} channels is no spectral cube (one slice, or one channel)"
                    ),
                })
            }
        };
        Ok(Cube {
            height: h,
            width: w,
            bands,
            samples,
            tags,
        })
    }
}

/// Whether `path` names a TIFF file.
pub fn is_tiff_path(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("tif" | "tiff")
    )
}

fn cube_error(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::Volume {
        name: path.display().to_string(),
        message: message.into(),
    }
}

/// Samples per pixel of the TIFF at `path`: what tells a spectral cube (2
/// or more than 4 bands, or samples that are not 8- or 16-bit unsigned)
/// from a gray or RGB picture.
pub fn tiff_bands(path: &Path) -> Result<(u32, SampleType)> {
    let mut decoder = open(path)?;
    let (_, _, bands, sample_type) = layout(&mut decoder).map_err(|e| cube_error(path, e))?;
    Ok((bands, sample_type))
}

/// Whether the TIFF at `path` is a spectral cube rather than a picture:
/// other than 1, 3 or 4 bands; samples other than uint8/uint16; several
/// bands that are not RGB (min-is-black or -white, as GDAL writes
/// multispectral scenes); or extra bands of unspecified meaning (not
/// alpha).
pub fn is_cube(path: &Path) -> bool {
    if !is_tiff_path(path) {
        return false;
    }
    let Ok(mut decoder) = open(path) else {
        return false;
    };
    let Ok((_, _, bands, sample_type)) = layout(&mut decoder) else {
        return false;
    };
    let photometric = decoder
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .ok()
        .flatten();
    let unspecified_extra = decoder
        .find_tag_unsigned_vec::<u16>(Tag::ExtraSamples)
        .ok()
        .flatten()
        .is_some_and(|extra| extra.contains(&0));
    let colour = matches!(photometric, Some(2 | 6));
    !matches!(bands, 1 | 3 | 4)
        || !matches!(sample_type, SampleType::U8 | SampleType::U16)
        || (bands > 1 && !colour)
        || unspecified_extra
}

/// A TIFF file being read: its header and tags are read on demand, so a
/// probe (`is_cube`, `tiff_bands`) reads the first directory, not the file.
type TiffReader = Decoder<BufReader<File>>;

fn open(path: &Path) -> Result<TiffReader> {
    let file = File::open(path).map_err(|source| FormatError::Io {
        doing: "opening",
        path: path.display().to_string(),
        source,
    })?;
    let mut limits = TiffLimits::default();
    limits.decoding_buffer_size = (MAX_CUBE_SAMPLES * 4) as usize;
    limits.intermediate_buffer_size = (MAX_CUBE_SAMPLES * 4) as usize;
    Decoder::new(BufReader::new(file))
        .map(|d| d.with_limits(limits))
        .map_err(|e| cube_error(path, format!("not a readable TIFF: {e}")))
}

/// `(width, height, bands, sample type)` of the first image, checked
/// against the limits before anything is allocated.
fn layout(decoder: &mut TiffReader) -> std::result::Result<(u32, u32, u32, SampleType), String> {
    let (width, height) = decoder.dimensions().map_err(|e| e.to_string())?;
    let bands = decoder
        .find_tag_unsigned::<u32>(Tag::SamplesPerPixel)
        .map_err(|e| e.to_string())?
        .unwrap_or(1);
    let bits = decoder
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| vec![1]);
    let format = decoder
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| vec![1]);
    if bits.iter().any(|&b| b != bits[0]) || format.iter().any(|&f| f != format[0]) {
        return Err("bands of different sample types are not read".into());
    }
    let sample_type = match (format[0], bits[0]) {
        (1, 8) => SampleType::U8,
        (1, 16) => SampleType::U16,
        (2, 16) => SampleType::I16,
        (2, 32) => SampleType::I32,
        (3, 32) => SampleType::F32,
        (f, b) => {
            return Err(format!(
                "{b}-bit samples of format {f} (uint8, uint16, int16, int32 and float32 are read)"
            ))
        }
    };
    let samples = u64::from(width) * u64::from(height) * u64::from(bands);
    if bands == 0 || bands > MAX_BANDS || samples > MAX_CUBE_SAMPLES {
        return Err(format!(
            "{width}×{height} pixels of {bands} bands exceed the limits (1..={MAX_BANDS} bands, \
             {MAX_CUBE_SAMPLES} samples)"
        ));
    }
    Ok((width, height, bands, sample_type))
}

/// The georeferencing tags ([`GEO_TAGS`]) the first image has.
fn geo_tags(decoder: &mut TiffReader) -> Vec<FileTag> {
    use tiff::decoder::ifd::Value;
    fn flat(value: Value) -> Vec<Value> {
        match value {
            Value::List(values) => values.into_iter().flat_map(flat).collect(),
            one => vec![one],
        }
    }
    GEO_TAGS
        .iter()
        .filter_map(|&code| {
            let value = decoder.find_tag(Tag::Unknown(code)).ok()??;
            let value = match value {
                Value::Ascii(text) => TagValue::Ascii(text),
                other => {
                    let values = flat(other);
                    match values.first()? {
                        Value::Short(_) => {
                            TagValue::Shorts(values.into_iter().map(|v| v.into_u16().ok()).collect::<Option<_>>()?)
                        }
                        Value::Unsigned(_) => {
                            TagValue::Longs(values.into_iter().map(|v| v.into_u32().ok()).collect::<Option<_>>()?)
                        }
                        Value::Double(_) | Value::Float(_) => {
                            TagValue::Doubles(values.into_iter().map(|v| v.into_f64().ok()).collect::<Option<_>>()?)
                        }
                        _ => return None,
                    }
                }
            };
            Some(FileTag { code, value })
        })
        .collect()
}

/// Reads the first image of a TIFF as a cube, with its georeferencing.
pub fn read_cube(path: &Path) -> Result<Cube> {
    let mut decoder = open(path)?;
    let (width, height, bands, sample_type) = layout(&mut decoder).map_err(|e| cube_error(path, e))?;
    let planar = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()
        .flatten()
        .is_some_and(|v| v == PlanarConfiguration::Planar.to_u16());
    let tags = geo_tags(&mut decoder);
    let mut data = DecodingResult::U8(Vec::new());
    let read = decoder
        .read_image_to_buffer(&mut data)
        .map_err(|e| cube_error(path, format!("decoding: {e}")))?;
    let samples = match data {
        DecodingResult::U8(v) => Samples::U8(v),
        DecodingResult::U16(v) => Samples::U16(v),
        DecodingResult::I16(v) => Samples::I16(v),
        DecodingResult::I32(v) => Samples::I32(v),
        DecodingResult::F32(v) => Samples::F32(v),
        _ => return Err(cube_error(path, "samples of a type this reader does not keep")),
    };
    let expected = width as usize * height as usize * bands as usize;
    if samples.len() < expected
        || samples.sample_type() != sample_type
        || read.complete_len > samples.len() * sample_type.bytes()
    {
        return Err(cube_error(
            path,
            format!("decoded {} samples of {width}×{height}×{bands}", samples.len()),
        ));
    }
    let mut samples = samples;
    samples.split_off(expected);
    let samples = if planar && bands > 1 {
        // Band after band: interleave them.
        let (pixels, b) = (width as usize * height as usize, bands as usize);
        samples.gathered((0..pixels).flat_map(|p| (0..b).map(move |band| band * pixels + p)))
    } else {
        samples
    };
    Ok(Cube {
        height,
        width,
        bands,
        samples,
        tags,
    })
}

/// The TIFF bytes of a cube: one image, chunky, deflate-compressed,
/// min-is-black with the bands past the first as unspecified extra
/// samples (as GDAL writes multispectral scenes), and its georeferencing
/// tags.
pub fn encode_cube(cube: &Cube) -> Result<Vec<u8>> {
    let expected = cube.height as usize * cube.width as usize * cube.bands as usize;
    if cube.samples.len() != expected || cube.bands == 0 || cube.bands > u32::from(u16::MAX) {
        return Err(FormatError::Volume {
            name: "cube".into(),
            message: format!(
                "{} samples for {}×{} pixels of {} bands",
                cube.samples.len(),
                cube.width,
                cube.height,
                cube.bands
            ),
        });
    }
    let mut out = Cursor::new(Vec::new());
    let written = (|| -> TiffResult<()> {
        let mut tiff = TiffEncoder::new(&mut out)?.with_compression(Compression::Deflate(Default::default()));
        match &cube.samples {
            Samples::U8(v) => write_image::<Gray8>(&mut tiff, cube, v),
            Samples::U16(v) => write_image::<Gray16>(&mut tiff, cube, v),
            Samples::I16(v) => write_image::<GrayI16>(&mut tiff, cube, v),
            Samples::I32(v) => write_image::<GrayI32>(&mut tiff, cube, v),
            Samples::F32(v) => write_image::<Gray32Float>(&mut tiff, cube, v),
        }
    })();
    written.map_err(|e| FormatError::Volume {
        name: "cube".into(),
        message: format!("encoding TIFF: {e}"),
    })?;
    Ok(out.into_inner())
}

fn write_image<C: ColorType>(
    tiff: &mut TiffEncoder<&mut Cursor<Vec<u8>>>,
    cube: &Cube,
    data: &[C::Inner],
) -> TiffResult<()>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut image: ImageEncoder<'_, _, C, TiffKindStandard> = tiff.new_image(cube.width, cube.height)?;
    let extra = vec![ExtraSamples::Unspecified; cube.bands as usize - 1];
    if !extra.is_empty() {
        image.extra_samples(&extra)?;
    }
    for tag in &cube.tags {
        let code = Tag::Unknown(tag.code);
        let directory = image.encoder();
        match &tag.value {
            TagValue::Ascii(text) => directory.write_tag(code, text.as_str())?,
            TagValue::Shorts(v) => directory.write_tag(code, &v[..])?,
            TagValue::Longs(v) => directory.write_tag(code, &v[..])?,
            TagValue::Doubles(v) => directory.write_tag(code, &v[..])?,
        }
    }
    image.write_data(data)
}
