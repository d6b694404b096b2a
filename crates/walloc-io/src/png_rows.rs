//! PNG read and written row by row (the `png` crate), so that a large image
//! is coded in stripes without ever being whole in memory. Only 8-bit,
//! non-interlaced PNGs stream; others are read whole through
//! [`crate::image::decode_image`] (whose 16-bit reduction and checks then
//! apply).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use png::{BitDepth, ColorType, Transformations};
use walloc::Image8;

use crate::error::{FormatError, Result};

/// An 8-bit PNG's rows as gray or RGB, opaque.
pub struct PngRows {
    reader: png::Reader<BufReader<File>>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: u8,
    color: ColorType,
    name: String,
}

/// The rows of `path` when it is an 8-bit, non-interlaced PNG; `None` for
/// anything else.
pub fn open(path: &Path) -> Result<Option<PngRows>> {
    if path == Path::new("-") || !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
        return Ok(None);
    }
    let file = File::open(path).map_err(|e| FormatError::io("opening", path, e))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(Transformations::EXPAND);
    let Ok(reader) = decoder.read_info() else {
        return Ok(None);
    };
    let (color, depth) = reader.output_color_type();
    if reader.info().interlaced || depth != BitDepth::Eight {
        return Ok(None);
    }
    let (width, height) = (reader.info().width, reader.info().height);
    let channels = match color {
        ColorType::Grayscale | ColorType::GrayscaleAlpha => 1,
        _ => 3,
    };
    Ok(Some(PngRows {
        reader,
        width,
        height,
        channels,
        color,
        name: path.display().to_string(),
    }))
}

impl PngRows {
    /// The next row as `channels` per pixel, or `None` after the last.
    pub fn next_row(&mut self) -> Result<Option<Vec<u8>>> {
        let name = &self.name;
        let Some(row) = self.reader.next_row().map_err(|e| FormatError::png(name, e))? else {
            return Ok(None);
        };
        let data = row.data();
        let alpha = match self.color {
            ColorType::GrayscaleAlpha => Some(2),
            ColorType::Rgba => Some(4),
            _ => None,
        };
        Ok(Some(match alpha {
            None => data.to_vec(),
            Some(step) => {
                if data.chunks_exact(step).any(|p| p[step - 1] != u8::MAX) {
                    return Err(FormatError::Transparent { name: name.clone() });
                }
                data.chunks_exact(step)
                    .flat_map(|p| p[..step - 1].iter().copied())
                    .collect()
            }
        }))
    }

    /// The next row converted to `channels` (as [`Image8::to_channels`]).
    pub fn next_row_as(&mut self, channels: u8) -> Result<Option<Vec<u8>>> {
        let Some(row) = self.next_row()? else {
            return Ok(None);
        };
        if channels == self.channels {
            return Ok(Some(row));
        }
        Ok(Some(
            Image8::new(self.width, 1, self.channels, row)?
                .to_channels(channels)
                .pixels,
        ))
    }
}

/// Writes a PNG of `width × height` pixels of `channels` whose rows
/// `next_rows` hands out in order (any number at a time), with the
/// settings of the `image` crate's encoder. The rows' own errors pass
/// through as `E`.
pub fn write<E: From<FormatError>>(
    sink: &mut dyn Write,
    width: u32,
    height: u32,
    channels: u8,
    mut next_rows: impl FnMut() -> std::result::Result<Option<Vec<u8>>, E>,
) -> std::result::Result<(), E> {
    let failed = |e: &dyn std::fmt::Display| E::from(FormatError::png("output", e));
    let mut encoder = png::Encoder::new(sink, width, height);
    encoder.set_color(if channels == 1 {
        ColorType::Grayscale
    } else {
        ColorType::Rgb
    });
    encoder.set_depth(BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    encoder.set_filter(png::Filter::Adaptive);
    let mut writer = encoder.write_header().map_err(|e| failed(&e))?;
    let mut stream = writer.stream_writer().map_err(|e| failed(&e))?;
    while let Some(rows) = next_rows()? {
        stream.write_all(&rows).map_err(|e| failed(&e))?;
    }
    stream.finish().map_err(|e| failed(&e))?;
    Ok(())
}
