//! Training a linear, residual or refine codec end to end through the
//! noisy bottleneck: burn's autodiff on the CPU, AdamW, MSE on the
//! wavelet-packet coefficients. Training starts from the model it is given
//! (for a fresh run, the closed-form PCA model of `walloc_codec::fit`,
//! with a refiner whose output starts at zero), so it starts as the linear
//! codec, not from noise.
//!
//! Parameters carry fixed ids (their order in the codec), so that the
//! optimizer state saved in a checkpoint finds them again on `--resume`.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::module::{ModuleMapper, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use safetensors::tensor::Dtype;
use walloc_codec::bottleneck::Bottleneck;
use walloc_codec::model::TensorBytes;
use walloc_codec::Model;
use walloc_codec::{Architecture, Step};

use crate::error::NnError;
use crate::linear::LinearCodec;

/// What to train, beyond the model training starts from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainOptions {
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// AdamW's ε, added to the root of the second moment. Keep it well
    /// below the gradients: with burn's default (1e-5) the small gradients
    /// of a quiet signal (audio errors of 1e-3) stall the inner layers.
    pub epsilon: f32,
    /// A fresh refiner to add, `(hidden, blocks)`, when the model has none.
    pub refiner: Option<(usize, usize)>,
    /// Keep the encoder fixed (the latents, and so the rate, stay the start's).
    pub freeze_encoder: bool,
    /// Weight λ of the rate penalty, LiVeAction's proxy: the loss is
    /// `MSE + λ · mean over latent channels of log2 std(latent)` (0: none).
    pub rate_weight: f32,
    /// Train the refiner across the quantizer steps from the first to the
    /// second (finest to coarsest), reading the step: each batch is coded
    /// at a step drawn uniformly among them, as the codec quantizes and
    /// dequantizes it. Needs a refiner and a frozen one-stage encoder.
    pub steps: Option<[Step; 2]>,
}

impl Default for TrainOptions {
    /// No weight decay, ε = 1e-8 (PyTorch's, the reference's), nothing added
    /// or frozen, no rate penalty.
    fn default() -> Self {
        TrainOptions {
            weight_decay: 0.0,
            epsilon: 1e-8,
            refiner: None,
            freeze_encoder: false,
            rate_weight: 0.0,
            steps: None,
        }
    }
}

fn error(message: impl Into<String>) -> NnError {
    NnError::Training(message.into())
}

/// A batch of wavelet-packet coefficients `[batch, D, h, w]`, row-major.
pub struct Batch {
    /// The values.
    pub values: Vec<f32>,
    /// `[batch, D, h, w]`.
    pub shape: [usize; 4],
}

/// A codec being trained, with its optimizer.
pub struct CodecTrainer {
    codec: Option<LinearCodec>,
    rate_weight: f32,
    optimizer: ModuleOptimizer,
    device: Device,
    steps: Option<StepTraining>,
}

/// Training across quantizer steps: the model whose quantizer and
/// reconstruction values each step uses, the steps' range, and the state
/// of the draw.
struct StepTraining {
    model: Model,
    range: [Step; 2],
    draw: AtomicU64,
}

impl StepTraining {
    /// The next step, uniform over the range's codes (splitmix64).
    fn next(&self) -> Step {
        let mut x = self.draw.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        let [low, high] = self.range.map(|s| i64::from(s.code()));
        let code = low + (x % (high - low + 1) as u64) as i64;
        Step::from_code(code as i8).expect("a code between two steps' codes is a step")
    }

    /// The steps validation measures: both ends of the range and its middle.
    fn probes(&self) -> [Step; 3] {
        let [low, high] = self.range;
        let middle = ((i16::from(low.code()) + i16::from(high.code())) / 2) as i8;
        [
            low,
            Step::from_code(middle).expect("a code between two steps' codes is a step"),
            high,
        ]
    }

    /// The frozen encoder's latent values of coefficients `x`, before the
    /// bottleneck.
    fn latent(&self, codec: &LinearCodec, x: Tensor<4>) -> Result<Tensor<4>, NnError> {
        codec
            .latent_values(x)
            .ok_or_else(|| error("training across steps needs a one-stage encoder"))
    }

    /// Latent values `[batch, K, h, w]` quantized at `step` and decoded to
    /// the values the codec's decoder reads there.
    fn dequantized(&self, z: Tensor<4>, step: Step, device: &Device) -> Result<Tensor<4>, NnError> {
        let dims = z.dims();
        let plane = dims[2] * dims[3];
        let values: Vec<f32> = z
            .into_data()
            .try_to_vec()
            .map_err(|e| error(format!("reading the latent: {e:?}")))?;
        let bottleneck = Bottleneck::at_step(self.model.config().latent_bits, step);
        let dequantizer = self.model.dequantizer(step);
        let channels = dims[1];
        let decoded = values
            .iter()
            .enumerate()
            .map(|(i, &z)| dequantizer.value((i / plane) % channels, bottleneck.quantize(z)))
            .collect();
        Ok(Tensor::from_data(TensorData::new(decoded, dims), device))
    }
}

impl CodecTrainer {
    /// Starts training from `model` (a `linear`, `residual` or `refine`
    /// model file).
    pub fn new(model: &Model, options: TrainOptions) -> Result<Self, NnError> {
        if !matches!(
            model.config().architecture,
            Architecture::Linear | Architecture::Residual | Architecture::Refine
        ) {
            return Err(error(format!(
                "model {} is not a linear, residual or refine codec",
                model.config().name
            )));
        }
        let device = Device::default().autodiff();
        let mut codec = LinearCodec::load(model, &device)?;
        if let (Some((hidden, blocks)), None) = (options.refiner, codec.refiner()) {
            codec = codec.with_refiner(hidden, blocks, &device);
        }
        if options.freeze_encoder {
            codec = codec.freeze_encoder();
        }
        let steps = match options.steps {
            Some(range) => {
                let one_stage = model.config().architecture != Architecture::Residual;
                if codec.refiner().is_none() || !options.freeze_encoder || !one_stage || range[0] > range[1] {
                    return Err(error(
                        "training across steps needs a refiner, a frozen one-stage encoder and a range from finer to coarser",
                    ));
                }
                codec = codec.with_step_input();
                Some(StepTraining {
                    model: model.clone(),
                    range,
                    draw: AtomicU64::new(0),
                })
            }
            None => None,
        };
        let codec = codec.map(&mut SequentialIds(0));
        let optimizer = AdamWConfig::new()
            .with_weight_decay(options.weight_decay)
            .with_epsilon(options.epsilon)
            .init();
        Ok(CodecTrainer {
            codec: Some(codec),
            rate_weight: options.rate_weight,
            optimizer,
            device,
            steps,
        })
    }

    /// Seeds the noise of the bottleneck (burn's generator, which may be
    /// global to the process) and the draw of the steps.
    pub fn seed(&self, seed: u64) {
        self.device.seed(seed);
        if let Some(steps) = &self.steps {
            steps.draw.store(seed, Ordering::Relaxed);
        }
    }

    /// The device training runs on (burn's default: a GPU when walloc is
    /// built with `vulkan` or `wgpu`, else the CPU).
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn codec(&self) -> &LinearCodec {
        self.codec.as_ref().expect("the codec is only taken during a step")
    }

    fn tensor(&self, batch: &Batch) -> Result<Tensor<4>, NnError> {
        let expected: usize = batch.shape.iter().product();
        if batch.values.len() != expected {
            return Err(error(format!(
                "batch of {} values for shape {:?}",
                batch.values.len(),
                batch.shape
            )));
        }
        Ok(Tensor::from_data(
            TensorData::new(batch.values.clone(), batch.shape),
            &self.device,
        ))
    }

    /// One optimisation step at `learning_rate` (uniform noise in the
    /// bottleneck); returns the batch's mean squared error.
    pub fn step(&mut self, batch: &Batch, learning_rate: f64) -> Result<f64, NnError> {
        let x = self.tensor(batch)?;
        if let Some(steps) = &self.steps {
            let step = steps.next();
            let z = steps.latent(self.codec(), x.clone())?;
            let decoded = self.codec().decode(steps.dequantized(z, step, &self.device)?, step);
            let mse = (decoded - x).powi_scalar(2).mean();
            let value = scalar(mse.clone())?;
            let codec = self.codec.take().expect("the codec is only taken during a step");
            // log MSE: each step's error counts by its relative change, so
            // the coarse steps' larger errors do not drown the fine ones'.
            let grads = GradientsParams::from_grads(mse.log().backward(), &codec);
            self.codec = Some(self.optimizer.step(learning_rate, codec, grads));
            return Ok(value);
        }
        let codec = self.codec.take().expect("the codec is only taken during a step");
        let output = codec.forward(x.clone(), true);
        let mse = (output.coefficients - x).powi_scalar(2).mean();
        let value = scalar(mse.clone())?;
        let loss = if self.rate_weight > 0.0 {
            mse + rate_proxy(output.latent).mul_scalar(self.rate_weight)
        } else {
            mse
        };
        let grads = GradientsParams::from_grads(loss.backward(), &codec);
        self.codec = Some(self.optimizer.step(learning_rate, codec, grads));
        Ok(value)
    }

    /// The mean squared error of a batch through the rounding bottleneck
    /// (outside autodiff: validation keeps no graph); trained across
    /// steps, the geometric mean of the errors at the range's ends and
    /// middle, so that a gain at any step counts alike.
    pub fn validate(&self, batch: &Batch) -> Result<f64, NnError> {
        let x = self.tensor(batch)?.without_autodiff();
        let codec = self.codec().valid();
        let Some(steps) = &self.steps else {
            let output = codec.forward(x.clone(), false);
            return scalar((output.coefficients - x).powi_scalar(2).mean());
        };
        let probes = steps.probes();
        // One latent, quantized at each probe's step.
        let z = steps.latent(&codec, x.clone())?;
        let mut log_sum = 0.0;
        for step in probes {
            let normal = steps.dequantized(z.clone(), step, &x.device())?;
            let mse = scalar((codec.decode(normal, step) - x.clone()).powi_scalar(2).mean())?;
            log_sum += mse.max(f64::MIN_POSITIVE).ln();
        }
        Ok((log_sum / probes.len() as f64).exp())
    }

    /// The rate proxy of a batch's rounded latents (mean over channels of
    /// log2 of their standard deviation, in quantization steps).
    pub fn rate_proxy(&self, batch: &Batch) -> Result<f64, NnError> {
        let x = self.tensor(batch)?.without_autodiff();
        scalar(rate_proxy(self.codec().valid().forward(x, false).latent))
    }

    /// The optimizer's state (AdamW moments), for a checkpoint.
    pub fn optimizer_state(&self) -> Result<Vec<u8>, NnError> {
        optimizer_bytes(&self.optimizer)
    }

    /// Restores the optimizer's state saved by [`CodecTrainer::optimizer_state`]
    /// (on an error the optimizer starts afresh).
    pub fn load_optimizer_state(&mut self, bytes: Vec<u8>) -> Result<(), NnError> {
        restore_optimizer(&mut self.optimizer, bytes)
    }

    /// `base` with the trained weights (its entropy tables unchanged: count
    /// them again on data) and without step decoders; a new refiner makes
    /// it a `refine` model.
    pub fn export(&self, base: &Model) -> Result<Model, NnError> {
        let mut trained = Vec::new();
        for (name, conv) in self.codec().named_convs() {
            let mut weight = tensor_bytes(&format!("{name}.weight"), conv.weight.val())?;
            // Audio files store the 1×1 projections as `Conv1d` weights.
            if self.codec().signal_dim() == 1 && !name.starts_with(crate::refine::PREFIX) {
                weight.shape.truncate(3);
            }
            trained.push(weight);
            if let Some(bias) = &conv.bias {
                trained.push(tensor_bytes(&format!("{name}.bias"), bias.val())?);
            }
        }
        // Step decoders were fitted to the base's decoder and encoder, which
        // training changes: the trained model has none, and its own id.
        let base = &if base.config().step_decoders.is_empty() {
            base.clone()
        } else {
            base.with_step_decoders(&[], &[]).map_err(|e| error(e.to_string()))?
        };
        let base_config = base.config();
        let config = self.codec().refiner().and_then(|refiner| {
            let changed = base_config.architecture != Architecture::Refine
                || base_config.step_conditioned != refiner.reads_step();
            changed.then(|| {
                let mut config = base_config.clone();
                config.architecture = Architecture::Refine;
                config.hidden = Some(refiner.hidden() as u32);
                config.blocks = Some(refiner.depth() as u32);
                config.step_conditioned = refiner.reads_step();
                config
            })
        });
        base.with_weights(&trained, config).map_err(|e| error(e.to_string()))
    }
}

/// An optimizer's state (AdamW moments) as bytes, for a checkpoint.
pub(crate) fn optimizer_bytes(optimizer: &ModuleOptimizer) -> Result<Vec<u8>, NnError> {
    let bytes = optimizer
        .into_bytes()
        .map_err(|e| error(format!("saving the optimizer state: {e:?}")))?;
    Ok(bytes.to_vec())
}

/// Restores an optimizer's state saved by [`optimizer_bytes`] (on an
/// error the optimizer starts afresh).
pub(crate) fn restore_optimizer(optimizer: &mut ModuleOptimizer, bytes: Vec<u8>) -> Result<(), NnError> {
    let current = std::mem::replace(optimizer, AdamWConfig::new().init());
    *optimizer = current
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| error(format!("reading the optimizer state: {e:?}")))?;
    Ok(())
}

/// What a training run needs of the model it trains, whatever its
/// architecture: [`CodecTrainer`] for WaLLoC's linear, residual and refine
/// codecs, [`crate::liveaction::train::LiveActionTrainer`] for LiVeAction.
pub trait Trainer {
    /// Seeds the noise of the quantizer.
    fn seed(&self, seed: u64);
    /// The device training runs on, in words.
    fn device_name(&self) -> String;
    /// One optimisation step at `learning_rate`, `progress` (0 to 1) into
    /// the run; returns the batch's mean squared error.
    fn step(&mut self, batch: &Batch, learning_rate: f64, progress: f64) -> Result<f64, NnError>;
    /// The mean squared error of a batch through the rounding quantizer.
    fn validate(&self, batch: &Batch) -> Result<f64, NnError>;
    /// The optimizer's state, for a checkpoint.
    fn optimizer_state(&self) -> Result<Vec<u8>, NnError>;
    /// Restores the optimizer's state from a checkpoint.
    fn load_optimizer_state(&mut self, bytes: Vec<u8>) -> Result<(), NnError>;
    /// `base` with the trained weights.
    fn export(&self, base: &Model) -> Result<Model, NnError>;
}

impl Trainer for CodecTrainer {
    fn seed(&self, seed: u64) {
        CodecTrainer::seed(self, seed);
    }

    fn device_name(&self) -> String {
        format!("{:?}", self.device())
    }

    fn step(&mut self, batch: &Batch, learning_rate: f64, _: f64) -> Result<f64, NnError> {
        CodecTrainer::step(self, batch, learning_rate)
    }

    fn validate(&self, batch: &Batch) -> Result<f64, NnError> {
        CodecTrainer::validate(self, batch)
    }

    fn optimizer_state(&self) -> Result<Vec<u8>, NnError> {
        CodecTrainer::optimizer_state(self)
    }

    fn load_optimizer_state(&mut self, bytes: Vec<u8>) -> Result<(), NnError> {
        CodecTrainer::load_optimizer_state(self, bytes)
    }

    fn export(&self, base: &Model) -> Result<Model, NnError> {
        CodecTrainer::export(self, base)
    }
}

/// LiVeAction's rate proxy: the mean over latent channels of log2 of the
/// channel's standard deviation (over batch and positions). A latent of
/// smaller spread costs fewer bits under the per-channel entropy tables.
fn rate_proxy(latent: Tensor<4>) -> Tensor<1> {
    let k = latent.dims()[1];
    let per_channel: Tensor<2> = latent.swap_dims(0, 1).reshape([k as i64, -1]);
    let centered = per_channel.clone() - per_channel.mean_dim(1);
    let variance = centered.powi_scalar(2).mean_dim(1);
    variance
        .add_scalar(1e-6)
        .sqrt()
        .log()
        .mean()
        .div_scalar(std::f64::consts::LN_2)
}

/// Gives a module's parameters the ids 1, 2, … in the module's order.
pub(crate) struct SequentialIds(pub(crate) u64);

impl ModuleMapper for SequentialIds {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.0 += 1;
        Param::initialized(ParamId::from(self.0), param.val())
    }
}

/// The single value of a loss tensor.
pub(crate) fn scalar(t: Tensor<1>) -> Result<f64, NnError> {
    let values: Vec<f32> = t.into_data().try_to_vec().map_err(|e| error(format!("{e:?}")))?;
    values.first().map(|&v| f64::from(v)).ok_or_else(|| error("empty loss"))
}

/// A tensor as a tensor of a model file, under `name`, in its own shape.
pub(crate) fn tensor_bytes<const D: usize>(name: &str, t: Tensor<D>) -> Result<TensorBytes, NnError> {
    let shape = t.dims().to_vec();
    let values: Vec<f32> = t.into_data().try_to_vec().map_err(|e| error(format!("{e:?}")))?;
    Ok(TensorBytes {
        name: name.to_string(),
        dtype: Dtype::F32,
        shape,
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use walloc_codec::fit::{fit_linear, FitOptions};
    use walloc_codec::image::to_padded_signal;
    use walloc_codec::Image8;
    use walloc_wavelet::{packet, FilterBank};

    /// Smooth gray test images with edges, `side`² each.
    fn images(count: u32, side: u32) -> Vec<Image8> {
        (0..count)
            .map(|k| {
                let pixels = (0..side * side)
                    .map(|i| {
                        let (x, y) = (i % side, i / side);
                        let edge = if (x + k * 3) % 16 < 8 { 40 } else { 0 };
                        ((x * (k + 1) + y * 2 + edge) % 200 + 20) as u8
                    })
                    .collect();
                Image8::new(side, side, 1, pixels).unwrap()
            })
            .collect()
    }

    /// The images' J = 1 packet coefficients as one batch.
    fn batch(images: &[Image8]) -> Batch {
        let bank = FilterBank::by_name("bior4.4").unwrap();
        let mut values = Vec::new();
        let mut shape = [images.len(), 0, 0, 0];
        for image in images {
            let coefficients = packet::forward(&bank, to_padded_signal(image, 2), 1).unwrap();
            shape[1..].copy_from_slice(&[coefficients.channels, coefficients.shape[0], coefficients.shape[1]]);
            values.extend_from_slice(&coefficients.data);
        }
        Batch { values, shape }
    }

    fn fit_options([channels, levels, latent_dim]: [u32; 3]) -> FitOptions {
        FitOptions {
            name: "t".into(),
            description: "test".into(),
            channels,
            levels,
            latent_dim,
            latent_bits: 8,
            wavelet: "bior4.4".into(),
            step_scale: 1.0,
            step_decoders: Vec::new(),
            step_decoder_neighbours: false,
            provenance: serde_json::json!({}),
        }
    }

    fn pca_model(images: &[Image8]) -> Model {
        fit_linear(images, &fit_options([1, 1, 2])).unwrap()
    }

    /// A refiner 8 wide and 1 deep on `model`'s frozen encoder, trained 80
    /// steps on `data`: it starts exactly as the linear codec and lowers its
    /// error by 10 % at least.
    fn trained_refiner(model: &Model, data: &Batch) -> CodecTrainer {
        let options = TrainOptions {
            refiner: Some((8, 1)),
            freeze_encoder: true,
            ..TrainOptions::default()
        };
        let linear = CodecTrainer::new(model, TrainOptions::default()).unwrap();
        let mut trainer = CodecTrainer::new(model, options).unwrap();
        let start = trainer.validate(data).unwrap();
        assert!((start - linear.validate(data).unwrap()).abs() < 1e-12 * start.max(1.0));
        for _ in 0..80 {
            trainer.step(data, 3e-3).unwrap();
        }
        let after = trainer.validate(data).unwrap();
        assert!(after < 0.9 * start, "MSE {start} → {after}");
        trainer
    }

    #[test]
    fn training_lowers_the_error_of_a_damaged_codec_and_exports_it() {
        let images = images(6, 32);
        let data = batch(&images);
        let model = pca_model(&images);
        // Halve the decoder: the codec is now far from its optimum.
        let trainer = CodecTrainer::new(&model, TrainOptions::default()).unwrap();
        let (name, decoder) = trainer.codec().named_convs().pop().unwrap();
        assert_eq!(name, "decoder.1");
        let halved = tensor_bytes("decoder.1.weight", decoder.weight.val().mul_scalar(0.5)).unwrap();
        let damaged = model.with_weights(&[halved], None).unwrap();

        let mut trainer = CodecTrainer::new(&damaged, TrainOptions::default()).unwrap();
        let before = trainer.validate(&data).unwrap();
        for _ in 0..60 {
            trainer.step(&data, 3e-3).unwrap();
        }
        let after = trainer.validate(&data).unwrap();
        assert!(after < 0.5 * before, "MSE {before} → {after}");

        // The exported model carries the trained weights.
        let exported = trainer.export(&damaged).unwrap();
        let again = CodecTrainer::new(&exported, TrainOptions::default()).unwrap();
        assert!((again.validate(&data).unwrap() - after).abs() < 1e-9 * after.max(1.0));
        assert_ne!(exported.id(), damaged.id());

        // A checkpoint (weights and AdamW state) resumes exactly: the next
        // step, with the same noise, lands where the uninterrupted run does;
        // without the state it does not. (One test: the seed is global.)
        let state = trainer.optimizer_state().unwrap();
        let mut resumed = CodecTrainer::new(&exported, TrainOptions::default()).unwrap();
        resumed.load_optimizer_state(state).unwrap();
        let mut restarted = CodecTrainer::new(&exported, TrainOptions::default()).unwrap();
        let next = |t: &mut CodecTrainer| {
            t.seed(7);
            t.step(&data, 3e-3).unwrap();
            t.validate(&data).unwrap()
        };
        let (uninterrupted, resumed, restarted) = (next(&mut trainer), next(&mut resumed), next(&mut restarted));
        assert!((uninterrupted - resumed).abs() < 1e-12, "{uninterrupted} vs {resumed}");
        assert!(
            (uninterrupted - restarted).abs() > 1e-9,
            "{uninterrupted} vs {restarted}"
        );
        assert!(trainer.load_optimizer_state(b"not a burnpack".to_vec()).is_err());
    }

    #[test]
    fn a_rate_penalty_narrows_the_latent() {
        let images = images(6, 32);
        let data = batch(&images);
        let model = pca_model(&images);
        let train = |rate_weight: f32| {
            let options = TrainOptions {
                rate_weight,
                ..TrainOptions::default()
            };
            let mut trainer = CodecTrainer::new(&model, options).unwrap();
            trainer.seed(5);
            for _ in 0..60 {
                trainer.step(&data, 3e-3).unwrap();
            }
            (trainer.rate_proxy(&data).unwrap(), trainer.validate(&data).unwrap())
        };
        let (plain_rate, plain_mse) = train(0.0);
        let (penalized_rate, penalized_mse) = train(0.05);
        // Fewer bits per latent (a tenth of a bit at least), paid in error.
        assert!(penalized_rate < plain_rate - 0.1, "{plain_rate} → {penalized_rate}");
        assert!(penalized_mse > plain_mse, "{plain_mse} → {penalized_mse}");
    }

    /// Stereo segments of `length` frames: tones and a square wave, planar.
    fn stereo_segments(count: usize, length: usize) -> Vec<Vec<f32>> {
        (0..count)
            .map(|s| {
                (0..2 * length)
                    .map(|i| {
                        let (c, t) = (i / length, i % length);
                        let f = 0.02 + 0.004 * s as f32 + 0.003 * c as f32;
                        let square = if (t / 24 + s) % 2 == 0 { 0.1 } else { -0.1 };
                        0.3 * (t as f32 * f).sin() + square
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn an_audio_refiner_trains_along_time_and_decodes_blocks() {
        use walloc_codec::fit::fit_linear_audio;
        use walloc_wavelet::Signal;

        let (length, levels) = (512, 3);
        let segments = stereo_segments(6, length);
        let model = fit_linear_audio(&segments, &fit_options([2, levels, 3])).unwrap();
        let bank = FilterBank::by_name("bior4.4").unwrap();
        let signal = |planar: &Vec<f32>| Signal::new(planar.clone(), 2, vec![length]).unwrap();
        let mut values = Vec::new();
        for planar in &segments {
            values.extend(packet::forward(&bank, signal(planar), levels).unwrap().data);
        }
        // Audio batches are `[n, D, 1, positions]`.
        let data = Batch {
            values,
            shape: [segments.len(), 16, 1, length >> levels],
        };
        let trainer = trained_refiner(&model, &data);

        // The file keeps the audio layout of the linear parts, and reads back.
        let exported = trainer.export(&model).unwrap();
        let reread = Model::from_bytes(exported.to_bytes().to_vec()).unwrap();
        assert_eq!(reread.config().architecture, Architecture::Refine);
        assert_eq!(reread.weights().encoder_weight, model.weights().encoder_weight);

        // Decoding a block with the refiner beats the linear decoder.
        let registry = crate::registry();
        let latent = registry
            .encoder(&reread)
            .unwrap()
            .analyze(signal(&segments[0]))
            .unwrap();
        let error = |samples: Vec<f32>| {
            samples
                .iter()
                .zip(&segments[0])
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
        };
        let decode = |model: &Model| {
            let decoder = registry.decoder(model, &Default::default()).unwrap();
            decoder.synthesize(&latent).unwrap().data
        };
        let (refined, plain) = (error(decode(&reread)), error(decode(&model)));
        assert!(refined < 0.95 * plain, "squared error {plain} → {refined}");
    }

    #[test]
    fn a_refiner_starts_as_the_linear_codec_improves_it_and_tiles_exactly() {
        use crate::decode::{decode_coefficients, Tiling};
        use crate::networks::{load_image_decoder, ImageDecoder};

        let images = images(6, 32);
        let data = batch(&images);
        let model = pca_model(&images);
        let trainer = trained_refiner(&model, &data);
        let after = trainer.validate(&data).unwrap();

        // A refine model whose encoder (so whose latents) did not move.
        let exported = trainer.export(&model).unwrap();
        let config = exported.config();
        assert_eq!(
            (config.architecture, config.hidden, config.blocks),
            (Architecture::Refine, Some(8), Some(1))
        );
        assert_eq!(exported.weights().encoder_weight, model.weights().encoder_weight);
        let again = CodecTrainer::new(&exported, TrainOptions::default()).unwrap();
        assert!((again.validate(&data).unwrap() - after).abs() < 1e-9 * after.max(1.0));

        // Tiles with an overlap of the refiner's radius decode exactly; with
        // less, the seams show.
        let device = Device::default();
        let decoder = load_image_decoder(&exported, &device).unwrap();
        let radius = match &decoder {
            ImageDecoder::Refine(codec) => codec.refiner().unwrap().radius(),
            ImageDecoder::Kl(_) => panic!("a refine model has a refine decoder"),
        };
        assert_eq!(radius, 4);
        let zhat: Vec<f32> = (0..2 * 20 * 20).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let decode = |tile, overlap| {
            decode_coefficients(
                |z| decoder.forward(z, Step::NATIVE),
                &zhat,
                [2, 20, 20],
                4,
                Tiling { tile, overlap },
                &device,
            )
            .unwrap()
        };
        let whole = decode(0, 0);
        let gap = |other: Vec<f32>| {
            whole
                .iter()
                .zip(&other)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(gap(decode(6, radius)) < 1e-5);
        assert!(gap(decode(6, 1)) > 1e-4);
    }

    #[test]
    fn a_refine_models_step_decoders_keep_its_files_and_beat_both_its_parts_at_other_steps() {
        use crate::step_refine::RefinerCorrection;
        use walloc_codec::fit::{fit_image_step_decoders, Refinement};
        use walloc_codec::{codec, EncodeOptions, Limits};

        let images = images(6, 32);
        let model = pca_model(&images);
        let refine = trained_refiner(&model, &batch(&images)).export(&model).unwrap();
        let codes = [30, 50];
        let refiner = RefinerCorrection::of(&refine).unwrap().unwrap();
        let refiner = Some(&refiner as &dyn Refinement);
        let fitted = fit_image_step_decoders(&refine, &images, &codes, false, refiner, &mut |_, _| {}).unwrap();
        assert_eq!(fitted.id(), refine.id(), "step decoders keep the id");
        let reread = Model::from_bytes(fitted.to_bytes().to_vec()).unwrap();
        assert_eq!(reread.config().step_decoders, codes);
        // Without its refiner a refine model's decoders are not fitted.
        let error = fit_image_step_decoders(&refine, &images, &codes, false, None, &mut |_, _| {}).unwrap_err();
        assert!(error.to_string().contains("around its refiner"), "{error}");
        let linear = fit_image_step_decoders(&model, &images, &codes, false, None, &mut |_, _| {}).unwrap();

        let registry = crate::registry();
        // Each model's file and squared error over the images it was fitted
        // on, with the encoders' default rounding, on which the fits round.
        let options = |step: Step| EncodeOptions::default().with_step(step);
        let coded = |model: &Model, step: Step| {
            let mut files = Vec::new();
            let mut error = 0.0;
            for image in &images {
                let file = codec::encode_with(&registry, model, image, options(step)).unwrap();
                let decoded: Image8 =
                    codec::decode_with(&registry, model, &file, &Limits::default(), &Default::default()).unwrap();
                error += decoded
                    .pixels
                    .iter()
                    .zip(&image.pixels)
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum::<f64>();
                files.push(file);
            }
            (files, error)
        };
        let (files, error) = coded(&reread, Step::NATIVE);
        assert_eq!(
            (files, error),
            coded(&refine, Step::NATIVE),
            "its own step decodes as before"
        );
        for code in codes {
            let step = Step::from_code(code).unwrap();
            let (files, ours) = coded(&reread, step);
            let (same, refined) = coded(&refine, step);
            let (_, linear) = coded(&linear, step);
            assert_eq!(files, same, "step code {code}: the same files");
            assert!(
                ours < refined && ours < linear,
                "step code {code}: squared error {ours} against {refined} (refiner on the own decoder) \
                 and {linear} (step decoders alone)"
            );
            let gain = reread.linear_decoder(step).refiner_gain.clone();
            assert!(gain.iter().any(|&g| g.abs() > 0.05), "step code {code}: gains {gain:?}");
        }
    }

    #[test]
    fn a_refiner_trained_across_steps_reads_the_step_and_beats_the_linear_decoder_at_each() {
        use walloc_codec::{codec, EncodeOptions, Limits};

        let images = images(6, 32);
        let data = batch(&images);
        let model = pca_model(&images);
        let base = trained_refiner(&model, &data).export(&model).unwrap();
        let (fine, coarse) = (Step::from_quality(100.0).unwrap(), Step::from_quality(20.0).unwrap());
        let options = TrainOptions {
            freeze_encoder: true,
            steps: Some([fine, coarse]),
            ..TrainOptions::default()
        };
        // Reading the step starts at zero weight: at first the refiner
        // corrects as the one it grows from, at every step.
        let mut trainer = CodecTrainer::new(&base, options).unwrap();
        trainer.seed(3);
        let start = trainer.validate(&data).unwrap();
        let device = Device::default();
        let plain = LinearCodec::load(&base, &device).unwrap();
        let reading = LinearCodec::load(&base, &device).unwrap().with_step_input();
        let normal = Tensor::<4>::from_data(
            TensorData::new(
                (0..2 * 16 * 16).map(|i| (i % 7) as f32 - 3.0).collect::<Vec<f32>>(),
                [1, 2, 16, 16],
            ),
            &device,
        );
        let gap = scalar(
            (plain.decode(normal.clone(), coarse) - reading.decode(normal, coarse))
                .abs()
                .max(),
        )
        .unwrap();
        assert_eq!(gap, 0.0);
        for _ in 0..200 {
            trainer.step(&data, 1e-3).unwrap();
        }
        let after = trainer.validate(&data).unwrap();
        assert!(after < 0.95 * start, "MSE across steps {start} → {after}");

        // The file says so, and decoding reads each file's step.
        let exported = trainer.export(&base).unwrap();
        let reread = Model::from_bytes(exported.to_bytes().to_vec()).unwrap();
        assert!(reread.config().step_conditioned);
        assert!(reread.config().architecture_label().contains("every step"));
        assert_eq!(reread.weights().encoder_weight, model.weights().encoder_weight);
        let registry = crate::registry();
        let squared_error = |model: &Model, step: Step| {
            let file =
                codec::encode_with(&registry, model, &images[0], EncodeOptions::default().with_step(step)).unwrap();
            let decoded: Image8 =
                codec::decode_with(&registry, model, &file, &Limits::default(), &Default::default()).unwrap();
            decoded
                .pixels
                .iter()
                .zip(&images[0].pixels)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>()
        };
        for step in [fine, Step::NATIVE, coarse] {
            let (refined, linear) = (squared_error(&reread, step), squared_error(&model, step));
            assert!(refined < linear, "{step}: squared error {linear} → {refined}");
        }
    }
}
