//! Reading inputs and writing outputs: `-` for stdin/stdout, images through
//! the `image` crate with allocation limits, and atomic file writes.

use std::io::{BufWriter, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::{DynamicImage, ImageFormat, ImageReader};
use indicatif::{ProgressBar, ProgressStyle};
use walloc_codec::Image8;

/// Largest input read into memory (4 GiB).
const MAX_INPUT_BYTES: u64 = 1 << 32;

/// A progress bar of `len` steps on stderr, labelled `what` (drawn only
/// when stderr is a terminal).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Prints a line above `bar`, or on stderr when the bar is hidden (stderr
/// is not a terminal: a log file keeps the line).
pub fn log_line(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// The paths in `dir` that `keep` accepts, sorted; an error naming the
/// folder and `what` was sought when there are none.
pub fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool, what: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no {what} in {}", dir.display());
    }
    Ok(files)
}

/// Reads a whole file, or stdin for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_INPUT_BYTES)
            .read_to_end(&mut bytes)
            .context("reading stdin")?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("opening {}", path.display()))?
            .take(MAX_INPUT_BYTES)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(bytes)
}

/// A seekable output (WAV writers patch their header at the end).
pub trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

/// Writes `bytes` to `path` atomically, or to stdout for `-`.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |out| Ok(out.write_all(bytes)?))
}

/// Lets `fill` write the output, then moves it into place atomically (a
/// temporary file in the same folder, then a rename), so that a failure
/// leaves no partial file; for `-`, writes to stdout once `fill` succeeded.
pub fn write_atomically(path: &Path, fill: impl FnOnce(&mut dyn WriteSeek) -> Result<()>) -> Result<()> {
    if path == Path::new("-") {
        let mut buffer = Cursor::new(Vec::new());
        fill(&mut buffer)?;
        let mut out = std::io::stdout().lock();
        out.write_all(buffer.get_ref()).context("writing stdout")?;
        return out.flush().context("writing stdout");
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    {
        let mut writer = BufWriter::new(tmp.as_file_mut());
        fill(&mut writer)?;
        writer.flush().context("writing temporary file")?;
    }
    tmp.as_file().sync_all().context("syncing temporary file")?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn alpha_is_opaque(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(i) => i.pixels().all(|p| p.0[1] == u8::MAX),
        DynamicImage::ImageRgba8(i) => i.pixels().all(|p| p.0[3] == u8::MAX),
        DynamicImage::ImageLumaA16(i) => i.pixels().all(|p| p.0[1] == u16::MAX),
        DynamicImage::ImageRgba16(i) => i.pixels().all(|p| p.0[3] == u16::MAX),
        DynamicImage::ImageRgba32F(i) => i.pixels().all(|p| p.0[3] >= 1.0),
        _ => true,
    }
}

/// Decodes an image file (PNG, JPEG, WebP, PNM, TIFF) into 8-bit gray or
/// RGB. Opaque alpha is dropped; transparency is refused; deeper samples
/// are reduced to 8 bits with a note on stderr.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Image8> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .context("reading image header")?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(4 << 30);
    reader.limits(limits);
    let image = reader.decode().with_context(|| format!("decoding image {name}"))?;
    let color = image.color();
    if color.has_alpha() && !alpha_is_opaque(&image) {
        bail!("{name} has transparent pixels; walloc codes gray or RGB images: flatten it onto a background first");
    }
    if color.bytes_per_pixel() / color.channel_count() > 1 {
        eprintln!("note: {name} has {color:?} samples; walloc codes 8 bits per sample, so it is reduced to 8 bits");
    }
    let (width, height) = (image.width(), image.height());
    let (channels, pixels) = if color.has_color() {
        (3, image.into_rgb8().into_raw())
    } else {
        (1, image.into_luma8().into_raw())
    };
    Ok(Image8::new(width, height, channels, pixels)?)
}

/// Encodes an image in the format named by the path's extension (PNG for
/// `-` or an unknown extension).
pub fn encode_image(image: &Image8, path: &Path) -> Result<Vec<u8>> {
    let format = if path == Path::new("-") {
        ImageFormat::Png
    } else {
        ImageFormat::from_path(path).unwrap_or(ImageFormat::Png)
    };
    let dynamic = if image.channels == 1 {
        DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(image.width, image.height, image.pixels.clone()).context("image buffer")?,
        )
    } else {
        DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(image.width, image.height, image.pixels.clone()).context("image buffer")?,
        )
    };
    let mut out = Cursor::new(Vec::new());
    dynamic
        .write_to(&mut out, format)
        .with_context(|| format!("encoding {format:?}"))?;
    Ok(out.into_inner())
}
