//! The inputs a classifier learns from, as standardized feature rows:
//! a walloc latent dataset, image class folders at full or reduced
//! resolution, or audio class folders at their own or another rate.

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
    /// Channels per row: each row is `channels` runs of `dim / channels`
    /// values (a latent's channels; 1 for pixels and samples).
    pub channels: usize,
    /// Training rows.
    pub train: Split,
    /// Held-out rows.
    pub test: Split,
}

/// `values` (`channels` runs of equal length) with each run cut or padded
/// with zeros to `length`.
fn fit_length(values: &[f32], channels: usize, length: usize) -> Vec<f32> {
    let run = values.len() / channels.max(1);
    let mut out = vec![0.0; channels * length];
    for (c, chunk) in values.chunks(run.max(1)).take(channels).enumerate() {
        let kept = run.min(length);
        out[c * length..c * length + kept].copy_from_slice(&chunk[..kept]);
    }
    out
}

/// The rows of a latent dataset's split, each channel's positions cut or
/// padded to `length` when given (audio latents, whose length varies).
fn latent_split(dir: &Path, split: &str, length: Option<usize>) -> Result<(Split, Vec<u32>)> {
    let shards: Vec<PathBuf> = walloc_dataset::shard_paths(dir)?
        .into_iter()
        .filter(|(name, _)| name == split)
        .map(|(_, path)| path)
        .collect();
    let (mut values, mut labels, mut shape) = (Vec::new(), Vec::new(), Vec::new());
    for path in &shards {
        for mut row in walloc_dataset::shard::read(path)? {
            let latent: Vec<f32> = row.latent.iter().map(|&v| f32::from(v)).collect();
            let latent = match (length, row.latent_shape.as_slice()) {
                (None, _) => latent,
                (Some(length), &[channels, _]) => {
                    row.latent_shape[1] = length as u32;
                    fit_length(&latent, channels as usize, length)
                }
                (Some(_), other) => bail!("--length cuts audio latents ([channels, positions]), not {other:?}"),
            };
            if !shape.is_empty() && shape != row.latent_shape {
                bail!(
                    "latents of several shapes in {}: a classifier needs one (audio: give --length)",
                    dir.display()
                );
            }
            shape = row.latent_shape;
            let label = row.label.with_context(|| format!("{} has no label", row.name))?;
            labels.push(i64::from(label));
            values.extend(latent);
        }
    }
    if labels.is_empty() {
        bail!("no {split} rows in {}", dir.display());
    }
    Ok((Split { values, labels }, shape))
}

/// A walloc latent dataset with `train` and `test` splits.
pub fn latents(dir: &Path, length: Option<usize>) -> Result<Inputs> {
    let (train, shape) = latent_split(dir, "train", length)?;
    let (test, _) = latent_split(dir, "test", length)?;
    let dims: Vec<String> = shape.iter().map(|v| v.to_string()).collect();
    Ok(Inputs {
        name: format!("walloc latents {}", dims.join("×")),
        dim: shape.iter().product::<u32>() as usize,
        channels: shape.first().map_or(1, |&c| c as usize),
        train,
        test,
    })
}

/// The files of `dir/CLASS/*` (listed by `list`), with the index of their
/// class folder.
fn class_files(dir: &Path, list: fn(&Path) -> walloc_io::Result<Vec<PathBuf>>) -> Result<Vec<(PathBuf, i64)>> {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        files.extend(list(class)?.into_iter().map(|f| (f, label as i64)));
    }
    if files.is_empty() {
        bail!("no files in the class folders of {}", dir.display());
    }
    Ok(files)
}

/// The images of `dir/CLASS/*`, downscaled by `factor`, with the index of
/// their class folder.
fn image_split(dir: &Path, factor: u32) -> Result<(Split, (u32, u32, u8))> {
    let files = class_files(dir, walloc_io::folder::image_files)?;
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
        channels: 1,
        train,
        test,
    })
}

/// The recordings of `dir/CLASS/*`, mixed to mono, resampled to
/// `rate / factor` Hz and cut or padded to `length` samples.
fn audio_split(dir: &Path, rate: u32, factor: u32, length: usize) -> Result<Split> {
    let files = class_files(dir, walloc_io::folder::audio_files)?;
    let rows: Vec<Vec<f32>> = files
        .par_iter()
        .map(|(path, _)| {
            let mut source = walloc_io::audio::open(path)?;
            let (channels, own) = (source.channels().max(1), source.sample_rate());
            let planar = source.read_planar(walloc::audio::MAX_BLOCK_FRAMES as usize)?;
            let mono = walloc_io::audio::mono_of(&planar, channels);
            Ok(if own == rate && factor == 1 {
                fit_length(&mono, 1, length)
            } else {
                // From `own` Hz to `rate / factor` Hz: the ratio own·factor : rate.
                walloc_io::audio::resample(&mono, 1, own * factor, rate, length)?
            })
        })
        .collect::<Result<_>>()?;
    Ok(Split {
        values: rows.into_iter().flatten().collect(),
        labels: files.into_iter().map(|(_, l)| l).collect(),
    })
}

/// Audio class folders `dir/{train,test}/CLASS/*`, mono, at `rate /
/// factor` Hz (each recording resampled from its own rate when it
/// differs), cut or padded to `length` samples.
pub fn audio(dir: &Path, rate: u32, factor: u32, length: usize) -> Result<Inputs> {
    if length == 0 || factor == 0 || rate == 0 {
        bail!("--length, --rate and --downscale must be positive");
    }
    Ok(Inputs {
        name: format!("samples {length} at {} Hz", f64::from(rate) / f64::from(factor)),
        dim: length,
        channels: 1,
        train: audio_split(&dir.join("train"), rate, factor, length)?,
        test: audio_split(&dir.join("test"), rate, factor, length)?,
    })
}

/// Standardizes the rows by the mean and deviation on the training rows of
/// each of `groups` equal runs of values: every value on its own when
/// `groups` is `dim`, every channel when it is `channels`.
pub fn standardize(inputs: &mut Inputs, groups: usize) {
    let (dim, n) = (inputs.dim, inputs.train.len().max(1) as f64);
    let run = dim / groups.max(1);
    let count = n * run as f64;
    let mut mean = vec![0f64; groups];
    let mut square = vec![0f64; groups];
    for row in inputs.train.values.chunks_exact(dim) {
        for (j, &v) in row.iter().enumerate() {
            mean[j / run] += f64::from(v);
            square[j / run] += f64::from(v) * f64::from(v);
        }
    }
    let scale: Vec<(f32, f32)> = (0..groups)
        .map(|g| {
            let m = mean[g] / count;
            let deviation = (square[g] / count - m * m).max(0.0).sqrt().max(1e-3);
            (m as f32, (1.0 / deviation) as f32)
        })
        .collect();
    for split in [&mut inputs.train, &mut inputs.test] {
        for row in split.values.chunks_exact_mut(dim) {
            for (j, v) in row.iter_mut().enumerate() {
                let (m, s) = scale[j / run];
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
            channels: 1,
            train: Split {
                values: vec![1.0, 10.0, 3.0, 10.0, 5.0, 10.0],
                labels: vec![0, 1, 0],
            },
            test: Split {
                values: vec![3.0, 11.0],
                labels: vec![1],
            },
        };
        standardize(&mut inputs, 2);
        let first: Vec<f32> = inputs.train.values.iter().step_by(2).copied().collect();
        let expected = 2.0 / (8.0f32 / 3.0).sqrt();
        for (got, want) in first.iter().zip([-expected, 0.0, expected]) {
            assert!((got - want).abs() < 1e-6, "{first:?}");
        }
        assert_eq!(inputs.test.values[0], 0.0, "the test rows use the training statistics");
        assert_eq!(inputs.test.values[1], 1000.0, "a constant feature is divided by 1e-3");
    }

    #[test]
    fn rows_are_cut_or_padded_channel_by_channel() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(fit_length(&values, 2, 2), [1.0, 2.0, 4.0, 5.0]);
        assert_eq!(fit_length(&values, 2, 4), [1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0]);
        assert_eq!(fit_length(&values, 1, 3), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn standardizing_by_channel_shares_one_scale_per_channel() {
        let mut inputs = Inputs {
            name: "test".into(),
            dim: 4,
            channels: 2,
            train: Split {
                values: vec![0.0, 2.0, 10.0, 10.0, 2.0, 0.0, 30.0, 30.0],
                labels: vec![0, 1],
            },
            test: Split {
                values: vec![1.0, 1.0, 20.0, 40.0],
                labels: vec![0],
            },
        };
        standardize(&mut inputs, 2);
        assert_eq!(&inputs.train.values[..2], &[-1.0, 1.0]);
        assert_eq!(&inputs.test.values, &[0.0, 0.0, 0.0, 2.0]);
    }
}
