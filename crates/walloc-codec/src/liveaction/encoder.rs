//! The LiVeAction encoder: wavelet packet transform, the power-law
//! compander, the factorized residual blocks, `conv_down` and the Laplace
//! quantizer.

use walloc_wavelet::{packet, FilterBank};

use super::blocks::ResBlock;
use super::compand::{compand, LaplaceQuantizer, COMPAND_SCALE};
use super::config::LiveActionConfig;
use super::conv::FactorizedConv;
use super::feature::FeatureMap;
use super::weights::TensorSource;
use crate::error::{CodecError, Result};

/// A LiVeAction latent: `channels` planes of integers in `−127..=127` over
/// the signal's grid shrunk by `2^J` on every axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLatent {
    /// `channels · shape.product()` values, channel after channel.
    pub values: Vec<i8>,
    /// Latent channels.
    pub channels: usize,
    /// The latent grid.
    pub shape: Vec<usize>,
}

/// The lightweight LiVeAction encoder of one model, ready to run.
#[derive(Clone, Debug)]
pub struct LiveActionEncoder {
    config: LiveActionConfig,
    bank: FilterBank,
    blocks: Vec<ResBlock>,
    down: FactorizedConv,
    quantizer: LaplaceQuantizer,
}

impl LiveActionEncoder {
    /// Loads the encoder's parameters (`encoder_blocks.*`, `conv_down.*`,
    /// `quantize.compand.sigma`) from `source`, under the reference's names.
    pub fn load(config: &LiveActionConfig, source: &dyn TensorSource) -> Result<Self> {
        config.validate()?;
        if !config.lightweight_encode {
            return Err(CodecError::InvalidModel(
                "a LiVeAction model whose encoder is an EfficientViT stage (lightweight_encode false) has no pure-Rust encoder"
                    .into(),
            ));
        }
        let hidden = config.hidden();
        let blocks = (0..config.encoder_depth)
            .map(|b| {
                ResBlock::load(
                    source,
                    &format!("encoder_blocks.{b}"),
                    hidden,
                    config.encoder_kernel_size,
                    config.dim,
                )
            })
            .collect::<Result<_>>()?;
        let down = FactorizedConv::load(source, "conv_down", (hidden, config.latent_dim), 1, config.dim, false)?;
        let sigma = source.tensor_of_shape("quantize.compand.sigma", &[config.latent_dim])?;
        Ok(LiveActionEncoder {
            config: config.clone(),
            bank: FilterBank::bior4_4(),
            blocks,
            down,
            quantizer: LaplaceQuantizer::new(sigma),
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &LiveActionConfig {
        &self.config
    }

    /// Multiply-accumulates per latent position, the squeeze-excite's
    /// per-signal work left out.
    pub fn macs_per_position(&self) -> usize {
        self.blocks.iter().map(ResBlock::macs_per_position).sum::<usize>() + self.down.macs_per_position()
    }

    /// Checks `signal` against the model: its channels, its axes, and each
    /// axis a positive multiple of `2^J`.
    fn check(&self, signal: &FeatureMap) -> Result<()> {
        let block = 1usize << self.config.levels;
        if signal.channels != self.config.input_channels
            || signal.shape.len() != self.config.dim
            || signal.shape.iter().any(|&d| d == 0 || d % block != 0)
        {
            return Err(CodecError::IncompatibleInput(format!(
                "the model codes {} channels of {}-D signals whose axes are multiples of {block}; given {} channels of shape {:?}",
                self.config.input_channels, self.config.dim, signal.channels, signal.shape
            )));
        }
        Ok(())
    }

    /// The encoder's output before the quantizer (the reference's
    /// `AutoCodecND.encode`), for a signal in the model's range.
    pub fn analysis(&self, signal: FeatureMap) -> Result<FeatureMap> {
        self.check(&signal)?;
        let mut x = packet::forward(&self.bank, signal, self.config.levels as u32)?;
        x.data.iter_mut().for_each(|v| *v = COMPAND_SCALE * compand(*v));
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        self.down.forward(&x)
    }

    /// The Laplace compander's output before rounding.
    pub fn companded(&self, signal: FeatureMap) -> Result<FeatureMap> {
        let mut z = self.analysis(signal)?;
        for c in 0..z.channels {
            z.plane_mut(c)
                .iter_mut()
                .for_each(|v| *v = self.quantizer.companded(c, *v));
        }
        Ok(z)
    }

    /// The integer latent of `signal`: what the reference stores.
    pub fn encode(&self, signal: FeatureMap) -> Result<LiveLatent> {
        let z = self.analysis(signal)?;
        let n = z.plane_len();
        let values = z
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| self.quantizer.quantize(i / n, v))
            .collect();
        Ok(LiveLatent {
            values,
            channels: z.channels,
            shape: z.shape,
        })
    }
}
