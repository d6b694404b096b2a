//! `walloc import`: reference checkpoints to walloc model files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walloc_codec::entropy::{count_band, probabilities_from_counts, CONTEXTS};
use walloc_codec::LinearEncoder;
use walloc_nn::checkpoint::Checkpoint;
use walloc_nn::import::{import_codec2d, ReferenceConfig};
use walloc_wavelet::FilterBank;

use crate::fit::{load_crops, CropOptions};
use crate::io::write_output;

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The reference's JSON config (channels, J, Ne, Nd, latent_dim, latent_bits, lightweight_encode).
    #[arg(long)]
    pub config: PathBuf,
    /// The reference checkpoint (.pth).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Key of the state_dict inside the checkpoint.
    #[arg(long, default_value = "model_state_dict")]
    pub key: String,
    /// Model name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Images to count the entropy tables on (random crops); without it the
    /// tables are flat (uniform), which gives 8 bits per latent value.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// Context histograms of the checkpoint's own encoder on crops of `data`.
fn count_tables(config: &ReferenceConfig, checkpoint: &Checkpoint, data: &Path) -> Result<(Vec<u32>, usize)> {
    let tensor = |name: &str| {
        checkpoint
            .get(name)
            .map(|(_, values)| values.to_vec())
            .with_context(|| format!("the checkpoint has no {name}"))
    };
    let encoder = LinearEncoder::new(
        config.channels,
        config.levels,
        config.latent_bits,
        FilterBank::bior4_4(),
        tensor("encoder.0.weight")?,
        tensor("encoder.0.bias")?,
    )?;
    let options = CropOptions {
        channels: config.channels as u8,
        crop: 32 << config.levels.min(3),
        per_image: 8,
        downscale: 1,
        seed: 0,
    };
    let (crops, _) = load_crops(data, &options)?;
    let symbols = 1usize << config.latent_bits;
    let rows = CONTEXTS * symbols;
    let mut counts = vec![0u64; encoder.latent_dim() * rows];
    for crop in &crops {
        let latent = encoder.analyze(crop)?;
        let plane = latent.height * latent.width;
        for (c, band) in latent.symbols.chunks_exact(plane).enumerate() {
            count_band(band, latent.width, symbols, &mut counts[c * rows..(c + 1) * rows]);
        }
    }
    Ok((probabilities_from_counts(&counts, symbols), CONTEXTS))
}

/// Runs `import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let config: ReferenceConfig =
        serde_json::from_str(&text).with_context(|| format!("parsing {} as a WaLLoC config", args.config.display()))?;
    let checkpoint = Checkpoint::open(&args.checkpoint, &args.key)?;
    let name = args.name.clone().unwrap_or_else(|| stem(&args.output));
    let source = args
        .checkpoint
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let tables = match &args.data {
        Some(data) => {
            let tables = count_tables(&config, &checkpoint, data)?;
            eprintln!("entropy tables counted on images of {}", data.display());
            Some(tables)
        }
        None => {
            eprintln!("note: flat entropy tables (8 bits per latent value); pass --data DIR to count real ones");
            None
        }
    };
    let model = import_codec2d(&name, &config, &checkpoint, &source, tables)?;
    write_output(&args.output, model.to_bytes())?;
    eprintln!(
        "wrote {} ({}, id {})",
        args.output.display(),
        model.config().architecture,
        model.id().short()
    );
    Ok(())
}
