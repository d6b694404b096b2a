//! The stacks of blocks either side of the latent: the reference builds
//! its encoder and decoder from factorized residual blocks (its
//! "lightweight" choice, `encoder_blocks.{i}`) or from an EfficientViT
//! stage (`encoder_blocks.blocks.{i}`), independently for each side.

use burn::prelude::*;
use walloc_codec::model::TensorBytes;

use super::decoder::EfficientVitBlock;
use super::encoder::ResBlock;
use super::layers::Params;
use crate::error::NnError;

/// What a stack is made of, and how deep and wide it is.
#[derive(Clone, Copy, Debug)]
pub struct StageSpec {
    /// Factorized residual blocks (`true`) or EfficientViT blocks.
    pub lightweight: bool,
    /// Blocks.
    pub depth: usize,
    /// Channels (the packet transform's).
    pub channels: usize,
    /// Kernel of the factorized blocks' convolutions.
    pub kernel: usize,
    /// Signal axes.
    pub dim: usize,
}

/// A stack of blocks under `encoder_blocks` or `decoder_blocks`.
#[derive(Module, Debug)]
pub enum Stage {
    /// The reference's `nn.Sequential` of `FactorizedResBlockGNND`.
    Factorized(Vec<ResBlock>),
    /// The reference's `EfficientVitLargeStageND` (its blocks under `blocks`).
    EfficientVit(Vec<EfficientVitBlock>),
}

impl Stage {
    /// Builds the stack `spec` from `p` (the `…_blocks` prefix).
    pub fn build(p: &Params, spec: StageSpec, device: &Device) -> Result<Self, NnError> {
        Ok(if spec.lightweight {
            Stage::Factorized(
                (0..spec.depth)
                    .map(|b| ResBlock::build(&p.child(&b.to_string()), spec.channels, (spec.kernel, spec.dim), device))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            let blocks = p.child("blocks");
            Stage::EfficientVit(
                (0..spec.depth)
                    .map(|b| EfficientVitBlock::build(&blocks.child(&b.to_string()), spec.channels, spec.dim, device))
                    .collect::<Result<_, _>>()?,
            )
        })
    }

    /// Applies every block to `[batch, channels, positions]` on the grid `shape`.
    pub fn forward(&self, mut x: Tensor<3>, shape: &[usize]) -> Tensor<3> {
        match self {
            Stage::Factorized(blocks) => {
                for block in blocks {
                    x = block.forward(x, shape);
                }
            }
            Stage::EfficientVit(blocks) => {
                for block in blocks {
                    x = block.forward(x, shape);
                }
            }
        }
        x
    }

    /// Its parameters under `prefix` (`encoder_blocks` or `decoder_blocks`).
    pub fn export(&self, prefix: &str, out: &mut Vec<TensorBytes>) -> Result<(), NnError> {
        match self {
            Stage::Factorized(blocks) => {
                for (b, block) in blocks.iter().enumerate() {
                    block.export(&format!("{prefix}.{b}"), out)?;
                }
            }
            Stage::EfficientVit(blocks) => {
                for (b, block) in blocks.iter().enumerate() {
                    block.export(&format!("{prefix}.blocks.{b}"), out)?;
                }
            }
        }
        Ok(())
    }
}
