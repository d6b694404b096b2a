//! Training a classifier ([`Network`]) with AdamW and cross-entropy on the
//! CPU (burn), the same for every kind of input; figures as one JSON line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::inputs::{self, Inputs, Split};
use crate::network::{Net, Network};

/// Arguments of `classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// A walloc latent dataset (`walloc dataset --split folders`) with
    /// train and test splits.
    #[arg(long, group = "input")]
    pub latents: Option<PathBuf>,
    /// Image class folders `DIR/{train,test}/CLASS/*`.
    #[arg(long, group = "input")]
    pub pixels: Option<PathBuf>,
    /// Audio class folders `DIR/{train,test}/CLASS/*`, mixed to mono.
    #[arg(long, group = "input")]
    pub audio: Option<PathBuf>,
    /// Downscale the images (Lanczos) or the recordings (rubato's FFT
    /// resampler, to 1/F of --rate) by this factor first.
    #[arg(long, default_value_t = 1)]
    pub downscale: u32,
    /// The rate every recording is brought to before --downscale (Hz).
    #[arg(long, default_value_t = 44100)]
    pub rate: u32,
    /// Cut or pad (with zeros) every row to this many positions: audio
    /// samples, or an audio latent's positions.
    #[arg(long)]
    pub length: Option<usize>,
    /// The classifier.
    #[arg(long, value_enum, default_value_t = Net::Mlp)]
    pub net: Net,
    /// Passes over the training rows.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Seed of the weights and the order of the rows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Rows `indices` of a split as a batch: values and labels.
fn batch(split: &Split, dim: usize, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let values: Vec<f32> = indices
        .iter()
        .flat_map(|&i| split.values[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let labels: Vec<i64> = indices.iter().map(|&i| split.labels[i]).collect();
    (
        Tensor::from_data(TensorData::new(values, [indices.len(), dim]), device),
        Tensor::from_data(TensorData::new(labels, [indices.len()]), device),
    )
}

/// The fraction of `split` classified right.
fn accuracy(model: &Network, split: &Split, dim: usize, device: &Device) -> Result<f64> {
    let mut right = 0usize;
    let all: Vec<usize> = (0..split.len()).collect();
    for chunk in all.chunks(1024) {
        let (x, y) = batch(split, dim, chunk, device);
        let predicted = model.forward(x).argmax(1).reshape([chunk.len()]);
        let equal = predicted.equal(y).int().sum().into_data();
        right += equal.iter::<i64>().next().unwrap_or(0) as usize;
    }
    Ok(right as f64 / split.len().max(1) as f64)
}

/// Peak resident memory of this process in MB (Linux; 0 elsewhere).
fn peak_memory_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `classify`.
pub fn run(args: &ClassifyArgs) -> Result<()> {
    let inputs: Inputs = match (&args.latents, &args.pixels, &args.audio) {
        (Some(dir), None, None) => inputs::latents(dir, args.length)?,
        (None, Some(dir), None) => inputs::pixels(dir, args.downscale)?,
        (None, None, Some(dir)) => {
            let length = args.length.context("--audio needs --length (samples per row)")?;
            inputs::audio(dir, args.rate, args.downscale, length)?
        }
        _ => bail!("give --latents DATASET, --pixels FOLDER or --audio FOLDER"),
    };
    println!("{}", train_and_test(inputs, args)?);
    Ok(())
}

/// Trains the classifier on the standardized training rows and measures
/// it: top-1 on both splits, time per epoch, peak memory.
fn train_and_test(mut inputs: Inputs, args: &ClassifyArgs) -> Result<serde_json::Value> {
    if args.batch == 0 || args.epochs == 0 {
        bail!("--batch and --epochs must be positive");
    }
    // The perceptron standardizes each value on its own; the convolutional
    // network each channel, so that a shift in time changes nothing.
    let groups = match args.net {
        Net::Mlp => inputs.dim,
        Net::Conv => inputs.channels,
    };
    inputs::standardize(&mut inputs, groups);
    let dim = inputs.dim;
    let classes = 1 + inputs
        .train
        .labels
        .iter()
        .chain(&inputs.test.labels)
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let device = Device::default().autodiff();
    device.seed(args.seed);
    let mut model = Network::new(args.net, dim, inputs.channels, classes, &device);
    let mut optimizer = AdamWConfig::new().init();
    let loss = CrossEntropyLossConfig::new().init(&device);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut order: Vec<usize> = (0..inputs.train.len()).collect();
    let started = Instant::now();
    for epoch in 0..args.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(args.batch) {
            let (x, y) = batch(&inputs.train, dim, chunk, &device);
            let value = loss.forward(model.forward(x), y).mean();
            total += value.clone().into_data().iter::<f32>().next().unwrap_or(f32::NAN) as f64;
            let grads = GradientsParams::from_grads(value.backward(), &model);
            model = optimizer.step(args.learning_rate, model, grads);
        }
        eprintln!(
            "epoch {}: training loss {:.4}",
            epoch + 1,
            total / order.chunks(args.batch).len() as f64
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let valid = model.valid();
    let plain = Device::default();
    Ok(serde_json::json!({
        "input": inputs.name,
        "classifier": format!("{:?}", args.net).to_lowercase(),
        "dimension": dim,
        "train_rows": inputs.train.len(),
        "test_rows": inputs.test.len(),
        "epochs": args.epochs,
        "test_top1": accuracy(&valid, &inputs.test, dim, &plain)?,
        "train_top1": accuracy(&valid, &inputs.train, dim, &plain)?,
        "seconds_per_epoch": seconds / args.epochs as f64,
        "peak_memory_mb": peak_memory_mb(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes apart along a line in 8 dimensions, with noise.
    fn separable(n: usize, seed: u64) -> Split {
        use rand::RngExt;
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for i in 0..n {
            let label = (i % 2) as i64;
            for j in 0..8 {
                let centre = if j < 2 { label as f32 * 2.0 - 1.0 } else { 0.0 };
                values.push(centre * 3.0 + rng.random_range(-1.0f32..1.0));
            }
            labels.push(label);
        }
        Split { values, labels }
    }

    /// Training settings for tests: `net`, `epochs`, batches of 32 at a
    /// rate of 1e-2, `seed`.
    fn settings(net: Net, epochs: usize, seed: u64) -> ClassifyArgs {
        ClassifyArgs {
            latents: None,
            pixels: None,
            audio: None,
            downscale: 1,
            rate: 44100,
            length: None,
            net,
            epochs,
            batch: 32,
            learning_rate: 1e-2,
            seed,
        }
    }

    #[test]
    fn the_classifier_learns_a_separable_problem_and_not_a_shuffled_one() {
        let args = settings(Net::Mlp, 5, 1);
        let inputs = |train, test| Inputs {
            name: "test".into(),
            dim: 8,
            channels: 1,
            train,
            test,
        };
        let figures = train_and_test(inputs(separable(512, 1), separable(256, 2)), &args).unwrap();
        assert!(figures["test_top1"].as_f64().unwrap() > 0.95, "{figures}");
        // Labels that say nothing about the values: chance on held-out rows.
        let mut noise = separable(512, 1);
        noise
            .labels
            .iter_mut()
            .enumerate()
            .for_each(|(i, l)| *l = ((i / 2) % 2) as i64);
        let figures = train_and_test(inputs(noise, separable(256, 2)), &args).unwrap();
        let top1 = figures["test_top1"].as_f64().unwrap();
        assert!((0.3..0.7).contains(&top1), "{figures}");
    }

    /// Two channels of 32 positions; class 1 holds a bump at a random
    /// place in its first channel, class 0 none.
    fn bumps(n: usize, seed: u64) -> Split {
        use rand::RngExt;
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for i in 0..n {
            let label = (i % 2) as i64;
            let mut row: Vec<f32> = (0..64).map(|_| rng.random_range(-0.5f32..0.5)).collect();
            if label == 1 {
                let at = rng.random_range(0..28usize);
                row[at..at + 4].iter_mut().for_each(|v| *v += 3.0);
            }
            values.extend(row);
            labels.push(label);
        }
        Split { values, labels }
    }

    #[test]
    fn the_convolutional_network_finds_a_pattern_wherever_it_is() {
        let args = settings(Net::Conv, 8, 3);
        let inputs = Inputs {
            name: "bumps".into(),
            dim: 64,
            channels: 2,
            train: bumps(384, 1),
            test: bumps(128, 2),
        };
        let figures = train_and_test(inputs, &args).unwrap();
        assert_eq!(figures["classifier"], "conv");
        assert!(figures["test_top1"].as_f64().unwrap() > 0.9, "{figures}");
    }
}
