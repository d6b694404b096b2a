//! LiVeAction's decoder (livecodec 0.0.1 `AutoCodecND.decode`): `conv_up`
//! (a factorized 1×1 convolution) on the integer latent, an EfficientViT
//! stage of `decoder_depth` blocks (ReLU linear attention, then an
//! inverted-bottleneck MBConv, each residual), the inverse power-law
//! compander, and the inverse packet transform.
//!
//! The reference's details are kept exactly: q, k and v split interleaved
//! per channel and one head over all channels; v padded with a column of
//! ones, and the attention's eps 1e-5; GroupNorm with 8 groups and eps
//! 1e-7; tanh-GELU; MBConv's point convolution also normalized and
//! activated. Linear attention has no quadratic term, so any signal
//! decodes whole, in memory linear in its size.

use burn::nn::GroupNorm;
use burn::prelude::*;
use burn::tensor::activation::{gelu_approximate, relu};
use burn::tensor::TensorData;
use walloc_codec::liveaction::{decompand, FeatureMap, LiveActionConfig, COMPAND_SCALE};
use walloc_codec::model::TensorBytes;
use walloc_wavelet::{packet, FilterBank, Signal};

use super::layers::{export_norm, group_norm, ConvNd, ConvSpec, FactorizedConv, Params};
use super::stage::{Stage, StageSpec};
use crate::error::NnError;

/// The attention's epsilon.
const ATTENTION_EPS: f64 = 1e-5;
/// The attention's head width in the reference (`head_dim`), which sets
/// the width of q, k and v: the channels rounded down to a multiple of it.
const HEAD_DIM: usize = 32;
/// MBConv's expansion.
const EXPAND: usize = 6;

/// A convolution followed by GroupNorm: the reference's `ConvNormActND`
/// (its activation, when it has one, is applied by the caller).
#[derive(Module, Debug)]
pub struct ConvNorm {
    conv: ConvNd,
    norm: GroupNorm,
}

impl ConvNorm {
    fn build(p: &Params, spec: ConvSpec, device: &Device) -> Result<Self, NnError> {
        Ok(ConvNorm {
            conv: ConvNd::build(&p.child("conv"), spec, device)?,
            norm: group_norm(&p.child("norm"), spec.output, device)?,
        })
    }

    fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        self.norm.forward(self.conv.forward(x, shape))
    }

    fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.conv.export(&format!("{prefix}.conv"), out)?;
        export_norm(&self.norm, &format!("{prefix}.norm"), out)
    }
}

/// A 1×1 convolution's spec.
fn pointwise(input: usize, output: usize, dim: usize, bias: bool) -> ConvSpec {
    ConvSpec {
        input,
        output,
        groups: 1,
        kernel: 1,
        dim,
        bias,
    }
}

/// The reference's `LiteMLAND`: ReLU linear attention with one head over
/// all `T` channels of q, k and v, then a 1×1 projection and GroupNorm.
#[derive(Module, Debug)]
pub struct LiteMla {
    qkv: ConvNd,
    proj: ConvNorm,
    width: usize,
}

impl LiteMla {
    fn build(p: &Params, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let width = channels / HEAD_DIM * HEAD_DIM;
        Ok(LiteMla {
            qkv: ConvNd::build(&p.child("qkv"), pointwise(channels, 3 * width, dim, false), device)?,
            proj: ConvNorm::build(&p.child("proj"), pointwise(width, channels, dim, false), device)?,
            width,
        })
    }

    fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let [batch, _, positions] = x.dims();
        // Channel 3·t + j of qkv is q (j = 0), k (1) or v (2) of channel t.
        let qkv = self.qkv.forward(x, shape).reshape([batch, self.width, 3, positions]);
        let part = |j: usize| qkv.clone().narrow(2, j, 1).reshape([batch, self.width, positions]);
        let q = relu(part(0));
        let k = relu(part(1));
        let ones = Tensor::ones([batch, 1, positions], &k.device());
        let v = Tensor::cat(vec![part(2), ones], 1);
        // kv[c, v] = Σ_n k[c, n]·v[v, n]; out[n, v] = Σ_c q[c, n]·kv[c, v].
        let kv = k.matmul(v.swap_dims(1, 2));
        let out = q.swap_dims(1, 2).matmul(kv);
        let numerator = out.clone().narrow(2, 0, self.width);
        let denominator = out.narrow(2, self.width, 1).add_scalar(ATTENTION_EPS);
        let attended = (numerator / denominator).swap_dims(1, 2);
        self.proj.forward(attended, shape)
    }

    fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.qkv.export(&format!("{prefix}.qkv"), out)?;
        self.proj.export(&format!("{prefix}.proj"), out)
    }
}

/// The reference's `MBConvND` (expansion 6): 1×1 up (bias), depthwise
/// 3^D (bias), 1×1 down (no bias), each followed by GroupNorm and
/// tanh-GELU.
#[derive(Module, Debug)]
pub struct MbConv {
    inverted: ConvNorm,
    depth: ConvNorm,
    point: ConvNorm,
}

impl MbConv {
    fn build(p: &Params, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let middle = channels * EXPAND;
        let depthwise = ConvSpec {
            input: middle,
            output: middle,
            groups: middle,
            kernel: 3,
            dim,
            bias: true,
        };
        Ok(MbConv {
            inverted: ConvNorm::build(
                &p.child("inverted_conv"),
                pointwise(channels, middle, dim, true),
                device,
            )?,
            depth: ConvNorm::build(&p.child("depth_conv"), depthwise, device)?,
            point: ConvNorm::build(&p.child("point_conv"), pointwise(middle, channels, dim, false), device)?,
        })
    }

    fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = gelu_approximate(self.inverted.forward(x, shape));
        let x = gelu_approximate(self.depth.forward(x, shape));
        gelu_approximate(self.point.forward(x, shape))
    }

    fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.inverted.export(&format!("{prefix}.inverted_conv"), out)?;
        self.depth.export(&format!("{prefix}.depth_conv"), out)?;
        self.point.export(&format!("{prefix}.point_conv"), out)
    }
}

/// The reference's `EfficientVitBlockND`: attention, then MBConv, each
/// added to its input.
#[derive(Module, Debug)]
pub struct EfficientVitBlock {
    context: LiteMla,
    local: MbConv,
}

impl EfficientVitBlock {
    /// Builds `context_module.main` and `local_module.main` under `p`.
    pub fn build(p: &Params, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        Ok(EfficientVitBlock {
            context: LiteMla::build(&p.child("context_module").child("main"), channels, dim, device)?,
            local: MbConv::build(&p.child("local_module").child("main"), channels, dim, device)?,
        })
    }

    /// Applies the block to `[batch, channels, positions]` on the grid `shape`.
    pub fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = x.clone() + self.context.forward(x, shape);
        x.clone() + self.local.forward(x, shape)
    }

    /// Its parameters under `prefix`.
    pub fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.context.export(&format!("{prefix}.context_module.main"), out)?;
        self.local.export(&format!("{prefix}.local_module.main"), out)
    }
}

/// The decoder network of a LiVeAction model: `conv_up` and the stack of
/// blocks (`decoder_blocks`: an EfficientViT stage, or factorized blocks).
#[derive(Module, Debug)]
pub struct LiveActionDecoder {
    up: FactorizedConv,
    stage: Stage,
}

impl LiveActionDecoder {
    /// Loads the decoder of a model of shape `config` from its state_dict
    /// (reference names at the root of `w`).
    pub fn load(config: &LiveActionConfig, w: &crate::Weights, device: &Device) -> Result<Self, NnError> {
        Self::build(config, &Params::from(w.clone()), device)
    }

    /// The decoder of a model of shape `config`, its parameters from `p`.
    pub fn build(config: &LiveActionConfig, p: &Params, device: &Device) -> Result<Self, NnError> {
        config.validate()?;
        let hidden = config.hidden();
        let up = FactorizedConv::build(
            &p.child("conv_up"),
            (config.latent_dim, hidden),
            (1, config.dim, false),
            device,
        )?;
        let spec = StageSpec {
            lightweight: config.lightweight_decode,
            depth: config.decoder_depth,
            channels: hidden,
            kernel: config.decoder_kernel_size,
            dim: config.dim,
        };
        let stage = Stage::build(&p.child("decoder_blocks"), spec, device)?;
        Ok(LiveActionDecoder { up, stage })
    }

    /// The network's output (companded packet coefficients, scaled by
    /// 12.8) for latents `[batch, latent_dim, positions]` on the grid `shape`.
    pub fn forward(&self, latent: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        self.stage.forward(self.up.forward(latent, shape), shape)
    }

    /// Its parameters under the reference's names.
    pub fn export(&self, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.up.export("conv_up", out)?;
        self.stage.export("decoder_blocks", out)
    }
}

/// `decompand(y / 12.8)`, the reference's inverse compander, on a tensor.
pub fn decompand_tensor<const D: usize>(y: Tensor<D>) -> Tensor<D> {
    let y = y.div_scalar(COMPAND_SCALE);
    let magnitude = y
        .clone()
        .abs()
        .add_scalar(0.1f64.powf(0.4))
        .powf_scalar(2.5)
        .sub_scalar(0.1);
    y.sign() * magnitude
}

/// Decodes one latent (`channels` planes of dequantized values over the
/// grid `shape`: the reference's integers at the model's own step) to the
/// signal in LiVeAction's range: the network, the inverse compander, then
/// `levels` levels of the inverse packet transform.
pub fn decode_values(
    decoder: &LiveActionDecoder,
    levels: u32,
    values: Vec<f32>,
    (channels, shape): (usize, &[usize]),
    device: &Device,
) -> Result<FeatureMap, NnError> {
    let positions: usize = shape.iter().product();
    let input = Tensor::<3>::from_data(TensorData::new(values, [1, channels, positions]), device);
    let output = decoder.forward(input, shape);
    let [_, hidden, _] = output.dims();
    let coefficients: Vec<f32> = crate::decode::values(output)?
        .into_iter()
        .map(|y| decompand(y / COMPAND_SCALE))
        .collect();
    let packets = Signal::new(coefficients, hidden, shape.to_vec())?;
    Ok(packet::inverse(&FilterBank::bior4_4(), packets, levels)?)
}
