//! The inputs a classifier learns from, as standardized feature rows:
//! a walloc latent dataset, or image class folders at full or reduced
//! resolution.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

/// Labelled feature rows of one split.
pub struct Split {
    /// `len × dim` values, row after row.
    pub values: Vec<f32>,
    /// One class index per row.
    pub labels: Vec<i64>,
}

impl Split {
    /// Rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
}

/// The train and test splits of one kind of input.
pub struct Inputs {
    /// What the rows are ("walloc latents 4×7×7", "pixels 14×14").
    pub name: String,
    /// Values per row.
    pub dim: usize,
    /// Training rows.
    pub train: Split,
    /// Held-out rows.
    pub test: Split,
}

/// The rows of a latent dataset's split.
fn latent_split(dir: &Path, split: &str) -> Result<(Split, Vec<u32>)> {
    let shards: Vec<PathBuf> = walloc_dataset::shard_paths(dir)?
        .into_iter()
        .filter(|(name, _)| name == split)
        .map(|(_, path)| path)
        .collect();
    let (mut values, mut labels, mut shape) = (Vec::new(), Vec::new(), Vec::new());
    for path in &shards {
        for row in walloc_dataset::shard::read(path)? {
            if !shape.is_empty() && shape != row.latent_shape {
                bail!("latents of several shapes in {}: a classifier needs one", dir.display());
            }
            shape = row.latent_shape;
            let label = row.label.with_context(|| format!("{} has no label", row.name))?;
            labels.push(i64::from(label));
            values.extend(row.latent.iter().map(|&v| f32::from(v)));
        }
    }
    if labels.is_empty() {
        bail!("no {split} rows in {}", dir.display());
    }
    Ok((Split { values, labels }, shape))
}

/// A walloc latent dataset with `train` and `test` splits.
pub fn latents(dir: &Path) -> Result<Inputs> {
    let (train, shape) = latent_split(dir, "train")?;
    let (test, _) = latent_split(dir, "test")?;
    let dims: Vec<String> = shape.iter().map(|v| v.to_string()).collect();
    Ok(Inputs {
        name: format!("walloc latents {}", dims.join("×")),
        dim: shape.iter().product::<u32>() as usize,
        train,
        test,
    })
}

/// The images of `dir/CLASS/*`, downscaled by `factor`, with the index of
/// their class folder.
fn image_split(dir: &Path, factor: u32) -> Result<(Split, (u32, u32, u8))> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        files.extend(
            walloc_io::folder::image_files(class)?
                .into_iter()
                .map(|f| (f, label as i64)),
        );
    }
    let images: Vec<walloc::Image8> = files
        .par_iter()
        .map(|(path, _)| {
            let bytes = std::fs::read(path)?;
            let image = walloc_io::image::decode_image(&bytes, &path.display().to_string())?.image;
            Ok(walloc_io::image::downscale(image, factor)?)
        })
        .collect::<Result<_>>()?;
    let Some(first) = images.first() else {
        bail!("no images in {}", dir.display());
    };
    let shape = (first.width, first.height, first.channels);
    if images.iter().any(|i| (i.width, i.height, i.channels) != shape) {
        bail!("images of several sizes in {}: a classifier needs one", dir.display());
    }
    let values = images
        .iter()
        .flat_map(|i| i.pixels.iter().map(|&v| f32::from(v)))
        .collect();
    Ok((
        Split {
            values,
            labels: files.into_iter().map(|(_, l)| l).collect(),
        },
        shape,
    ))
}

/// Image class folders `dir/{train,test}/CLASS/*`, downscaled by `factor`.
pub fn pixels(dir: &Path, factor: u32) -> Result<Inputs> {
    let (train, (w, h, c)) = image_split(&dir.join("train"), factor)?;
    let (test, _) = image_split(&dir.join("test"), factor)?;
    Ok(Inputs {
        name: format!("pixels {w}×{h}{}", if c == 1 { String::new() } else { format!("×{c}") }),
        dim: (w * h) as usize * usize::from(c),
        train,
        test,
    })
}

/// Standardizes every feature by its mean and deviation on the training
/// rows (the same for every kind of input).
pub fn standardize(inputs: &mut Inputs) {
    let (dim, n) = (inputs.dim, inputs.train.len().max(1) as f64);
    let mut mean = vec![0f64; dim];
    let mut square = vec![0f64; dim];
    for row in inputs.train.values.chunks_exact(dim) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += f64::from(v);
            square[j] += f64::from(v) * f64::from(v);
        }
    }
    let scale: Vec<(f32, f32)> = (0..dim)
        .map(|j| {
            let m = mean[j] / n;
            let deviation = (square[j] / n - m * m).max(0.0).sqrt().max(1e-3);
            (m as f32, (1.0 / deviation) as f32)
        })
        .collect();
    for split in [&mut inputs.train, &mut inputs.test] {
        for row in split.values.chunks_exact_mut(dim) {
            for (v, &(m, s)) in row.iter_mut().zip(&scale) {
                *v = (*v - m) * s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardized_training_features_have_zero_mean_and_unit_deviation() {
        let mut inputs = Inputs {
            name: "test".into(),
            dim: 2,
            train: Split {
                values: vec![1.0, 10.0, 3.0, 10.0, 5.0, 10.0],
                labels: vec![0, 1, 0],
            },
            test: Split {
                values: vec![3.0, 11.0],
                labels: vec![1],
            },
        };
        standardize(&mut inputs);
        let first: Vec<f32> = inputs.train.values.iter().step_by(2).copied().collect();
        let expected = 2.0 / (8.0f32 / 3.0).sqrt();
        for (got, want) in first.iter().zip([-expected, 0.0, expected]) {
            assert!((got - want).abs() < 1e-6, "{first:?}");
        }
        assert_eq!(inputs.test.values[0], 0.0, "the test rows use the training statistics");
        assert_eq!(inputs.test.values[1], 1000.0, "a constant feature is divided by 1e-3");
    }
}
