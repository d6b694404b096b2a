#![warn(missing_docs)]
//! File formats in and out for walloc, as a sibling crate of the codec
//! (zune-image's layout): images through the `image` crate, 8-bit PNGs row
//! by row (so that large images stream through the striped codec), audio
//! read block by block (WAV through `hound`, FLAC and Ogg Vorbis through
//! `symphonia`) and WAV written block by block, volumes (NIfTI, `.npy`,
//! raw) slice by slice, spectral cubes (multi-band TIFF with its
//! georeferencing), and the files of a folder.
//! The CLI, dataset conversion and the Python package read files through
//! it; the codec itself never touches a file.

pub mod audio;
pub mod cube;
pub mod error;
pub mod folder;
pub mod image;
pub mod png_rows;
pub mod volume;
pub mod wav;

pub use error::{FormatError, Result};
