//! The reference `Codec1D` audio decoder: diffusers' `OobleckDecoder` with
//! stride-1 blocks (`upsampling_ratios = [1, 1]`), weight-normed
//! convolutions, Snake activations and dilated residual units, plus the
//! codec's post filter. Parameter names follow the reference state_dict
//! under `decoder.1.` (and `post.`). Weight norm is folded at load time:
//! `w = g · v / ‖v‖`, the norm taken per slice of dimension 0 (output
//! channels for convolutions, input channels for transposed ones, as
//! PyTorch's `weight_norm` defaults to `dim = 0`).

use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::nn::PaddingConfig1d;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::error::NnError;
use crate::weights::Weights;

/// The effective weight of a `weight_norm`ed parameter `[d0, d1, k]`.
fn weight_norm(w: &Weights, shape: [usize; 3], device: &Device) -> Result<Param<Tensor<3>>, NnError> {
    let g = w.values("weight_g", &[shape[0], 1, 1])?;
    let mut v = w.values("weight_v", &shape)?;
    let slice = shape[1] * shape[2];
    for (row, &gain) in v.chunks_exact_mut(slice).zip(&g) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x *= gain / norm);
    }
    Ok(Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device)))
}

/// A weight-normed `Conv1d` with "same" padding `dilation·(k-1)/2`.
fn conv(
    w: &Weights,
    name: &str,
    [input, output, kernel, dilation]: [usize; 4],
    bias: bool,
    device: &Device,
) -> Result<Conv1d, NnError> {
    let pad = dilation * (kernel - 1) / 2;
    let mut layer = Conv1dConfig::new(input, output, kernel)
        .with_dilation(dilation)
        .with_padding(PaddingConfig1d::Explicit(pad, pad))
        .with_bias(bias)
        .init(device);
    let w = w.child(name);
    layer.weight = weight_norm(&w, [output, input, kernel], device)?;
    layer.bias = if bias {
        Some(w.param("bias", [output], device)?)
    } else {
        None
    };
    Ok(layer)
}

/// Snake: `x + sin²(e^α x) / (e^β + 1e-9)`, per channel.
#[derive(Module, Debug)]
pub struct Snake {
    alpha: Param<Tensor<3>>,
    beta: Param<Tensor<3>>,
}

impl Snake {
    /// Loads `alpha` and `beta` `[1, channels, 1]` from `w.name`.
    pub fn load(w: &Weights, name: &str, channels: usize, device: &Device) -> Result<Self, NnError> {
        let w = w.child(name);
        Ok(Snake {
            alpha: w.param("alpha", [1, channels, 1], device)?,
            beta: w.param("beta", [1, channels, 1], device)?,
        })
    }

    /// Applies the activation to `[batch, channels, length]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let alpha = self.alpha.val().exp();
        let inverse_beta = self.beta.val().exp().add_scalar(1e-9).recip();
        let wave = (x.clone() * alpha).sin().powf_scalar(2.0);
        x + wave * inverse_beta
    }
}

/// Snake, dilated 7-tap conv, Snake, 1-tap conv, plus the input.
#[derive(Module, Debug)]
pub struct ResidualUnit {
    snake1: Snake,
    conv1: Conv1d,
    snake2: Snake,
    conv2: Conv1d,
}

impl ResidualUnit {
    /// Loads a residual unit of `channels` with `dilation`.
    pub fn load(w: &Weights, channels: usize, dilation: usize, device: &Device) -> Result<Self, NnError> {
        Ok(ResidualUnit {
            snake1: Snake::load(w, "snake1", channels, device)?,
            conv1: conv(w, "conv1", [channels, channels, 7, dilation], true, device)?,
            snake2: Snake::load(w, "snake2", channels, device)?,
            conv2: conv(w, "conv2", [channels, channels, 1, 1], true, device)?,
        })
    }

    /// Applies the unit (lengths are kept).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.conv1.forward(self.snake1.forward(x.clone()));
        x + self.conv2.forward(self.snake2.forward(y))
    }
}

/// Snake, a stride-1 transposed conv (kernel 2, padding 1: one sample
/// shorter), then residual units with dilations 1, 3 and 9.
#[derive(Module, Debug)]
pub struct DecoderBlock {
    snake1: Snake,
    conv_t1: ConvTranspose1d,
    res_units: Vec<ResidualUnit>,
}

impl DecoderBlock {
    /// Loads a stride-1 block from `input` to `output` channels.
    pub fn load(w: &Weights, input: usize, output: usize, device: &Device) -> Result<Self, NnError> {
        let mut conv_t1 = ConvTranspose1dConfig::new([input, output], 2)
            .with_padding(1)
            .init(device);
        let t = w.child("conv_t1");
        conv_t1.weight = weight_norm(&t, [input, output, 2], device)?;
        conv_t1.bias = Some(t.param("bias", [output], device)?);
        Ok(DecoderBlock {
            snake1: Snake::load(w, "snake1", input, device)?,
            conv_t1,
            res_units: [(1, 1), (2, 3), (3, 9)]
                .into_iter()
                .map(|(i, d)| ResidualUnit::load(&w.child(&format!("res_unit{i}")), output, d, device))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Applies the block.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut x = self.conv_t1.forward(self.snake1.forward(x));
        for unit in &self.res_units {
            x = unit.forward(x);
        }
        x
    }
}

/// The Oobleck decoder as `Codec1D` builds it: latent channels in,
/// `C·2^J` wavelet channels out, two samples shorter than its input.
#[derive(Module, Debug)]
pub struct OobleckDecoder {
    conv1: Conv1d,
    blocks: Vec<DecoderBlock>,
    snake1: Snake,
    conv2: Conv1d,
}

impl OobleckDecoder {
    /// Loads the decoder for `latent` channels, `hidden` = Nd (a multiple
    /// of `latent`) and `output` channels.
    pub fn load(w: &Weights, latent: usize, hidden: usize, output: usize, device: &Device) -> Result<Self, NnError> {
        let wide = latent * (hidden / latent);
        Ok(OobleckDecoder {
            conv1: conv(w, "conv1", [latent, wide, 7, 1], true, device)?,
            blocks: vec![
                DecoderBlock::load(&w.child("block.0"), wide, wide, device)?,
                DecoderBlock::load(&w.child("block.1"), wide, latent, device)?,
            ],
            snake1: Snake::load(w, "snake1", latent, device)?,
            conv2: conv(w, "conv2", [latent, output, 7, 1], false, device)?,
        })
    }

    /// Decodes dequantized latents `[batch, latent, length]` into wavelet
    /// coefficients `[batch, output, length - 2]`.
    pub fn forward(&self, z: Tensor<3>) -> Tensor<3> {
        let mut x = self.conv1.forward(z);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.conv2.forward(self.snake1.forward(x))
    }
}

/// The codec's post filter: a plain `Conv1d(C, C, 129, padding 64)` (`post.`).
pub fn post_filter(w: &Weights, channels: usize, device: &Device) -> Result<Conv1d, NnError> {
    let mut layer = Conv1dConfig::new(channels, channels, 129)
        .with_padding(PaddingConfig1d::Explicit(64, 64))
        .init(device);
    layer.weight = w.param("weight", [channels, channels, 129], device)?;
    layer.bias = Some(w.param("bias", [channels], device)?);
    Ok(layer)
}
