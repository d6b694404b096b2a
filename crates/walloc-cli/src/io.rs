//! Reading inputs and writing outputs: `-` for stdin/stdout, atomic file
//! writes, the files of a folder (at least one), images through
//! `walloc_io` with its notes shown, and progress bars.

use std::io::{BufWriter, Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
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

/// A progress bar for each stage of the library's long work.
#[derive(Default)]
pub struct Bars(Option<ProgressBar>);

impl walloc_eval::timing::Progress for Bars {
    fn stage(&mut self, what: &str, steps: u64) {
        if let Some(bar) = self.0.replace(progress(steps, what)) {
            bar.finish_and_clear();
        }
    }

    fn step(&mut self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
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
    let mut builder = tempfile::Builder::new();
    // A new file's usual mode (0666 less the umask), not the 0600 of a
    // temporary file: the output is the user's file once renamed.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
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

/// Decodes an image file into 8-bit gray or RGB, printing the reader's
/// note (deeper samples reduced to 8 bits) on stderr.
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Image8> {
    let decoded = walloc_io::image::decode_image(bytes, name)?;
    if let Some(note) = decoded.note {
        eprintln!("note: {note}");
    }
    Ok(decoded.image)
}

/// `files`, or an error naming the folder and `what` was sought when
/// there are none.
fn some(files: Vec<PathBuf>, what: &str, dir: &Path) -> Result<Vec<PathBuf>> {
    if files.is_empty() {
        bail!("no {what} in {}", dir.display());
    }
    Ok(files)
}

/// The image files of a folder, sorted (at least one).
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    some(walloc_io::folder::image_files(dir)?, "images", dir)
}

/// The audio files of a folder, sorted (at least one).
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    some(
        walloc_io::folder::audio_files(dir)?,
        "audio files (WAV, FLAC, Ogg Vorbis)",
        dir,
    )
}
