//! The refiner of `refine` models: residual blocks of convolutions (3×3
//! for images; 1×3, three taps along time, for audio, whose latents are
//! `[batch, K, 1, length]`) that read the dequantized latent
//! `[batch, K, h, w]` and return a correction `[batch, D, h, w]` added to
//! the linear decoder's wavelet coefficients. Its last convolution starts at zero, so a fresh refine
//! model decodes exactly as the linear codec it grows from, and training
//! can only move it on from there. It has no normalization and no
//! attention: every output depends on the latent within
//! [`Refiner::radius`] positions, so overlapping tiles decode exactly.
//! A step-conditioned refiner (`step_conditioned` in the model's config)
//! reads one more input plane, `log2 Δ` of the file's quantizer step, so
//! that one network serves every step of the quality knob.
//! Parameter names in the model file: `refine.conv_in`,
//! `refine.blocks.{i}.conv1`, `refine.blocks.{i}.conv2`, `refine.conv_out`
//! (each `.weight` `[out, in, 3, 3]`, or `[out, in, 1, 3]` for audio, and
//! `.bias`).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::silu;

use walloc_codec::Step;

use crate::error::NnError;
use crate::weights::Weights;

/// Prefix of the refiner's tensors in a model file.
pub const PREFIX: &str = "refine";

/// Kernel of an image refiner's convolutions.
pub const KERNEL_2D: [usize; 2] = [3, 3];

/// Kernel of an audio refiner's convolutions: three taps along time.
pub const KERNEL_1D: [usize; 2] = [1, 3];

/// A fresh convolution of odd `kernel` whose output keeps the input's size
/// (burn's default initialisation).
fn conv(kernel: [usize; 2], input: usize, output: usize, device: &Device) -> Conv2d {
    let [ph, pw] = kernel.map(|k| k / 2);
    Conv2dConfig::new([input, output], kernel)
        .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
        .init(device)
}

/// A convolution of `kernel` read from `w.name`.
fn load_conv(
    w: &Weights,
    name: &str,
    kernel: [usize; 2],
    [input, output]: [usize; 2],
    device: &Device,
) -> Result<Conv2d, NnError> {
    let mut conv = conv(kernel, input, output, device);
    let w = w.child(name);
    conv.weight = w.param("weight", [output, input, kernel[0], kernel[1]], device)?;
    conv.bias = Some(w.param("bias", [output], device)?);
    Ok(conv)
}

/// `x + conv2(silu(conv1(silu(x))))`, channels unchanged.
#[derive(Module, Debug)]
pub struct RefineBlock {
    conv1: Conv2d,
    conv2: Conv2d,
}

impl RefineBlock {
    /// Applies the block to `[batch, hidden, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self.conv2.forward(silu(self.conv1.forward(silu(x.clone()))));
        x + h
    }
}

/// Shape of a refiner: latent channels in, `hidden` wide, `blocks` deep,
/// coefficient channels out, and its convolutions' kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefinerShape {
    /// Latent channels K.
    pub latent: usize,
    /// Hidden channels.
    pub hidden: usize,
    /// Residual blocks.
    pub blocks: usize,
    /// Wavelet-coefficient channels D.
    pub output: usize,
    /// [`KERNEL_2D`] for images, [`KERNEL_1D`] for audio.
    pub kernel: [usize; 2],
    /// Whether the refiner reads the quantizer step as one more plane.
    pub step_input: bool,
}

impl RefinerShape {
    /// Input planes of the first convolution: the latent's, and the step's.
    fn inputs(&self) -> usize {
        self.latent + usize::from(self.step_input)
    }
}

/// The value of the step plane a step-conditioned refiner reads: `log2 Δ`
/// (0 at the model's own step, 1 per octave coarser), exact from the
/// step's code.
pub fn step_condition(step: Step) -> f32 {
    f32::from(step.code()) / 16.0
}

/// `conv_out(silu(blocks(conv_in(z))))`.
#[derive(Module, Debug)]
pub struct Refiner {
    conv_in: Conv2d,
    blocks: Vec<RefineBlock>,
    conv_out: Conv2d,
    #[module(skip)]
    step_input: bool,
}

impl Refiner {
    /// A fresh refiner whose output is zero (its last layer starts at zero).
    pub fn new(shape: RefinerShape, device: &Device) -> Self {
        let kernel = shape.kernel;
        let mut conv_out = conv(kernel, shape.hidden, shape.output, device);
        conv_out.weight = burn::module::Param::from_tensor(conv_out.weight.val().zeros_like());
        conv_out.bias = conv_out
            .bias
            .map(|b| burn::module::Param::from_tensor(b.val().zeros_like()));
        Refiner {
            conv_in: conv(kernel, shape.inputs(), shape.hidden, device),
            blocks: (0..shape.blocks)
                .map(|_| RefineBlock {
                    conv1: conv(kernel, shape.hidden, shape.hidden, device),
                    conv2: conv(kernel, shape.hidden, shape.hidden, device),
                })
                .collect(),
            conv_out,
            step_input: shape.step_input,
        }
    }

    /// Loads a refiner from `w` (the file's tensors under [`PREFIX`]).
    pub fn load(w: &Weights, shape: RefinerShape, device: &Device) -> Result<Self, NnError> {
        let w = w.child(PREFIX);
        let (hidden, kernel) = (shape.hidden, shape.kernel);
        Ok(Refiner {
            conv_in: load_conv(&w, "conv_in", kernel, [shape.inputs(), hidden], device)?,
            blocks: (0..shape.blocks)
                .map(|i| {
                    let b = w.child(&format!("blocks.{i}"));
                    Ok(RefineBlock {
                        conv1: load_conv(&b, "conv1", kernel, [hidden, hidden], device)?,
                        conv2: load_conv(&b, "conv2", kernel, [hidden, hidden], device)?,
                    })
                })
                .collect::<Result<_, NnError>>()?,
            conv_out: load_conv(&w, "conv_out", kernel, [hidden, shape.output], device)?,
            step_input: shape.step_input,
        })
    }

    /// This refiner reading the step as well: its first convolution gains
    /// an input plane whose weights start at zero, so it corrects exactly
    /// as before until training moves them. A refiner that reads the step
    /// already is returned as it is.
    pub fn with_step_input(mut self) -> Self {
        if self.step_input {
            return self;
        }
        let weight = self.conv_in.weight.val();
        let [hidden, _, kh, kw] = weight.dims();
        let zero = Tensor::<4>::zeros([hidden, 1, kh, kw], &weight.device());
        self.conv_in.weight = burn::module::Param::from_tensor(Tensor::cat(vec![weight, zero], 1).detach());
        self.step_input = true;
        self
    }

    /// Whether the refiner reads the quantizer step.
    pub fn reads_step(&self) -> bool {
        self.step_input
    }

    /// Hidden channels.
    pub fn hidden(&self) -> usize {
        self.conv_in.weight.dims()[0]
    }

    /// Residual blocks.
    pub fn depth(&self) -> usize {
        self.blocks.len()
    }

    /// Latent positions on each side (along each axis the kernel spans)
    /// that an output position depends on.
    pub fn radius(&self) -> usize {
        2 * self.blocks.len() + 2
    }

    /// Every convolution with its name in the model file.
    pub fn named_convs(&self) -> Vec<(String, &Conv2d)> {
        let mut convs = vec![(format!("{PREFIX}.conv_in"), &self.conv_in)];
        for (i, block) in self.blocks.iter().enumerate() {
            convs.push((format!("{PREFIX}.blocks.{i}.conv1"), &block.conv1));
            convs.push((format!("{PREFIX}.blocks.{i}.conv2"), &block.conv2));
        }
        convs.push((format!("{PREFIX}.conv_out"), &self.conv_out));
        convs
    }

    /// The correction `[batch, D, h, w]` for dequantized latents `[batch,
    /// K, h, w]` coded at `step` (which only a step-conditioned refiner
    /// reads).
    pub fn forward(&self, z: Tensor<4>, step: Step) -> Tensor<4> {
        let z = if self.step_input {
            let [batch, _, h, w] = z.dims();
            let plane = Tensor::<4>::full([batch, 1, h, w], step_condition(step), &z.device());
            Tensor::cat(vec![z, plane], 1)
        } else {
            z
        };
        let mut x = self.conv_in.forward(z);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.conv_out.forward(silu(x))
    }
}
