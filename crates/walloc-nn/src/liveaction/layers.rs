//! The layers LiVeAction's networks share, in burn: N-D convolutions with
//! zero padding, the factorized convolution, GroupNorm8, and where their
//! parameters come from (a state_dict, or burn's initializers for a fresh
//! network) and go to (tensors under the reference's names).

use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, Conv3d, Conv3dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, PaddingConfig1d, PaddingConfig2d, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::TensorData;
use walloc_codec::liveaction::pick_groups;
use walloc_codec::model::TensorBytes;

use crate::error::NnError;
use crate::train::tensor_bytes;
use crate::weights::Weights;

/// Where a network's parameters come from: a state_dict under the
/// reference's names, or nowhere (burn's initializers, as PyTorch's: a
/// fresh network to train).
#[derive(Clone)]
pub struct Params<'a>(Option<Weights<'a>>);

impl<'a> Params<'a> {
    /// Parameters read from `weights`.
    pub fn from(weights: Weights<'a>) -> Self {
        Params(Some(weights))
    }

    /// A freshly initialized network.
    pub fn fresh() -> Self {
        Params(None)
    }

    /// The parameters under `name.`.
    pub fn child(&self, name: &str) -> Self {
        Params(self.0.as_ref().map(|w| w.child(name)))
    }

    /// Replaces `param` by tensor `name`, stored in `shape` (the
    /// reference's; as many values as the parameter); a fresh network keeps it.
    pub fn set<const D: usize>(
        &self,
        param: &mut Param<Tensor<D>>,
        name: &str,
        shape: &[usize],
    ) -> Result<(), NnError> {
        if let Some(weights) = &self.0 {
            let values = weights.values(name, shape)?;
            let current = param.val();
            let (dims, device) = (current.dims(), current.device());
            *param = Param::from_tensor(Tensor::from_data(TensorData::new(values, dims), &device));
        }
        Ok(())
    }
}

/// What a convolution is: channels in and out, groups, kernel (odd, with
/// padding `(kernel − 1)/2`), axes, and whether it has a bias.
#[derive(Clone, Copy, Debug)]
pub struct ConvSpec {
    /// Input channels.
    pub input: usize,
    /// Output channels.
    pub output: usize,
    /// Groups.
    pub groups: usize,
    /// Kernel along every axis.
    pub kernel: usize,
    /// Axes (1, 2 or 3).
    pub dim: usize,
    /// Whether a bias is added.
    pub bias: bool,
}

impl ConvSpec {
    /// The reference's weight shape `[out, in/groups, k, …]`.
    fn weight_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.output, self.input / self.groups];
        shape.extend(std::iter::repeat_n(self.kernel, self.dim));
        shape
    }
}

/// A PyTorch `Conv1d`/`Conv2d`/`Conv3d` with zero padding `(k − 1)/2`, on
/// activations held as `[batch, channels, positions]` over a grid.
#[derive(Module, Debug)]
pub enum ConvNd {
    /// Audio.
    One(Conv1d),
    /// Images.
    Two(Conv2d),
    /// Volumes.
    Three(Conv3d),
}

impl ConvNd {
    /// A convolution of `spec`, its parameters `weight` and `bias` from `p`.
    pub fn build(p: &Params, spec: ConvSpec, device: &Device) -> Result<Self, NnError> {
        let (k, pad) = (spec.kernel, (spec.kernel - 1) / 2);
        let mut conv = match spec.dim {
            1 => ConvNd::One(
                Conv1dConfig::new(spec.input, spec.output, k)
                    .with_groups(spec.groups)
                    .with_bias(spec.bias)
                    .with_padding(PaddingConfig1d::Explicit(pad, pad))
                    .init(device),
            ),
            2 => ConvNd::Two(
                Conv2dConfig::new([spec.input, spec.output], [k, k])
                    .with_groups(spec.groups)
                    .with_bias(spec.bias)
                    .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                    .init(device),
            ),
            _ => ConvNd::Three(
                Conv3dConfig::new([spec.input, spec.output], [k, k, k])
                    .with_groups(spec.groups)
                    .with_bias(spec.bias)
                    .with_padding(PaddingConfig3d::Explicit(pad, pad, pad))
                    .init(device),
            ),
        };
        let shape = spec.weight_shape();
        match &mut conv {
            ConvNd::One(c) => {
                p.set(&mut c.weight, "weight", &shape)?;
                set_bias(p, &mut c.bias, spec.output)?;
            }
            ConvNd::Two(c) => {
                p.set(&mut c.weight, "weight", &shape)?;
                set_bias(p, &mut c.bias, spec.output)?;
            }
            ConvNd::Three(c) => {
                p.set(&mut c.weight, "weight", &shape)?;
                set_bias(p, &mut c.bias, spec.output)?;
            }
        }
        Ok(conv)
    }

    /// Applies it to `[batch, channels, positions]` whose positions form
    /// the grid `shape`.
    pub fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let [batch, channels, positions] = x.dims();
        match self {
            ConvNd::One(conv) => conv.forward(x),
            ConvNd::Two(conv) => {
                let y = conv.forward(x.reshape([batch, channels, shape[0], shape[1]]));
                let out = y.dims()[1];
                y.reshape([batch, out, positions])
            }
            ConvNd::Three(conv) => {
                let y = conv.forward(x.reshape([batch, channels, shape[0], shape[1], shape[2]]));
                let out = y.dims()[1];
                y.reshape([batch, out, positions])
            }
        }
    }

    /// Its parameters under `prefix` (`prefix.weight`, `prefix.bias`).
    pub fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        let name = format!("{prefix}.weight");
        let (weight, bias) = match self {
            ConvNd::One(c) => (tensor_bytes(&name, c.weight.val())?, c.bias.as_ref()),
            ConvNd::Two(c) => (tensor_bytes(&name, c.weight.val())?, c.bias.as_ref()),
            ConvNd::Three(c) => (tensor_bytes(&name, c.weight.val())?, c.bias.as_ref()),
        };
        out.push(weight);
        if let Some(bias) = bias {
            out.push(tensor_bytes(&format!("{prefix}.bias"), bias.val())?);
        }
        Ok(())
    }
}

fn set_bias(p: &Params, bias: &mut Option<Param<Tensor<1>>>, channels: usize) -> Result<(), NnError> {
    match bias {
        Some(bias) => p.set(bias, "bias", &[channels]),
        None => Ok(()),
    }
}

/// The reference's `GroupNorm8`: 8 groups, eps 1e-7, affine; parameters
/// `groupnorm.weight` and `groupnorm.bias` under `p`.
pub fn group_norm(p: &Params, channels: usize, device: &Device) -> Result<GroupNorm, NnError> {
    let mut norm = GroupNormConfig::new(8, channels).with_epsilon(1e-7).init(device);
    let p = p.child("groupnorm");
    if let Some(gamma) = &mut norm.gamma {
        p.set(gamma, "weight", &[channels])?;
    }
    if let Some(beta) = &mut norm.beta {
        p.set(beta, "bias", &[channels])?;
    }
    Ok(norm)
}

/// A GroupNorm's parameters under `prefix.groupnorm`.
pub fn export_norm(norm: &GroupNorm, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
    for (name, param) in [("weight", &norm.gamma), ("bias", &norm.beta)] {
        if let Some(param) = param {
            out.push(tensor_bytes(&format!("{prefix}.groupnorm.{name}"), param.val())?);
        }
    }
    Ok(())
}

/// The reference's `FactorizedConvND`: `conv1` (`inputs → inputs` in `g1`
/// groups), the shuffle `(g1 g2) → (g2 g1)`, then `conv2`
/// (`inputs → outputs` in `g2` groups), with one kernel.
#[derive(Module, Debug)]
pub struct FactorizedConv {
    conv1: ConvNd,
    conv2: ConvNd,
    g1: usize,
    g2: usize,
}

impl FactorizedConv {
    /// Builds it from `conv1` and `conv2` under `p`, with the reference's groups.
    pub fn build(
        p: &Params,
        (input, output): (usize, usize),
        (kernel, dim, bias): (usize, usize, bool),
        device: &Device,
    ) -> Result<Self, NnError> {
        let (g1, g2) = pick_groups(input, output);
        let spec = |output, groups| ConvSpec {
            input,
            output,
            groups,
            kernel,
            dim,
            bias,
        };
        Ok(FactorizedConv {
            conv1: ConvNd::build(&p.child("conv1"), spec(input, g1), device)?,
            conv2: ConvNd::build(&p.child("conv2"), spec(output, g2), device)?,
            g1,
            g2,
        })
    }

    /// Applies it to `[batch, input, positions]` on the grid `shape`.
    pub fn forward(&self, x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        let x = self.conv1.forward(x, shape);
        let [batch, channels, positions] = x.dims();
        let shuffled = x
            .reshape([batch, self.g1, self.g2, positions])
            .swap_dims(1, 2)
            .reshape([batch, channels, positions]);
        self.conv2.forward(shuffled, shape)
    }

    /// Its parameters under `prefix` (`prefix.conv1.*`, `prefix.conv2.*`).
    pub fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        self.conv1.export(&format!("{prefix}.conv1"), out)?;
        self.conv2.export(&format!("{prefix}.conv2"), out)
    }
}
