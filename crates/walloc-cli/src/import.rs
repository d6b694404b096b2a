//! `walloc import`: reference checkpoints to walloc model files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc_codec::audio::PAD_MULTIPLE;
use walloc_codec::fit::recount_tables;
use walloc_codec::{Latent, Modality, Model};
use walloc_nn::checkpoint::Checkpoint;
use walloc_nn::import::import_checkpoint;

use crate::fit::load_all;
use crate::fit_audio::load_blocks;
use crate::io::{audio_files, image_files, write_output};
use walloc_nn::examples::Examples;

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The reference's JSON config: WaLLoC's (channels, J, Ne, Nd, latent_dim, latent_bits,
    /// lightweight_encode, post_filter) or, for a LiVeAction checkpoint, livecodec's `AutoCodecND`
    /// arguments (dim, input_channels, J or F = 2^J, latent_dim, encoder_depth, decoder_depth, ...;
    /// other fields, such as the notebooks' training settings, are named and ignored). The class
    /// (Codec2D, Codec1D, LinearCodec2D, ResidualCodec2D, AutoCodecND) is told by the checkpoint.
    #[arg(long)]
    pub config: PathBuf,
    /// The reference checkpoint (.pth).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Key of the state_dict inside the checkpoint (default: `model_state_dict`, WaLLoC's, else
    /// `state_dict`, LiVeAction's).
    #[arg(long)]
    pub key: Option<String>,
    /// Model name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Images (random crops) or WAV files to count the entropy tables on;
    /// without it the tables are flat (uniform): 8 bits per latent value.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// Latents of `model`'s own encoder on `data`, sampled as training
/// samples them: whole images, or each audio file's first block.
fn latents_of(model: &Model, data: &Path) -> Result<Vec<Latent>> {
    let channels = model.config().channels as usize;
    let examples = match model.config().modality {
        Modality::Audio => Examples::Audio {
            blocks: load_blocks(&audio_files(data)?, channels, PAD_MULTIPLE as usize, "loading")?,
            channels,
        },
        Modality::Image => Examples::Images(load_all(&image_files(data)?, Some(channels as u8), 1, "loading")?),
        Modality::Volume => {
            bail!("--data counts entropy tables for image and audio models only; import volume models without it")
        }
    };
    Ok(examples.latents(walloc::registry(), model)?)
}

/// Runs `import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let checkpoint = Checkpoint::open_state_dict(&args.checkpoint, args.key.as_deref())
        .with_context(|| format!("{} (--key names the state_dict's key)", args.checkpoint.display()))?;
    let name = args.name.clone().unwrap_or_else(|| stem(&args.output));
    let source = args
        .checkpoint
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let imported = import_checkpoint(&name, &text, &checkpoint, &source)
        .with_context(|| format!("importing with the config {}", args.config.display()))?;
    if !imported.ignored.is_empty() {
        eprintln!(
            "note: not the model's arguments, ignored: {}",
            imported.ignored.join(", ")
        );
    }
    let mut model = imported.model;
    match &args.data {
        Some(data) => {
            let latents = latents_of(&model, data)?;
            model = recount_tables(&model, &latents, &data.display().to_string())?;
            eprintln!(
                "entropy tables counted on {} latents of {}",
                latents.len(),
                data.display()
            );
        }
        None => eprintln!("note: flat entropy tables (8 bits per latent value); pass --data DIR to count real ones"),
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!(
        "wrote {} ({}, id {})",
        args.output.display(),
        model.config().architecture,
        model.id().short()
    );
    Ok(())
}
