//! `walloc-learn`: the measured case for learning on compressed data
//! (docs/LEARNING.md). One classifier, a three-layer perceptron written in
//! burn and trained on the CPU, learns from (a) a walloc latent dataset,
//! (b) the same images downsampled to as many values, (c) the images at
//! full resolution; it prints one JSON line of figures per run.

mod classifier;
mod fashion_mnist;
mod inputs;
mod network;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Learning on walloc latents against learning on pixels.
#[derive(Parser, Debug)]
#[command(name = "walloc-learn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Writes Fashion-MNIST's IDX files (gunzipped) as PNG class folders,
    /// OUT/{train,test}/CLASS/NNNNN.png.
    FashionMnist {
        /// Folder of train-images-idx3-ubyte, train-labels-idx1-ubyte,
        /// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.
        #[arg(long)]
        idx: PathBuf,
        /// Output folder.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Trains the classifier on one kind of input and tests it.
    Classify(classifier::ClassifyArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::FashionMnist { idx, output } => fashion_mnist::write_folders(&idx, &output),
        Command::Classify(args) => classifier::run(&args),
    }
}
