//! The reference's `LinearCodec2D` and `ResidualCodec2D` in burn, for
//! training on wavelet coefficients: 1×1 convolutions around the
//! bottleneck (noise in training, rounding in evaluation). A linear model
//! is one stage (`encoder.0`, `decoder.1`); a residual one has `stages`
//! (`encoders.i`, `decoders.i`), stage `i` coding what stages before it
//! left. A `refine` model is a linear one with a [`Refiner`] adding its
//! correction to the decoded coefficients. Sensors encode with
//! `walloc_codec::LinearEncoder`, which a test holds to the same integers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use walloc_codec::Model;
use walloc_codec::{Architecture, Step};

use crate::encoder::Bottleneck;
use crate::error::NnError;
use crate::refine::{Refiner, RefinerShape, KERNEL_1D, KERNEL_2D};
use crate::weights::Weights;

/// Stages of 1×1 encoders and decoders around a bottleneck, and a refine
/// model's refiner.
#[derive(Module, Debug)]
pub struct LinearCodec {
    encoders: Vec<Conv2d>,
    decoders: Vec<Conv2d>,
    refiner: Option<Refiner>,
    #[module(skip)]
    bottleneck: Bottleneck,
    #[module(skip)]
    residual: bool,
    #[module(skip)]
    train_encoder: bool,
    #[module(skip)]
    signal_dim: u32,
}

/// What [`LinearCodec::forward`] computes.
#[derive(Debug, Clone)]
pub struct LinearOutput {
    /// The reconstructed wavelet coefficients (the stages' sum).
    pub coefficients: Tensor<4>,
    /// The quantized (or, training, noisy) latents, stages' channels in order.
    pub latent: Tensor<4>,
}

/// A 1×1 projection read from `w.name`; audio files store its weight as
/// `[output, input, 1]` (a `Conv1d`), read here as `[output, input, 1, 1]`.
fn projection(
    w: &Weights,
    name: &str,
    [input, output]: [usize; 2],
    dim: u32,
    device: &Device,
) -> Result<Conv2d, NnError> {
    let mut conv = Conv2dConfig::new([input, output], [1, 1]).init(device);
    let w = w.child(name);
    conv.weight = if dim == 1 {
        let weight: Tensor<3> = w.tensor("weight", [output, input, 1], device)?;
        burn::module::Param::from_tensor(weight.unsqueeze_dim(3))
    } else {
        w.param("weight", [output, input, 1, 1], device)?
    };
    conv.bias = Some(w.param("bias", [output], device)?);
    Ok(conv)
}

impl LinearCodec {
    /// Loads the stages of a `linear`, `residual` or `refine` model file
    /// (and a refine model's refiner). Audio models run on latents
    /// `[batch, K, 1, length]`.
    pub fn load(model: &Model, device: &Device) -> Result<Self, NnError> {
        let config = model.config();
        let weights = Weights::new(model.to_bytes(), "")?;
        let (k, d, dim) = (config.latent_dim as usize, config.coefficient_dim(), config.dim);
        let (encoders, decoders) = if config.architecture == Architecture::Residual {
            let stages = config.stages.unwrap_or(1) as usize;
            let kk = k / stages;
            let encoders = (0..stages)
                .map(|i| projection(&weights, &format!("encoders.{i}"), [d, kk], dim, device))
                .collect::<Result<_, _>>()?;
            let decoders = (0..stages)
                .map(|i| projection(&weights, &format!("decoders.{i}"), [kk, d], dim, device))
                .collect::<Result<_, _>>()?;
            (encoders, decoders)
        } else {
            (
                vec![projection(&weights, "encoder.0", [d, k], dim, device)?],
                vec![projection(&weights, "decoder.1", [k, d], dim, device)?],
            )
        };
        let refiner = if config.architecture == Architecture::Refine {
            Some(Refiner::load(&weights, refiner_shape(model)?, device)?)
        } else {
            None
        };
        Ok(LinearCodec {
            encoders,
            decoders,
            refiner,
            bottleneck: Bottleneck::new(config.latent_bits),
            residual: config.architecture == Architecture::Residual,
            train_encoder: true,
            signal_dim: dim,
        })
    }

    /// Adds a fresh refiner `hidden` wide and `blocks` deep (its output
    /// starts at zero, so the codec still decodes as before).
    pub fn with_refiner(mut self, hidden: usize, blocks: usize, device: &Device) -> Self {
        let shape = RefinerShape {
            latent: self.encoders.iter().map(|e| e.weight.dims()[0]).sum(),
            hidden,
            blocks,
            output: self.decoders[0].weight.dims()[0],
            kernel: refiner_kernel(self.signal_dim),
            step_input: false,
        };
        self.refiner = Some(Refiner::new(shape, device));
        self
    }

    /// Has the refiner read the quantizer step too ([`Refiner::with_step_input`]);
    /// a codec without a refiner is returned as it is.
    pub fn with_step_input(mut self) -> Self {
        self.refiner = self.refiner.map(Refiner::with_step_input);
        self
    }

    /// The latent values `[batch, K, h, w]` of coefficients before the
    /// bottleneck, outside autodiff (the encoder frozen), for a trainer
    /// that quantizes them itself; `None` for a residual codec, which
    /// quantizes stage by stage.
    pub fn latent_values(&self, coefficients: Tensor<4>) -> Option<Tensor<4>> {
        match self.encoders.as_slice() {
            [encoder] => Some(encoder.valid().forward(coefficients.without_autodiff())),
            _ => None,
        }
    }

    /// Keeps the encoders as they are in training (gradients stop at the
    /// latent, which is rounded rather than noisy), so that the latents, and
    /// the rate, stay those of the start.
    pub fn freeze_encoder(mut self) -> Self {
        self.train_encoder = false;
        self
    }

    /// Dimensions of the signal (2 images, 1 audio).
    pub fn signal_dim(&self) -> u32 {
        self.signal_dim
    }

    /// The refiner, if any.
    pub fn refiner(&self) -> Option<&Refiner> {
        self.refiner.as_ref()
    }

    /// Every convolution with its name in the model file (`encoder.0`,
    /// `decoder.1`; `encoders.i`, `decoders.i`; then the refiner's).
    pub fn named_convs(&self) -> Vec<(String, &Conv2d)> {
        let (encoder, decoder) = self.names();
        let encoders = self.encoders.iter().enumerate().map(|(i, c)| (encoder(i), c));
        let decoders = self.decoders.iter().enumerate().map(|(i, c)| (decoder(i), c));
        let refiner = self.refiner.iter().flat_map(Refiner::named_convs);
        encoders.chain(decoders).chain(refiner).collect()
    }

    /// The file names of encoder and decoder `i`.
    #[allow(clippy::type_complexity)]
    fn names(&self) -> (Box<dyn Fn(usize) -> String>, Box<dyn Fn(usize) -> String>) {
        if self.residual {
            (
                Box::new(|i| format!("encoders.{i}")),
                Box::new(|i| format!("decoders.{i}")),
            )
        } else {
            (Box::new(|_| "encoder.0".into()), Box::new(|_| "decoder.1".into()))
        }
    }

    /// Codes coefficients `[batch, D, h, w]` stage by stage.
    pub fn forward(&self, coefficients: Tensor<4>, training: bool) -> LinearOutput {
        let mut residual = coefficients;
        let mut reconstruction = residual.zeros_like();
        let mut latents = Vec::with_capacity(self.encoders.len());
        for (encoder, decoder) in self.encoders.iter().zip(&self.decoders) {
            // A frozen encoder runs outside autodiff (no graph is kept for
            // it), and its latents are rounded in training too: the decoder
            // learns from exactly what it will decode.
            let z = if self.train_encoder {
                encoder.forward(residual.clone())
            } else {
                encoder.valid().forward(residual.clone().without_autodiff())
            };
            let u = self.bottleneck.to_uniform(z);
            let latent = self.bottleneck.quantize(u, training && self.train_encoder);
            let decoded = decoder.forward(self.bottleneck.to_normal(latent.clone()));
            residual = residual - decoded.clone();
            reconstruction = reconstruction + decoded;
            latents.push(latent);
        }
        let latent = Tensor::cat(latents, 1);
        if let Some(refiner) = &self.refiner {
            reconstruction = reconstruction + refiner.forward(self.bottleneck.to_normal(latent.clone()), Step::NATIVE);
        }
        LinearOutput {
            coefficients: reconstruction,
            latent,
        }
    }

    /// Decodes dequantized latents `[batch, K, h, w]` (stages' channels in
    /// order), coded at `step`, into wavelet coefficients `[batch, D, h, w]`.
    pub fn decode(&self, normal: Tensor<4>, step: Step) -> Tensor<4> {
        let per_stage = normal.dims()[1] / self.decoders.len();
        let mut coefficients = self
            .decoders
            .iter()
            .enumerate()
            .map(|(i, decoder)| decoder.forward(normal.clone().narrow(1, i * per_stage, per_stage)))
            .reduce(|a, b| a + b)
            .expect("a codec has at least one stage");
        if let Some(refiner) = &self.refiner {
            coefficients = coefficients + refiner.forward(normal, step);
        }
        coefficients
    }
}

/// The refiner shape of a `refine` model file.
pub fn refiner_shape(model: &Model) -> Result<RefinerShape, NnError> {
    let config = model.config();
    let missing = |what: &str| NnError::Config(format!("refine model {} has no {what}", config.name));
    Ok(RefinerShape {
        latent: config.latent_dim as usize,
        hidden: config.hidden.ok_or_else(|| missing("width"))? as usize,
        blocks: config.blocks.ok_or_else(|| missing("block count"))? as usize,
        output: config.coefficient_dim(),
        kernel: refiner_kernel(config.dim),
        step_input: config.step_conditioned,
    })
}

/// The refiner's kernel for signals of `dim` dimensions.
fn refiner_kernel(dim: u32) -> [usize; 2] {
    if dim == 1 {
        KERNEL_1D
    } else {
        KERNEL_2D
    }
}
