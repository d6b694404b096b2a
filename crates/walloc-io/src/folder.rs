//! The files of a folder that walloc reads, sorted.

use std::path::{Path, PathBuf};

use crate::audio::is_audio_path;
use crate::error::{FormatError, Result};

/// Extensions of the image files read.
pub const IMAGE_EXTENSIONS: [&str; 9] = ["png", "jpg", "jpeg", "webp", "ppm", "pgm", "pnm", "tif", "tiff"];

/// Whether `path` names an image file this crate reads (by extension).
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The paths in `dir` that `keep` accepts, sorted (none is an empty list).
pub fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| FormatError::io("reading folder", dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    files.sort();
    Ok(files)
}

/// The image files of a folder (PNG, JPEG, WebP, PNM, TIFF), sorted.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_in(dir, is_image_path)
}

/// The audio files of a folder (WAV, FLAC, Ogg Vorbis), sorted.
pub fn audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_in(dir, |p| p.is_file() && is_audio_path(p))
}

/// A path's file name (the whole path when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}

/// A folder's last component, as a data-set name.
pub fn folder_name(dir: &Path) -> String {
    dir.file_name().unwrap_or_default().to_string_lossy().into_owned()
}
