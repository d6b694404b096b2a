//! The reference's `LinearCodec2D` and `ResidualCodec2D` in burn, for
//! training on wavelet coefficients: 1×1 convolutions around the
//! bottleneck (noise in training, rounding in evaluation). A linear model
//! is one stage (`encoder.0`, `decoder.1`); a residual one has `stages`
//! (`encoders.i`, `decoders.i`), stage `i` coding what stages before it
//! left. Sensors encode with `walloc_codec::LinearEncoder`, which a test
//! holds to the same integers.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use walloc_codec::config::ARCHITECTURE_RESIDUAL;
use walloc_codec::Model;

use crate::encoder::Bottleneck;
use crate::weights::{NnError, Weights};

/// Stages of 1×1 encoders and decoders around a bottleneck.
#[derive(Module, Debug)]
pub struct LinearCodec {
    encoders: Vec<Conv2d>,
    decoders: Vec<Conv2d>,
    #[module(skip)]
    bottleneck: Bottleneck,
    #[module(skip)]
    residual: bool,
}

/// What [`LinearCodec::forward`] computes.
#[derive(Debug, Clone)]
pub struct LinearOutput {
    /// The reconstructed wavelet coefficients (the stages' sum).
    pub coefficients: Tensor<4>,
    /// The quantized (or, training, noisy) latents, stages' channels in order.
    pub latent: Tensor<4>,
}

fn projection(w: &Weights, name: &str, [input, output]: [usize; 2], device: &Device) -> Result<Conv2d, NnError> {
    let mut conv = Conv2dConfig::new([input, output], [1, 1]).init(device);
    let w = w.child(name);
    conv.weight = w.param("weight", [output, input, 1, 1], device)?;
    conv.bias = Some(w.param("bias", [output], device)?);
    Ok(conv)
}

impl LinearCodec {
    /// Loads the stages of a `linear` or `residual` model file.
    pub fn load(model: &Model, device: &Device) -> Result<Self, NnError> {
        let config = model.config();
        let weights = Weights::new(model.to_bytes(), "")?;
        let (k, d) = (config.latent_dim as usize, config.coefficient_dim());
        let (encoders, decoders) = if config.architecture == ARCHITECTURE_RESIDUAL {
            let stages = config.stages.unwrap_or(1) as usize;
            let kk = k / stages;
            let encoders = (0..stages)
                .map(|i| projection(&weights, &format!("encoders.{i}"), [d, kk], device))
                .collect::<Result<_, _>>()?;
            let decoders = (0..stages)
                .map(|i| projection(&weights, &format!("decoders.{i}"), [kk, d], device))
                .collect::<Result<_, _>>()?;
            (encoders, decoders)
        } else {
            (
                vec![projection(&weights, "encoder.0", [d, k], device)?],
                vec![projection(&weights, "decoder.1", [k, d], device)?],
            )
        };
        Ok(LinearCodec {
            encoders,
            decoders,
            bottleneck: Bottleneck::new(config.latent_bits),
            residual: config.architecture == ARCHITECTURE_RESIDUAL,
        })
    }

    /// Every projection with its name in the model file (`encoder.0`,
    /// `decoder.1`; `encoders.i`, `decoders.i`).
    pub fn named_projections(&self) -> Vec<(String, &Conv2d)> {
        let (encoder, decoder) = self.names();
        let encoders = self.encoders.iter().enumerate().map(|(i, c)| (encoder(i), c));
        let decoders = self.decoders.iter().enumerate().map(|(i, c)| (decoder(i), c));
        encoders.chain(decoders).collect()
    }

    /// Every projection, mutable, in the order of [`LinearCodec::named_projections`].
    pub fn projections_mut(&mut self) -> impl Iterator<Item = &mut Conv2d> {
        self.encoders.iter_mut().chain(self.decoders.iter_mut())
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
            let u = self.bottleneck.to_uniform(encoder.forward(residual.clone()));
            let latent = self.bottleneck.quantize(u, training);
            let decoded = decoder.forward(self.bottleneck.to_normal(latent.clone()));
            residual = residual - decoded.clone();
            reconstruction = reconstruction + decoded;
            latents.push(latent);
        }
        LinearOutput {
            coefficients: reconstruction,
            latent: Tensor::cat(latents, 1),
        }
    }
}
