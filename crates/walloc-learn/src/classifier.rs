//! The classifier: a three-layer perceptron (dim → 256 → 256 → classes,
//! ReLU) trained with AdamW and cross-entropy on the CPU (burn), the same
//! for every kind of input; figures as one JSON line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::inputs::{self, Inputs, Split};

/// Arguments of `classify`.
#[derive(clap::Args, Debug)]
pub struct ClassifyArgs {
    /// A walloc latent dataset (`walloc dataset --split folders`) with
    /// train and test splits.
    #[arg(long, conflicts_with = "pixels")]
    pub latents: Option<PathBuf>,
    /// Image class folders `DIR/{train,test}/CLASS/*`.
    #[arg(long)]
    pub pixels: Option<PathBuf>,
    /// Downscale the images by this factor first (Lanczos).
    #[arg(long, default_value_t = 1)]
    pub downscale: u32,
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

/// The perceptron.
#[derive(Module, Debug)]
struct Perceptron {
    first: Linear,
    second: Linear,
    out: Linear,
}

impl Perceptron {
    fn new(dim: usize, classes: usize, device: &Device) -> Self {
        Perceptron {
            first: LinearConfig::new(dim, 256).init(device),
            second: LinearConfig::new(256, 256).init(device),
            out: LinearConfig::new(256, classes).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(self.first.forward(x));
        let x = relu(self.second.forward(x));
        self.out.forward(x)
    }
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
fn accuracy(model: &Perceptron, split: &Split, dim: usize, device: &Device) -> Result<f64> {
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
    let inputs: Inputs = match (&args.latents, &args.pixels) {
        (Some(dir), None) => inputs::latents(dir)?,
        (None, Some(dir)) => inputs::pixels(dir, args.downscale)?,
        _ => bail!("give --latents DATASET or --pixels FOLDER"),
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
    inputs::standardize(&mut inputs);
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
    let mut model = Perceptron::new(dim, classes, &device);
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

    #[test]
    fn the_classifier_learns_a_separable_problem_and_not_a_shuffled_one() {
        let args = ClassifyArgs {
            latents: None,
            pixels: None,
            downscale: 1,
            epochs: 5,
            batch: 32,
            learning_rate: 1e-2,
            seed: 1,
        };
        let inputs = |train, test| Inputs {
            name: "test".into(),
            dim: 8,
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
}
