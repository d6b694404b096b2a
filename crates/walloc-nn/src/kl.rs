//! The reference `Codec2D`'s neural parts: diffusers' KL `Decoder` and
//! `Encoder` (autoencoder_kl) with one block of width Nd (or Ne),
//! `layers_per_block = 2`, 32 groups, SiLU and a mid-block attention, as
//! walloc 1.2.1 builds them. Parameter names follow its state_dict under
//! `decoder.1.` and `encoder.0.`.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{silu, softmax};

use crate::error::NnError;
use crate::weights::Weights;

/// Largest number of attention scores held at once (2^25 floats, 128 MiB).
pub const ATTENTION_BUDGET: usize = 1 << 25;

/// GroupNorm as diffusers builds it here: 32 groups, eps 1e-6, affine.
fn group_norm(w: &Weights, name: &str, channels: usize, device: &Device) -> Result<GroupNorm, NnError> {
    let mut norm = GroupNormConfig::new(32, channels).with_epsilon(1e-6).init(device);
    let w = w.child(name);
    norm.gamma = Some(w.param("weight", [channels], device)?);
    norm.beta = Some(w.param("bias", [channels], device)?);
    Ok(norm)
}

/// A 3×3 convolution with padding 1 and bias.
fn conv3x3(w: &Weights, name: &str, input: usize, output: usize, device: &Device) -> Result<Conv2d, NnError> {
    let mut conv = Conv2dConfig::new([input, output], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device);
    let w = w.child(name);
    conv.weight = w.param("weight", [output, input, 3, 3], device)?;
    conv.bias = Some(w.param("bias", [output], device)?);
    Ok(conv)
}

/// A linear layer from a PyTorch `[out, in]` weight (burn stores `[in, out]`).
fn linear(w: &Weights, name: &str, features: usize, device: &Device) -> Result<Linear, NnError> {
    let mut layer = LinearConfig::new(features, features).init(device);
    let w = w.child(name);
    layer.weight = burn::module::Param::from_tensor(w.tensor("weight", [features, features], device)?.transpose());
    layer.bias = Some(w.param("bias", [features], device)?);
    Ok(layer)
}

/// diffusers' `ResnetBlock2D` without time embedding, channels unchanged:
/// `x + conv2(silu(norm2(conv1(silu(norm1(x))))))`.
#[derive(Module, Debug)]
pub struct ResnetBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    norm2: GroupNorm,
    conv2: Conv2d,
}

impl ResnetBlock {
    /// Loads `norm1`, `conv1`, `norm2`, `conv2` under `w`'s prefix.
    pub fn load(w: &Weights, channels: usize, device: &Device) -> Result<Self, NnError> {
        Ok(ResnetBlock {
            norm1: group_norm(w, "norm1", channels, device)?,
            conv1: conv3x3(w, "conv1", channels, channels, device)?,
            norm2: group_norm(w, "norm2", channels, device)?,
            conv2: conv3x3(w, "conv2", channels, channels, device)?,
        })
    }

    /// Applies the block to `[batch, channels, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let h = self.conv2.forward(silu(self.norm2.forward(h)));
        x + h
    }
}

/// diffusers' `Attention` with one head over all channels, a group norm
/// before it and a residual connection: softmax(QKᵀ/√C)V over the h·w positions.
#[derive(Module, Debug)]
pub struct SpatialAttention {
    group_norm: GroupNorm,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
}

impl SpatialAttention {
    /// Loads `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0` under `w`'s prefix.
    pub fn load(w: &Weights, channels: usize, device: &Device) -> Result<Self, NnError> {
        Ok(SpatialAttention {
            group_norm: group_norm(w, "group_norm", channels, device)?,
            to_q: linear(w, "to_q", channels, device)?,
            to_k: linear(w, "to_k", channels, device)?,
            to_v: linear(w, "to_v", channels, device)?,
            to_out: linear(w, "to_out.0", channels, device)?,
        })
    }

    /// Applies attention to `[batch, channels, h, w]`, queries in blocks
    /// that keep the score matrix within [`ATTENTION_BUDGET`] values.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, height, width] = x.dims();
        let positions = height * width;
        self.forward_blocked(x, (ATTENTION_BUDGET / positions).clamp(1, positions))
    }

    /// [`SpatialAttention::forward`] with `block` queries at a time (softmax
    /// rows are independent, so the result does not depend on it).
    pub fn forward_blocked(&self, x: Tensor<4>, block: usize) -> Tensor<4> {
        let [batch, channels, height, width] = x.dims();
        let tokens = self
            .group_norm
            .forward(x.clone())
            .reshape([batch, channels, height * width])
            .swap_dims(1, 2);
        let q = self.to_q.forward(tokens.clone());
        let k = self.to_k.forward(tokens.clone());
        let v = self.to_v.forward(tokens);
        let positions = height * width;
        let block = block.clamp(1, positions);
        let keys = k.swap_dims(1, 2);
        let scale = 1.0 / (channels as f64).sqrt();
        let attended = Tensor::cat(
            (0..positions)
                .step_by(block)
                .map(|start| {
                    let q_block = q.clone().narrow(1, start, block.min(positions - start));
                    softmax(q_block.matmul(keys.clone()).mul_scalar(scale), 2).matmul(v.clone())
                })
                .collect(),
            1,
        );
        let out = self
            .to_out
            .forward(attended)
            .swap_dims(1, 2)
            .reshape([batch, channels, height, width]);
        x + out
    }
}

/// diffusers' `UNetMidBlock2D` as both KL networks use it: resnet,
/// single-head attention, resnet.
#[derive(Module, Debug)]
pub struct MidBlock {
    resnet_0: ResnetBlock,
    attention: SpatialAttention,
    resnet_1: ResnetBlock,
}

impl MidBlock {
    /// Loads `resnets.0`, `attentions.0` and `resnets.1` under `w`'s prefix.
    pub fn load(w: &Weights, channels: usize, device: &Device) -> Result<Self, NnError> {
        Ok(MidBlock {
            resnet_0: ResnetBlock::load(&w.child("resnets.0"), channels, device)?,
            attention: SpatialAttention::load(&w.child("attentions.0"), channels, device)?,
            resnet_1: ResnetBlock::load(&w.child("resnets.1"), channels, device)?,
        })
    }

    /// Applies the block to `[batch, channels, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.resnet_1.forward(self.attention.forward(self.resnet_0.forward(x)))
    }
}

/// conv_in, then `blocks` around the mid block, then GroupNorm, SiLU and
/// conv_out: the decoder runs the mid block first, the encoder last.
#[derive(Module, Debug)]
struct KlNetwork {
    conv_in: Conv2d,
    mid: MidBlock,
    blocks: Vec<ResnetBlock>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl KlNetwork {
    fn load(
        w: &Weights,
        [input, width, output]: [usize; 3],
        blocks: &str,
        count: usize,
        device: &Device,
    ) -> Result<Self, NnError> {
        Ok(KlNetwork {
            conv_in: conv3x3(w, "conv_in", input, width, device)?,
            mid: MidBlock::load(&w.child("mid_block"), width, device)?,
            blocks: (0..count)
                .map(|i| ResnetBlock::load(&w.child(&format!("{blocks}.resnets.{i}")), width, device))
                .collect::<Result<_, _>>()?,
            norm_out: group_norm(w, "conv_norm_out", width, device)?,
            conv_out: conv3x3(w, "conv_out", width, output, device)?,
        })
    }

    fn head(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv_out.forward(silu(self.norm_out.forward(x)))
    }

    fn resnets(&self, mut x: Tensor<4>) -> Tensor<4> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        x
    }
}

/// The decoder network: latent channels in, `C·4^J` wavelet channels out.
#[derive(Module, Debug)]
pub struct KlDecoder {
    network: KlNetwork,
}

impl KlDecoder {
    /// Loads the decoder from `w` (prefix of diffusers' `Decoder`, such as
    /// `decoder.1.`), for `latent` input channels, `width` = Nd hidden
    /// channels and `output` channels.
    pub fn load(w: &Weights, latent: usize, width: usize, output: usize, device: &Device) -> Result<Self, NnError> {
        let network = KlNetwork::load(w, [latent, width, output], "up_blocks.0", 3, device)?;
        Ok(KlDecoder { network })
    }

    /// The mid-block attention.
    pub fn attention(&self) -> &SpatialAttention {
        &self.network.mid.attention
    }

    /// Decodes dequantized latents `[batch, latent, h, w]` into wavelet
    /// coefficients `[batch, output, h, w]`.
    pub fn forward(&self, z: Tensor<4>) -> Tensor<4> {
        let n = &self.network;
        n.head(n.resnets(n.mid.forward(n.conv_in.forward(z))))
    }
}

/// The full encoder network: `C·4^J` wavelet channels in, latent channels
/// out (before the bottleneck).
#[derive(Module, Debug)]
pub struct KlEncoder {
    network: KlNetwork,
}

impl KlEncoder {
    /// Loads the encoder from `w` (prefix of diffusers' `Encoder`, such as
    /// `encoder.0.`), for `input` wavelet channels, `width` = Ne hidden
    /// channels and `latent` output channels.
    pub fn load(w: &Weights, input: usize, width: usize, latent: usize, device: &Device) -> Result<Self, NnError> {
        let network = KlNetwork::load(w, [input, width, latent], "down_blocks.0", 2, device)?;
        Ok(KlEncoder { network })
    }

    /// Wavelet coefficients `[batch, input, h, w]` to continuous latents.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let n = &self.network;
        n.head(n.mid.forward(n.resnets(n.conv_in.forward(x))))
    }
}
