//! LiVeAction's encoder and Laplace quantizer in burn, for
//! training (walloc-codec runs the same network without burn for
//! encoding): the power-law compander, factorized residual blocks with
//! squeeze-excite, `conv_down`, and `254·F_Laplace(z; σ) − 127`.

use burn::module::Param;
use burn::nn::GroupNorm;
use burn::prelude::*;
use burn::tensor::activation::{gelu_approximate, sigmoid};
use walloc_codec::liveaction::{LiveActionConfig, COMPAND_SCALE};
use walloc_codec::model::TensorBytes;

use super::layers::{export_norm, group_norm, FactorizedConv, Params};
use super::stage::{Stage, StageSpec};
use crate::error::NnError;
use crate::train::tensor_bytes;

/// The Laplace scale σ every latent channel starts at in the reference.
const SIGMA_START: f32 = 42.0;

/// `12.8·sign(x)·((|x| + 0.1)^0.4 − 0.1^0.4)`, the reference's compander
/// of the packet coefficients, on a tensor.
pub fn compand_tensor<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let magnitude = x
        .clone()
        .abs()
        .add_scalar(0.1)
        .powf_scalar(0.4)
        .sub_scalar(0.1f64.powf(0.4));
    (x.sign() * magnitude).mul_scalar(COMPAND_SCALE)
}

/// The reference's `FactorizedSqueezeExciteND`.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    reduce: FactorizedConv,
    expand: FactorizedConv,
}

impl SqueezeExcite {
    fn build(p: &Params, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let middle = channels / 4;
        Ok(SqueezeExcite {
            reduce: FactorizedConv::build(&p.child("conv_reduce"), (channels, middle), (1, dim, true), device)?,
            expand: FactorizedConv::build(&p.child("conv_expand"), (middle, channels), (1, dim, true), device)?,
        })
    }

    fn forward(&self, x: Tensor<3>, dim: usize) -> Tensor<3> {
        let ones = vec![1; dim];
        let pooled = x.clone().mean_dim(2);
        let s = gelu_approximate(self.reduce.forward(pooled, &ones));
        x * sigmoid(self.expand.forward(s, &ones))
    }

    fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.reduce.export(&format!("{prefix}.conv_reduce"), out)?;
        self.expand.export(&format!("{prefix}.conv_expand"), out)
    }
}

/// The reference's `FactorizedResBlockGNND`.
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: FactorizedConv,
    norm1: GroupNorm,
    conv2: FactorizedConv,
    norm2: GroupNorm,
    excite: SqueezeExcite,
}

impl ResBlock {
    /// Builds the block `p` of `channels` channels.
    pub fn build(p: &Params, channels: usize, (kernel, dim): (usize, usize), device: &Device) -> Result<Self, NnError> {
        let conv =
            |name: &str| FactorizedConv::build(&p.child(name), (channels, channels), (kernel, dim, false), device);
        Ok(ResBlock {
            conv1: conv("conv1")?,
            norm1: group_norm(&p.child("gn1"), channels, device)?,
            conv2: conv("conv2")?,
            norm2: group_norm(&p.child("gn2"), channels, device)?,
            excite: SqueezeExcite::build(&p.child("se"), channels, dim, device)?,
        })
    }

    /// Applies the block to `[batch, channels, positions]` on the grid `shape`.
    pub fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let y = gelu_approximate(self.norm1.forward(self.conv1.forward(x.clone(), shape)));
        let y = self.norm2.forward(self.conv2.forward(y, shape));
        self.excite.forward(y, shape.len()) + x
    }

    /// Its parameters under `prefix`.
    pub fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.conv1.export(&format!("{prefix}.conv1"), out)?;
        export_norm(&self.norm1, &format!("{prefix}.gn1"), out)?;
        self.conv2.export(&format!("{prefix}.conv2"), out)?;
        export_norm(&self.norm2, &format!("{prefix}.gn2"), out)?;
        self.excite.export(&format!("{prefix}.se"), out)
    }
}

/// The encoder (`encoder_blocks`: factorized or EfficientViT blocks;
/// `conv_down`) and the Laplace quantizer's scales
/// (`quantize.compand.sigma`).
#[derive(Module, Debug)]
pub struct LiveActionEncoderNet {
    stage: Stage,
    down: FactorizedConv,
    sigma: Param<Tensor<1>>,
}

impl LiveActionEncoderNet {
    /// The encoder of a model of shape `config`, its parameters from `p`
    /// (σ starts at 42 in a fresh network, as the reference's).
    pub fn build(config: &LiveActionConfig, p: &Params, device: &Device) -> Result<Self, NnError> {
        config.validate()?;
        let hidden = config.hidden();
        let spec = StageSpec {
            lightweight: config.lightweight_encode,
            depth: config.encoder_depth,
            channels: hidden,
            kernel: config.encoder_kernel_size,
            dim: config.dim,
        };
        let stage = Stage::build(&p.child("encoder_blocks"), spec, device)?;
        let down = FactorizedConv::build(
            &p.child("conv_down"),
            (hidden, config.latent_dim),
            (1, config.dim, false),
            device,
        )?;
        let mut sigma = Param::from_tensor(Tensor::full([config.latent_dim], SIGMA_START, device));
        p.child("quantize")
            .child("compand")
            .set(&mut sigma, "sigma", &[config.latent_dim])?;
        Ok(LiveActionEncoderNet { stage, down, sigma })
    }

    /// The encoder's output `z` (before the quantizer) for packet
    /// coefficients `[batch, hidden, positions]` in LiVeAction's range on
    /// the grid `shape`.
    pub fn forward(&self, coefficients: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = self.stage.forward(compand_tensor(coefficients), shape);
        self.down.forward(x, shape)
    }

    /// `254·F_Laplace(z; σ) − 127` per latent channel, before rounding.
    pub fn laplace(&self, z: Tensor<3>) -> Tensor<3> {
        let k = z.dims()[1];
        let sigma = self.sigma.val().clamp_min(1e-6).reshape([1, k, 1]);
        let tail = z.clone().abs().neg().div(sigma).exp().sub_scalar(1.0);
        let cdf = (z.sign() * tail).mul_scalar(-0.5).add_scalar(0.5);
        cdf.mul_scalar(254.0).sub_scalar(127.0)
    }

    /// Its parameters under the reference's names.
    pub fn export(&self, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.stage.export("encoder_blocks", out)?;
        self.down.export("conv_down", out)?;
        out.push(tensor_bytes("quantize.compand.sigma", self.sigma.val())?);
        Ok(())
    }
}
