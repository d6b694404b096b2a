//! `walloc import`: reference checkpoints to walloc model files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc_codec::audio::PAD_MULTIPLE;
use walloc_codec::fit::recount_tables;
use walloc_codec::liveaction::LiveActionConfig;
use walloc_codec::{Latent, Modality, Model};
use walloc_nn::checkpoint::Checkpoint;
use walloc_nn::import::{import, ReferenceConfig};
use walloc_nn::import_liveaction::{import_liveaction, is_liveaction, STATE_DICT_KEY};

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

/// Opens the state_dict under `key`, or under WaLLoC's key, else LiVeAction's.
fn open_checkpoint(path: &Path, key: Option<&str>) -> Result<Checkpoint> {
    if let Some(key) = key {
        return Ok(Checkpoint::open(path, key)?);
    }
    Checkpoint::open(path, "model_state_dict")
        .or_else(|_| Checkpoint::open(path, STATE_DICT_KEY))
        .with_context(|| {
            format!(
                "{}: no state_dict under model_state_dict (WaLLoC) or {STATE_DICT_KEY} (LiVeAction); name it with --key",
                path.display()
            )
        })
}

/// Runs `import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let checkpoint = open_checkpoint(&args.checkpoint, args.key.as_deref())?;
    let name = args.name.clone().unwrap_or_else(|| stem(&args.output));
    let source = args
        .checkpoint
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let parse_error = |kind: &str| format!("parsing {} as a {kind} config", args.config.display());
    let mut model = if is_liveaction(&checkpoint) {
        let (shape, ignored) =
            LiveActionConfig::from_reference_json(&text).with_context(|| parse_error("LiVeAction"))?;
        if !ignored.is_empty() {
            eprintln!("note: not AutoCodecND arguments, ignored: {}", ignored.join(", "));
        }
        import_liveaction(&name, &shape, &checkpoint, &source)?
    } else {
        let config: ReferenceConfig = serde_json::from_str(&text).with_context(|| parse_error("WaLLoC"))?;
        import(&name, &config, &checkpoint, &source)?
    };
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
