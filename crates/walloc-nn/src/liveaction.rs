//! LiVeAction's decoder (livecodec 0.0.1 `AutoCodecND.decode`) in burn:
//! `conv_up` (a factorized 1×1 convolution) on the integer latent, an
//! EfficientViT stage of `decoder_depth` blocks (ReLU linear attention,
//! then an inverted-bottleneck MBConv, each residual), the inverse
//! power-law compander, and the inverse packet transform.
//!
//! The reference's details are kept exactly: q, k and v split interleaved
//! per channel and one head over all channels; v padded with a column of
//! ones, and the attention's eps 1e-5; GroupNorm with 8 groups and eps
//! 1e-7; tanh-GELU; MBConv's point convolution also normalized and
//! activated. Linear attention has no quadratic term, so any signal
//! decodes whole, in memory linear in its size.
//!
//! Activations are held as `[batch, channels, positions]`: every layer but
//! the depthwise convolution is pointwise, and that one is reshaped to the
//! signal's own axes.

use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, Conv3d, Conv3dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig1d, PaddingConfig2d, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::activation::{gelu_approximate, relu};
use burn::tensor::TensorData;
use walloc_codec::liveaction::{
    decompand, dequantize, pick_groups, shape_of, FeatureMap, LiveActionConfig, COMPAND_SCALE, RANGE_SCALE,
};
use walloc_codec::registry::{DecoderOptions, Synthesis};
use walloc_codec::{Latent, Model};
use walloc_wavelet::{packet, FilterBank, Signal, Signal as Planar};

use crate::error::NnError;
use crate::weights::Weights;

/// The attention's epsilon.
const ATTENTION_EPS: f64 = 1e-5;
/// The attention's head width in the reference (`head_dim`), which sets
/// the width of q, k and v: the channels rounded down to a multiple of it.
const HEAD_DIM: usize = 32;
/// MBConv's expansion.
const EXPAND: usize = 6;

/// The reference's `GroupNorm8`: 8 groups, eps 1e-7, affine.
fn group_norm(w: &Weights, name: &str, channels: usize, device: &Device) -> Result<GroupNorm, NnError> {
    let mut norm = GroupNormConfig::new(8, channels).with_epsilon(1e-7).init(device);
    let w = w.child(name).child("groupnorm");
    norm.gamma = Some(w.param("weight", [channels], device)?);
    norm.beta = Some(w.param("bias", [channels], device)?);
    Ok(norm)
}

/// The shape of an N-D convolution's weight: `[out, in/groups, k, …]`.
fn kernel_shape(output: usize, per_group: usize, kernel: usize, dim: usize) -> Vec<usize> {
    let mut shape = vec![output, per_group];
    shape.extend(std::iter::repeat_n(kernel, dim));
    shape
}

/// `values` as a parameter of `shape`.
fn param_of<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values.to_vec(), shape), device))
}

/// An N-D 1×1 convolution, run as a `Conv1d` over the flattened positions.
fn pointwise(
    w: &Weights,
    name: &str,
    (input, output): (usize, usize),
    groups: usize,
    (dim, bias): (usize, bool),
    device: &Device,
) -> Result<Conv1d, NnError> {
    let mut conv = Conv1dConfig::new(input, output, 1)
        .with_groups(groups)
        .with_bias(bias)
        .init(device);
    let w = w.child(name);
    let values = w.values("weight", &kernel_shape(output, input / groups, 1, dim))?;
    conv.weight = param_of(&values, [output, input / groups, 1], device);
    conv.bias = if bias {
        Some(w.param("bias", [output], device)?)
    } else {
        None
    };
    Ok(conv)
}

/// The reference's `FactorizedConvND` with kernel 1 and no bias
/// (`conv_up`): grouped, shuffled `(g1 g2) → (g2 g1)`, grouped again.
#[derive(Module, Debug)]
pub struct FactorizedPointwise {
    conv1: Conv1d,
    conv2: Conv1d,
    g1: usize,
    g2: usize,
}

impl FactorizedPointwise {
    /// Loads `conv1` and `conv2` under `w`, with the reference's groups.
    pub fn load(w: &Weights, (input, output): (usize, usize), dim: usize, device: &Device) -> Result<Self, NnError> {
        let (g1, g2) = pick_groups(input, output);
        Ok(FactorizedPointwise {
            conv1: pointwise(w, "conv1", (input, input), g1, (dim, false), device)?,
            conv2: pointwise(w, "conv2", (input, output), g2, (dim, false), device)?,
            g1,
            g2,
        })
    }

    /// Applies it to `[batch, input, positions]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.conv1.forward(x);
        let [batch, channels, positions] = x.dims();
        let shuffled = x
            .reshape([batch, self.g1, self.g2, positions])
            .swap_dims(1, 2)
            .reshape([batch, channels, positions]);
        self.conv2.forward(shuffled)
    }
}

/// A depthwise 3×3 (×3) convolution with padding 1 and bias, on the
/// signal's own axes.
#[derive(Module, Debug)]
pub enum Depthwise {
    /// Audio.
    One(Conv1d),
    /// Images.
    Two(Conv2d),
    /// Volumes.
    Three(Conv3d),
}

impl Depthwise {
    fn load(w: &Weights, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let values = w.values("weight", &kernel_shape(channels, 1, 3, dim))?;
        let bias = Some(w.param("bias", [channels], device)?);
        Ok(match dim {
            1 => {
                let mut conv = Conv1dConfig::new(channels, channels, 3)
                    .with_groups(channels)
                    .with_padding(PaddingConfig1d::Explicit(1, 1))
                    .init(device);
                conv.weight = param_of(&values, [channels, 1, 3], device);
                conv.bias = bias;
                Depthwise::One(conv)
            }
            2 => {
                let mut conv = Conv2dConfig::new([channels, channels], [3, 3])
                    .with_groups(channels)
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device);
                conv.weight = param_of(&values, [channels, 1, 3, 3], device);
                conv.bias = bias;
                Depthwise::Two(conv)
            }
            _ => {
                let mut conv = Conv3dConfig::new([channels, channels], [3, 3, 3])
                    .with_groups(channels)
                    .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                    .init(device);
                conv.weight = param_of(&values, [channels, 1, 3, 3, 3], device);
                conv.bias = bias;
                Depthwise::Three(conv)
            }
        })
    }

    /// Applies it to `[batch, channels, positions]` whose positions form
    /// the grid `shape`.
    fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let [batch, channels, positions] = x.dims();
        match self {
            Depthwise::One(conv) => conv.forward(x),
            Depthwise::Two(conv) => conv
                .forward(x.reshape([batch, channels, shape[0], shape[1]]))
                .reshape([batch, channels, positions]),
            Depthwise::Three(conv) => conv
                .forward(x.reshape([batch, channels, shape[0], shape[1], shape[2]]))
                .reshape([batch, channels, positions]),
        }
    }
}

/// The reference's `LiteMLAND`: ReLU linear attention with one head over
/// all `T` channels of q, k and v, then a 1×1 projection and GroupNorm.
#[derive(Module, Debug)]
pub struct LiteMla {
    qkv: Conv1d,
    proj: Conv1d,
    norm: GroupNorm,
    width: usize,
}

impl LiteMla {
    fn load(w: &Weights, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let width = channels / HEAD_DIM * HEAD_DIM;
        Ok(LiteMla {
            qkv: pointwise(w, "qkv", (channels, 3 * width), 1, (dim, false), device)?,
            proj: pointwise(&w.child("proj"), "conv", (width, channels), 1, (dim, false), device)?,
            norm: group_norm(&w.child("proj"), "norm", channels, device)?,
            width,
        })
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [batch, _, positions] = x.dims();
        // Channel 3·t + j of qkv is q (j = 0), k (1) or v (2) of channel t.
        let qkv = self.qkv.forward(x).reshape([batch, self.width, 3, positions]);
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
        self.norm.forward(self.proj.forward(attended))
    }
}

/// The reference's `MBConvND` (expansion 6): 1×1 up (bias), depthwise
/// 3^D (bias), 1×1 down (no bias), each followed by GroupNorm and
/// tanh-GELU.
#[derive(Module, Debug)]
pub struct MbConv {
    inverted: Conv1d,
    inverted_norm: GroupNorm,
    depth: Depthwise,
    depth_norm: GroupNorm,
    point: Conv1d,
    point_norm: GroupNorm,
}

impl MbConv {
    fn load(w: &Weights, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        let middle = channels * EXPAND;
        let part = |name: &str| w.child(name);
        Ok(MbConv {
            inverted: pointwise(
                &part("inverted_conv"),
                "conv",
                (channels, middle),
                1,
                (dim, true),
                device,
            )?,
            inverted_norm: group_norm(&part("inverted_conv"), "norm", middle, device)?,
            depth: Depthwise::load(&part("depth_conv").child("conv"), middle, dim, device)?,
            depth_norm: group_norm(&part("depth_conv"), "norm", middle, device)?,
            point: pointwise(&part("point_conv"), "conv", (middle, channels), 1, (dim, false), device)?,
            point_norm: group_norm(&part("point_conv"), "norm", channels, device)?,
        })
    }

    fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = gelu_approximate(self.inverted_norm.forward(self.inverted.forward(x)));
        let x = gelu_approximate(self.depth_norm.forward(self.depth.forward(x, shape)));
        gelu_approximate(self.point_norm.forward(self.point.forward(x)))
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
    /// Loads `context_module.main` and `local_module.main` under `w`.
    pub fn load(w: &Weights, channels: usize, dim: usize, device: &Device) -> Result<Self, NnError> {
        Ok(EfficientVitBlock {
            context: LiteMla::load(&w.child("context_module").child("main"), channels, dim, device)?,
            local: MbConv::load(&w.child("local_module").child("main"), channels, dim, device)?,
        })
    }

    /// Applies the block to `[batch, channels, positions]` on the grid `shape`.
    pub fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = x.clone() + self.context.forward(x);
        x.clone() + self.local.forward(x, shape)
    }
}

/// The decoder network of a LiVeAction model: `conv_up` and the
/// EfficientViT stage (`decoder_blocks.blocks.*`).
#[derive(Module, Debug)]
pub struct LiveActionDecoder {
    up: FactorizedPointwise,
    blocks: Vec<EfficientVitBlock>,
}

impl LiveActionDecoder {
    /// Loads the decoder of a model of shape `config` from its state_dict
    /// (reference names at the root of `w`).
    pub fn load(config: &LiveActionConfig, w: &Weights, device: &Device) -> Result<Self, NnError> {
        config.validate()?;
        if config.lightweight_decode {
            return Err(NnError::Config(
                "LiVeAction models with the lightweight (factorized) decoder are not supported yet".into(),
            ));
        }
        let hidden = config.hidden();
        let up = FactorizedPointwise::load(&w.child("conv_up"), (config.latent_dim, hidden), config.dim, device)?;
        let stage = w.child("decoder_blocks").child("blocks");
        let blocks = (0..config.decoder_depth)
            .map(|b| EfficientVitBlock::load(&stage.child(&b.to_string()), hidden, config.dim, device))
            .collect::<Result<_, _>>()?;
        Ok(LiveActionDecoder { up, blocks })
    }

    /// The network's output (companded packet coefficients, scaled by
    /// 12.8) for latents `[batch, latent_dim, positions]` on the grid `shape`.
    pub fn forward(&self, latent: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let mut x = self.up.forward(latent);
        for block in &self.blocks {
            x = block.forward(x, shape);
        }
        x
    }
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
    let signal = packet::inverse(&FilterBank::bior4_4(), packets, levels)?;
    Ok(FeatureMap::new(signal.data, signal.channels, signal.shape)?)
}

/// The decoder of a `liveaction` model, as the registry's [`Synthesis`]:
/// symbols dequantized at the file's step, decoded, and brought back from
/// LiVeAction's range (`±1`) to walloc's (`±0.5`).
struct LiveActionSynthesis {
    decoder: LiveActionDecoder,
    dim: usize,
    levels: u32,
    device: Device,
}

impl Synthesis for LiveActionSynthesis {
    fn synthesize(&self, latent: &Latent) -> walloc_codec::Result<Planar> {
        let delta = latent.step.factor() as f32;
        let values = latent.symbols.iter().map(|&s| dequantize(s, delta)).collect();
        let grid = latent.packet_shape(self.dim);
        let signal = decode_values(
            &self.decoder,
            self.levels,
            values,
            (latent.channels, &grid),
            &self.device,
        )?;
        let data = signal.data.into_iter().map(|v| v / RANGE_SCALE).collect();
        Ok(Planar::new(data, signal.channels, signal.shape)?)
    }
}

/// The registry's factory of LiVeAction decoders (whole signals: linear
/// attention needs no tiles).
pub(crate) fn liveaction_decoder<'m>(
    model: &'m Model,
    _: &DecoderOptions,
) -> walloc_codec::Result<Box<dyn Synthesis + 'm>> {
    let device = Device::default();
    let decoder = LiveActionDecoder::load(shape_of(model)?, &Weights::new(model.to_bytes(), "")?, &device)?;
    Ok(Box::new(LiveActionSynthesis {
        decoder,
        dim: model.config().dim as usize,
        levels: model.config().levels,
        device,
    }))
}
