//! Volumes on the command line: `encode` of NIfTI, `.npy` and raw files
//! (slab by slab, after a first pass for the value range) and of spectral
//! cubes (multi-band TIFF, whole), `decode` into NIfTI, `.npy` or raw
//! (slab by slab) or TIFF, and `fit-linear-volume`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use walloc::volume::{data_range, extremes, range_of, VolumeDecoder, VolumeSpec, DEFAULT_SLAB_DEPTH};
use walloc::{DecodeOptions, EncodeOptions, Modality, Model, SampleType, Signal, ValueRange};
use walloc_codec::fit::{fit_linear_volume, PieceSampler};
use walloc_codec::volume::normalized_planar;
use walloc_eval::volume_eval::{volume_figures, Volume};
use walloc_io::cube::{encode_cube, is_cube, is_tiff_path, read_cube, BandAxis, Cube};
use walloc_io::folder::{file_name, files_in, folder_name};
use walloc_io::volume::{is_volume_path, read_volume, RawLayout, VolumeFormat, VolumeReader, VolumeWriter};

use crate::eval::with_figures;
use crate::fit::FitShared;
use crate::io::{progress, write_atomically, write_output};
use crate::models;
use crate::{at_rate, Rate};

/// How to read a volume: a raw file's layout, the value range, the slab
/// depth (options of `encode`).
#[derive(clap::Args, Debug, Default)]
pub struct VolumeArgs {
    /// Raw volumes: `DEPTH,HEIGHT,WIDTH` in voxels (little-endian samples,
    /// width fastest).
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<[u32; 3]>,
    /// Raw volumes: the sample type (uint8, uint16, int16, int32, float32).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Volumes: `MIN:MAX`, the values that map to the codec's range
    /// [default: the volume's own minimum and maximum].
    #[arg(long, value_parser = parse_range, allow_hyphen_values = true)]
    pub range: Option<ValueRange>,
    /// Volumes: slices per slab, each coded on its own (rounded up to a
    /// multiple of 2^J).
    #[arg(long, default_value_t = DEFAULT_SLAB_DEPTH)]
    pub slab: u32,
    /// Spectral cubes (multi-band TIFF): code the bands as the volume's
    /// depth (one channel, any band count) or as channels (a model of as
    /// many channels) [default: channels when the model has as many as the
    /// cube has bands, else depth].
    #[arg(long, value_enum)]
    pub bands: Option<Bands>,
}

/// Where a spectral cube's bands go (`--bands`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bands {
    /// The volume's depth: one channel, 3-D packets, any band count.
    Depth,
    /// The channels of one slice: 2-D packets, a model of as many channels.
    Channels,
}

impl From<Bands> for BandAxis {
    fn from(bands: Bands) -> Self {
        match bands {
            Bands::Depth => BandAxis::Depth,
            Bands::Channels => BandAxis::Channels,
        }
    }
}

fn parse_shape(text: &str) -> std::result::Result<[u32; 3], String> {
    let sides: Vec<u32> = text
        .split(',')
        .map(|v| v.trim().parse::<u32>().map_err(|e| format!("{v:?}: {e}")))
        .collect::<std::result::Result<_, _>>()?;
    <[u32; 3]>::try_from(sides).map_err(|sides| format!("three sides DEPTH,HEIGHT,WIDTH, not {}", sides.len()))
}

fn parse_range(text: &str) -> std::result::Result<ValueRange, String> {
    let (min, max) = text.split_once(':').ok_or("MIN:MAX")?;
    let value = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("{v:?}: {e}"));
    let (min, max) = (value(min)?, value(max)?);
    if !(min.is_finite() && max.is_finite() && min < max) {
        return Err(format!("{min}:{max}: MIN below MAX, both finite"));
    }
    Ok(ValueRange { min, max })
}

impl VolumeArgs {
    /// The raw layout `--shape` and `--dtype` give, if any.
    fn raw_layout(&self) -> Result<Option<RawLayout>> {
        match (self.shape, &self.dtype) {
            (None, None) => Ok(None),
            (Some(shape), Some(dtype)) => Ok(Some(RawLayout {
                shape,
                sample_type: SampleType::by_name(dtype)?,
            })),
            _ => bail!("a raw volume needs both --shape and --dtype"),
        }
    }

    /// Whether `input` is read as a volume: a volume file, a raw array, or
    /// a TIFF that is a spectral cube (by its bands, by `--bands`, or by a
    /// volume `model`).
    pub fn is_volume(&self, input: &Path, model: Option<&str>) -> bool {
        let volume_model =
            || model.is_some_and(|m| models::resolve(m).is_ok_and(|m| m.config().modality == Modality::Volume));
        self.shape.is_some()
            || is_volume_path(input)
            || (is_tiff_path(input) && (self.bands.is_some() || volume_model() || is_cube(input)))
    }
}

/// The axis a cube of `bands` bands takes for `model`: as `--bands` says,
/// else channels when the model has as many, else depth; checked against
/// the model.
fn band_axis(bands: u32, model: &Model, asked: Option<Bands>) -> Result<BandAxis> {
    let config = model.config();
    let axis = asked.map_or(
        if config.channels == bands && bands > 1 {
            BandAxis::Channels
        } else {
            BandAxis::Depth
        },
        BandAxis::from,
    );
    match axis {
        BandAxis::Channels if config.channels != bands || config.dim != 2 => bail!(
            "model {} codes {}-channel {}-D volumes, not a cube of {bands} bands as channels \
             (fit one: walloc fit-linear-volume --dims 2 --bands channels)",
            config.name,
            config.channels,
            config.dim
        ),
        BandAxis::Depth if config.channels != 1 => bail!(
            "model {} codes {}-channel volumes; a cube's bands as depth need a one-channel model",
            config.name,
            config.channels
        ),
        axis => Ok(axis),
    }
}

/// A spectral cube read as a volume signal with its bands on `axis`, and
/// its georeferencing tags.
fn cube_volume(path: &Path, axis: BandAxis) -> Result<(Signal, Vec<walloc::volume::FileTag>)> {
    let cube = read_cube(path)?;
    let tags = cube.tags.clone();
    let (shape, channels, samples) = cube.into_volume(axis)?;
    let signal = Signal::new(shape.map(|v| v as usize).to_vec(), channels.into(), samples)?;
    Ok((signal, tags))
}

/// `walloc encode` of a spectral cube, whole, at `rate`.
fn encode_cube_file(
    input: &Path,
    output: &Path,
    model: Option<&str>,
    args: &VolumeArgs,
    options: &EncodeOptions,
    rate: Rate,
) -> Result<()> {
    let (bands, _) = walloc_io::cube::tiff_bands(input)?;
    let default = match args.bands {
        Some(Bands::Depth) => walloc::models::DEFAULT_CUBE,
        _ => walloc::models::default_cube(bands as usize)?,
    };
    let model = volume_model(Some(model.unwrap_or(default)))?;
    let axis = band_axis(bands, &model, args.bands)?;
    let (signal, tags) = cube_volume(input, axis)?;
    let mut spec = walloc::volume::spec_of(&model, &signal)?;
    spec.range = args.range.unwrap_or(spec.range);
    spec.slab_depth = args.slab;
    spec.tags = tags;
    spec.coder = options.coder;
    spec.rdo = options.rdo;
    let context = || format!("encoding {} with {}", input.display(), model.config().name);
    let file = at_rate(rate, &model, |step| {
        let spec = VolumeSpec { step, ..spec.clone() };
        walloc::volume::encode_volume(&model, &signal, &spec).with_context(context)
    })?;
    write_output(output, &file)
}

/// The volume model `--model` names, or the default.
fn volume_model(spec: Option<&str>) -> Result<Model> {
    let model = models::resolve(spec.unwrap_or(walloc::models::DEFAULT_VOLUME))?;
    if model.config().modality != Modality::Volume {
        bail!(
            "model {} codes {}s, not volumes",
            model.config().name,
            model.config().modality
        );
    }
    Ok(model)
}

/// The minimum and maximum of a volume file, read slab by slab.
fn scan_range(input: &Path, raw: Option<RawLayout>, slab: u32) -> Result<ValueRange> {
    let mut reader = VolumeReader::open(input, raw)?;
    let bar = progress(u64::from(reader.shape[0]), "scanning");
    let mut whole: Option<(f64, f64)> = None;
    while reader.slices_left() > 0 {
        if let Some((min, max)) = extremes(&reader.read_slices(slab)?) {
            whole = Some(whole.map_or((min, max), |(a, b)| (a.min(min), b.max(max))));
        }
        bar.inc(slab.into());
    }
    bar.finish_and_clear();
    Ok(range_of(whole))
}

/// `walloc encode` of a volume at `rate`, read slab by slab (once per
/// probe of a rate search).
pub fn encode(
    input: &Path,
    output: &Path,
    model: Option<&str>,
    args: &VolumeArgs,
    options: &EncodeOptions,
    rate: Rate,
) -> Result<()> {
    if is_tiff_path(input) {
        return encode_cube_file(input, output, model, args, options, rate);
    }
    let model = volume_model(model)?;
    let raw = args.raw_layout()?;
    let range = match args.range {
        Some(range) => range,
        None => scan_range(input, raw, args.slab.max(1))?,
    };
    let file = at_rate(rate, &model, |step| {
        let mut reader = VolumeReader::open(input, raw)?;
        let spec = VolumeSpec {
            geometry: reader.geometry,
            slab_depth: args.slab,
            coder: options.coder,
            step,
            rdo: options.rdo,
            ..VolumeSpec::new(reader.shape, reader.channels, reader.sample_type, range)
        };
        let context = || format!("encoding {} with {}", input.display(), model.config().name);
        let mut encoder = walloc::volume::encoder(&model, &spec).with_context(context)?;
        let slab = encoder.header().slab_depth;
        let bar = progress(u64::from(reader.shape[0]), "encoding");
        while reader.slices_left() > 0 {
            encoder.push_slices(reader.read_slices(slab)?).with_context(context)?;
            bar.inc(slab.into());
        }
        bar.finish_and_clear();
        encoder.finish().with_context(context)
    })?;
    write_output(output, &file)
}

/// `walloc decode` of a volume file, slab by slab into `output`, or whole
/// into a TIFF cube.
pub fn decode(bytes: &[u8], output: &Path, model: &Model) -> Result<()> {
    if is_tiff_path(output) {
        let (signal, header) = walloc::volume::decode_volume(model, bytes, &DecodeOptions::default())?;
        let cube = Cube::from_volume(header.shape, header.channels, signal.into_samples(), header.tags)?;
        return write_output(output, &encode_cube(&cube)?);
    }
    let format = VolumeFormat::of(output).with_context(|| {
        format!(
            "{}: name the output .nii, .nii.gz, .npy, .raw or .tif",
            output.display()
        )
    })?;
    let mut decoder = VolumeDecoder::new(model, bytes, &DecodeOptions::default())?;
    let header = decoder.header().clone();
    let bar = progress(u64::from(header.slabs()), "decoding");
    write_atomically(output, |sink| {
        let mut writer = VolumeWriter::new(
            sink,
            format,
            header.shape,
            header.channels,
            header.sample_type,
            &header.geometry,
        )?;
        while let Some(slab) = decoder.next_slab() {
            writer.write_samples(&slab?)?;
            bar.inc(1);
        }
        writer.finish()?;
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// Arguments of `fit-linear-volume`.
#[derive(clap::Args, Debug)]
pub struct FitVolumeArgs {
    /// Folder of training volumes (.nii, .nii.gz, .npy) or spectral cubes
    /// (multi-band .tif), all of one channel count.
    #[arg(long)]
    pub data: PathBuf,
    /// Output model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Axes of the wavelet packets: 3 (over slabs) or 2 (over each slice:
    /// a cube's bands as channels).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=3))]
    pub dims: u32,
    /// Wavelet packet levels J (1 to 3 for 3-D packets, 1 to 6 for 2-D):
    /// 2^(dims·J) packets per voxel channel.
    #[arg(long, default_value_t = 2)]
    pub levels: u32,
    /// Latent channels; dimensionality reduction is channels·2^(dims·J) /
    /// latent-dim.
    #[arg(long)]
    pub latent_dim: u32,
    /// How training bricks are cut.
    #[command(flatten)]
    pub bricks: BrickArgs,
    /// Seed, step scale, name and held-out data, as `fit-linear` takes them.
    #[command(flatten)]
    pub shared: FitShared,
}

/// How training bricks are cut from volumes and cubes
/// (`fit-linear-volume`, `fit-decoders`).
#[derive(clap::Args, Debug)]
pub struct BrickArgs {
    /// Spectral cubes: their bands as depth or as channels [default:
    /// channels for 2-D packets, else depth].
    #[arg(long, value_enum)]
    pub bands: Option<Bands>,
    /// Side of the cubic (for 2-D packets, square) training bricks (a
    /// multiple of 2^J, at least 10·2^(J−1): 20 at J = 2, 40 at J = 3).
    #[arg(long, default_value_t = 32)]
    pub brick: u32,
    /// Random bricks taken from each volume.
    #[arg(long, default_value_t = 256)]
    pub bricks_per_volume: u32,
}

impl BrickArgs {
    /// Where the bands of cubes go for packets of `dims` axes.
    pub fn band_axis(&self, dims: u32) -> BandAxis {
        self.bands.map_or(
            if dims == 2 { BandAxis::Channels } else { BandAxis::Depth },
            BandAxis::from,
        )
    }

    /// Random bricks (positions from `seed`) of every volume or cube in
    /// `dir` with as many channels as the first, for packets of `dims`
    /// axes and `levels` levels, each normalized by its own range as the
    /// encoder normalizes it; with their channel count and the files read.
    pub fn load(&self, dir: &Path, dims: u32, levels: u32, seed: u64) -> Result<(Vec<Vec<f32>>, usize, Vec<PathBuf>)> {
        let multiple = 1u32 << levels;
        // Bricks as thin as the filters at the last level would be
        // transformed unlike the padded slabs the encoder sees.
        let least = walloc_codec::volume::padded_len(1, levels as u8, 10) as u32;
        if self.brick < least || !self.brick.is_multiple_of(multiple) || self.brick > 256 {
            bail!(
                "--brick {} must be a multiple of 2^levels = {multiple} from {least} (the filters' reach at J = {levels}) to 256",
                self.brick
            );
        }
        let files = volume_files(dir)?;
        let mut sampler = PieceSampler::new(seed);
        let bar = progress(files.len() as u64, "sampling");
        let mut bricks = Vec::new();
        let mut channels = None;
        let side = self.brick as usize;
        let brick = if dims == 2 { [1, side, side] } else { [side; 3] };
        for path in &files {
            bar.inc(1);
            let signal =
                read_signal(path, self.band_axis(dims)).with_context(|| format!("reading {}", path.display()))?;
            let c = *channels.get_or_insert(signal.channels());
            if signal.channels() != c {
                bar.suspend(|| eprintln!("skipping {}: {} channels, not {c}", path.display(), signal.channels()));
                continue;
            }
            let planar = normalized_planar(signal.samples(), c, data_range(signal.samples()));
            let [d, h, w] = [signal.shape()[0], signal.shape()[1], signal.shape()[2]];
            bricks.extend(sampler.bricks(&planar, c, [d, h, w], brick, self.bricks_per_volume));
        }
        bar.finish_and_clear();
        if bricks.is_empty() {
            bail!("no volume of at least {brick:?} voxels in {}", dir.display());
        }
        Ok((bricks, channels.unwrap_or(1), files))
    }
}

/// `model` with its figures on the volumes and cubes (bands on `axis`) of
/// `dir` stored as `dataset` (each scan's printed).
pub fn with_volume_figures(model: Model, dir: &Path, axis: BandAxis, dataset: &str) -> Result<Model> {
    let volumes = load_volumes(dir, axis)?;
    let (figures, rows) = volume_figures(&model, &volumes, dataset)?;
    for row in &rows {
        eprintln!(
            "{}: {:.4} bits/voxel ({:.1}:1), {:.2} dB PSNR over its range, encode {:.1} Mvox/s, decode {:.1} Mvox/s",
            row.name, row.bits_per_voxel, row.ratio, row.psnr_db, row.encode_mvox_s, row.decode_mvox_s
        );
    }
    with_figures(model, figures)
}

fn volume_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = files_in(dir, |p| p.is_file() && (is_volume_path(p) || is_cube(p)))?;
    if files.is_empty() {
        bail!("no volume (.nii, .nii.gz, .npy) or cube (.tif) in {}", dir.display());
    }
    Ok(files)
}

/// A volume file, or a cube with its bands on `axis`, as a signal.
fn read_signal(path: &Path, axis: BandAxis) -> Result<Signal> {
    let signal = if is_tiff_path(path) {
        cube_volume(path, axis)?.0
    } else {
        read_volume(path, None)?.0
    };
    Ok(signal)
}

/// The volumes (and cubes, their bands on `axis`) of a folder, whole.
pub fn load_volumes(dir: &Path, axis: BandAxis) -> Result<Vec<Volume>> {
    let files = volume_files(dir)?;
    let bar = progress(files.len() as u64, "loading");
    let volumes = files
        .iter()
        .map(|path| {
            bar.inc(1);
            let signal = read_signal(path, axis).with_context(|| format!("reading {}", path.display()))?;
            Ok(Volume {
                name: file_name(path),
                signal,
                bands: is_tiff_path(path).then_some(axis),
            })
        })
        .collect();
    bar.finish_and_clear();
    volumes
}

/// Runs `fit-linear-volume`.
pub fn fit(args: &FitVolumeArgs) -> Result<()> {
    let (bricks, channels, files) = args.bricks.load(&args.data, args.dims, args.levels, args.shared.seed)?;
    let description = format!(
        "linear WaLLoC, {}{}-D volumes, J={}, {} latent channels",
        if channels > 1 {
            format!("{channels}-channel ")
        } else {
            String::new()
        },
        args.dims,
        args.levels,
        args.latent_dim
    );
    let mut options = args.shared.options(
        &args.output,
        [channels as u32, args.levels, args.latent_dim],
        description,
        serde_json::Value::Null,
    );
    options.check(Modality::Volume)?;
    options.provenance = serde_json::json!({
        "method": format!("PCA of {}-D wavelet-packet coefficients of range-normalized bricks, reverse water-filling \
                   step, least-squares decoder", args.dims),
        "data": folder_name(&args.data),
        "files": files.iter().map(|f| file_name(f)).collect::<Vec<_>>(),
        "bricks": bricks.len(),
        "brick_side": args.bricks.brick,
        "seed": args.shared.seed,
        "step_scale": args.shared.step_scale,
    });
    eprintln!(
        "fitting on {} bricks of side {} ({channels} channels)",
        bricks.len(),
        args.bricks.brick
    );
    let mut model = fit_linear_volume(&bricks, args.dims, args.bricks.brick as usize, &options)?;
    drop(bricks);
    if let Some((dir, set)) = args.shared.held_out.validation() {
        model = with_volume_figures(model, dir, args.bricks.band_axis(args.dims), &set)?;
    }
    write_output(&args.output, model.to_bytes())?;
    eprintln!("wrote {} (id {})", args.output.display(), model.id().short());
    Ok(())
}
