//! Training LiVeAction models with the reference's recipe: loss
//! `log10(MSE) + λ·log2 std(LaplaceCompand(z))` (λ = 0.03 by default),
//! uniform noise in the quantizer, AdamW; after a fraction of the run
//! (70 % by default) the encoder and σ are frozen and the decoder trains
//! on the hard-rounded latents it will decode.
//!
//! The MSE is taken on the packet coefficients (bior4.4 is close to
//! orthogonal, so it tracks the pixels' MSE), in walloc's range (`±0.5`)
//! for the reports, so its PSNR reads as the other trainers'.

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use walloc_codec::liveaction::{shape_of, LiveActionConfig, RANGE_SCALE};
use walloc_codec::model::TensorBytes;
use walloc_codec::Model;

use super::decoder::{decompand_tensor, LiveActionDecoder};
use super::encoder::LiveActionEncoderNet;
use super::layers::Params;
use crate::error::NnError;
use crate::import_liveaction::liveaction_model;
use crate::train::{scalar, Batch, Trainer};
use crate::weights::Weights;

/// The encoder, quantizer scales and decoder of a LiVeAction model: what
/// the optimizer updates.
#[derive(Module, Debug)]
pub struct LiveActionNet {
    encoder: LiveActionEncoderNet,
    decoder: LiveActionDecoder,
}

impl LiveActionNet {
    /// The network of a model of shape `shape`, its parameters from `p`.
    pub fn build(shape: &LiveActionConfig, p: &Params, device: &Device) -> Result<Self, NnError> {
        Ok(LiveActionNet {
            encoder: LiveActionEncoderNet::build(shape, p, device)?,
            decoder: LiveActionDecoder::build(shape, p, device)?,
        })
    }

    /// Every parameter under the reference's names.
    pub fn export(&self) -> Result<Vec<TensorBytes>, NnError> {
        let mut tensors = Vec::new();
        self.encoder.export(&mut tensors)?;
        self.decoder.export(&mut tensors)?;
        Ok(tensors)
    }

    /// The reconstruction (in LiVeAction's range) and, unless `hard`, the
    /// quantizer's output before noise, for coefficients `x` on `grid`.
    /// `hard` rounds the latent and runs the encoder outside autodiff: no
    /// gradient reaches it, and no graph is left behind (a detached result
    /// would keep the encoder's graph alive, step after step).
    fn forward(&self, x: Tensor<3>, grid: &[usize], hard: bool) -> (Tensor<3>, Option<Tensor<3>>) {
        if hard {
            let tracked = x.is_autodiff();
            let encoder = self.encoder.valid();
            let latent = encoder.laplace(encoder.forward(x.without_autodiff(), grid)).round();
            let latent = if tracked { latent.autodiff() } else { latent };
            return (decompand_tensor(self.decoder.forward(latent, grid)), None);
        }
        let companded = self.encoder.laplace(self.encoder.forward(x, grid));
        let noise = companded.random_like(Distribution::Uniform(-0.5, 0.5));
        let latent = companded.clone() + noise;
        (decompand_tensor(self.decoder.forward(latent, grid)), Some(companded))
    }
}

/// A fresh LiVeAction model of shape `shape` (burn's initializers, as
/// PyTorch's; σ at 42), drawn with `seed`.
pub fn fresh_model(name: &str, description: String, shape: &LiveActionConfig, seed: u64) -> Result<Model, NnError> {
    let device = Device::default();
    device.seed(seed);
    let net = LiveActionNet::build(shape, &Params::fresh(), &device)?;
    let provenance = serde_json::json!({"start": "fresh", "seed": seed});
    liveaction_model(name, description, shape, net.export()?, provenance)
}

/// A LiVeAction model being trained, with its optimizer.
pub struct LiveActionTrainer {
    net: Option<LiveActionNet>,
    dim: usize,
    rate_weight: f32,
    freeze_at: f64,
    optimizer: ModuleOptimizer,
    device: Device,
}

/// What a LiVeAction run does beyond its model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveActionOptions {
    /// λ of the rate term.
    pub rate_weight: f32,
    /// The fraction of the run after which the encoder is frozen and the
    /// decoder trains on rounded latents.
    pub freeze_at: f64,
    /// AdamW's weight decay.
    pub weight_decay: f32,
    /// AdamW's ε.
    pub epsilon: f32,
}

impl LiveActionTrainer {
    /// Starts training from `model` (a `liveaction` model file).
    pub fn new(model: &Model, options: LiveActionOptions) -> Result<Self, NnError> {
        let shape = shape_of(model)?;
        let device = Device::default().autodiff();
        let net = LiveActionNet::build(shape, &Params::from(Weights::new(model.to_bytes(), "")?), &device)?;
        let optimizer = AdamWConfig::new()
            .with_weight_decay(options.weight_decay)
            .with_epsilon(options.epsilon)
            .init();
        Ok(LiveActionTrainer {
            net: Some(net.map(&mut crate::train::SequentialIds(0))),
            dim: shape.dim,
            rate_weight: options.rate_weight,
            freeze_at: options.freeze_at,
            optimizer,
            device,
        })
    }

    fn net(&self) -> &LiveActionNet {
        self.net.as_ref().expect("the network is only taken during a step")
    }

    /// A batch `[batch, D, h, w]` of walloc-range coefficients as
    /// LiVeAction's `[batch, D, positions]` (doubled), and its grid.
    fn tensor(&self, batch: &Batch) -> Result<(Tensor<3>, Vec<usize>), NnError> {
        let [n, channels, h, w] = batch.shape;
        if batch.values.len() != n * channels * h * w {
            return Err(NnError::Training(format!(
                "batch of {} values for shape {:?}",
                batch.values.len(),
                batch.shape
            )));
        }
        let grid = if self.dim == 1 { vec![h * w] } else { vec![h, w] };
        let values = batch.values.iter().map(|v| v * RANGE_SCALE).collect();
        let x = Tensor::from_data(TensorData::new(values, [n, channels, h * w]), &self.device);
        Ok((x, grid))
    }
}

/// The mean squared error in walloc's range of a reconstruction in
/// LiVeAction's.
fn walloc_mse(reconstruction: Tensor<3>, x: Tensor<3>) -> Tensor<1> {
    (reconstruction - x)
        .powi_scalar(2)
        .mean()
        .div_scalar(RANGE_SCALE * RANGE_SCALE)
}

/// `log2` of the standard deviation (unbiased, as PyTorch's) of every value.
fn log2_std(values: Tensor<3>) -> Tensor<1> {
    let flat: Tensor<1> = values.reshape([-1]);
    let n = flat.dims()[0].max(2) as f64;
    let centered = flat.clone() - flat.mean();
    let variance = centered.powi_scalar(2).sum().div_scalar(n - 1.0);
    variance
        .add_scalar(1e-12)
        .sqrt()
        .log()
        .div_scalar(std::f64::consts::LN_2)
}

impl Trainer for LiveActionTrainer {
    fn seed(&self, seed: u64) {
        self.device.seed(seed);
    }

    fn device_name(&self) -> String {
        format!("{:?}", self.device)
    }

    fn step(&mut self, batch: &Batch, learning_rate: f64, progress: f64) -> Result<f64, NnError> {
        let (x, grid) = self.tensor(batch)?;
        let hard = progress >= self.freeze_at;
        let net = self.net.take().expect("the network is only taken during a step");
        let (reconstruction, companded) = net.forward(x.clone(), &grid, hard);
        let mse = walloc_mse(reconstruction, x);
        let value = scalar(mse.clone())?;
        let mut loss = mse.log().div_scalar(std::f64::consts::LN_10);
        if let (Some(companded), true) = (companded, self.rate_weight > 0.0) {
            loss = loss + log2_std(companded).mul_scalar(self.rate_weight);
        }
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optimizer.step(learning_rate, net, grads));
        Ok(value)
    }

    fn validate(&self, batch: &Batch) -> Result<f64, NnError> {
        let (x, grid) = self.tensor(batch)?;
        let x = x.without_autodiff();
        let (reconstruction, _) = self.net().valid().forward(x.clone(), &grid, true);
        scalar(walloc_mse(reconstruction, x))
    }

    fn optimizer_state(&self) -> Result<Vec<u8>, NnError> {
        crate::train::optimizer_bytes(&self.optimizer)
    }

    fn load_optimizer_state(&mut self, bytes: Vec<u8>) -> Result<(), NnError> {
        crate::train::restore_optimizer(&mut self.optimizer, bytes)
    }

    fn export(&self, base: &Model) -> Result<Model, NnError> {
        Ok(base.with_weights(&self.net().valid().export()?, None)?)
    }
}
