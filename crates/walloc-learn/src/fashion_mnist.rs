//! Fashion-MNIST's IDX files as PNG class folders, the layout
//! `walloc dataset --split folders` and the pixel inputs read.

use std::path::Path;

use anyhow::{bail, Context, Result};
use walloc::Image8;

/// The classes, in label order (the digit keeps folder order = label).
const CLASSES: [&str; 10] = [
    "0-t-shirt",
    "1-trouser",
    "2-pullover",
    "3-dress",
    "4-coat",
    "5-sandal",
    "6-shirt",
    "7-sneaker",
    "8-bag",
    "9-ankle-boot",
];

fn big_endian(bytes: &[u8], at: usize) -> usize {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// The images of an IDX3 file: (count, rows, columns, pixels).
fn images(path: &Path) -> Result<(usize, u32, u32, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() < 16 || big_endian(&bytes, 0) != 0x0803 {
        bail!("{} is not an IDX file of images", path.display());
    }
    let (count, rows, columns) = (big_endian(&bytes, 4), big_endian(&bytes, 8), big_endian(&bytes, 12));
    if bytes.len() != 16 + count * rows * columns {
        bail!("{} is truncated", path.display());
    }
    Ok((count, rows as u32, columns as u32, bytes[16..].to_vec()))
}

/// The labels of an IDX1 file.
fn labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() < 8 || big_endian(&bytes, 0) != 0x0801 || bytes.len() != 8 + big_endian(&bytes, 4) {
        bail!("{} is not an IDX file of labels", path.display());
    }
    Ok(bytes[8..].to_vec())
}

/// Writes both splits as PNG class folders.
pub fn write_folders(idx: &Path, out: &Path) -> Result<()> {
    for (split, prefix) in [("train", "train"), ("test", "t10k")] {
        let (count, rows, columns, pixels) = images(&idx.join(format!("{prefix}-images-idx3-ubyte")))?;
        let labels = labels(&idx.join(format!("{prefix}-labels-idx1-ubyte")))?;
        if labels.len() != count || labels.iter().any(|&l| l >= 10) {
            bail!("{split}: {} labels (0 to 9) for {count} images", labels.len());
        }
        for class in CLASSES {
            std::fs::create_dir_all(out.join(split).join(class))?;
        }
        let size = (rows * columns) as usize;
        for (i, (image, &label)) in pixels.chunks_exact(size).zip(&labels).enumerate() {
            let path = out
                .join(split)
                .join(CLASSES[label as usize])
                .join(format!("{i:05}.png"));
            let image = Image8::new(columns, rows, 1, image.to_vec())?;
            std::fs::write(&path, walloc_io::image::encode_image(&image, &path)?)?;
        }
        eprintln!("{split}: {count} images of {rows}×{columns}");
    }
    Ok(())
}
