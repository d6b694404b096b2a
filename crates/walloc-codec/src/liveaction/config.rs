//! The arguments of the reference's `AutoCodecND`, validated.

use serde::{Deserialize, Serialize};

use super::conv::pick_groups;
use crate::error::{CodecError, Result};

/// Largest hidden width `C·2^(D·J)` accepted from a file (the reference's
/// largest published model, RGB at J = 4 in 2-D, is 768 wide; 3-D at J = 3
/// with one channel is 512).
const MAX_HIDDEN: usize = 1 << 14;
/// Largest encoder or decoder depth accepted from a file.
const MAX_DEPTH: usize = 64;
/// Largest convolution kernel accepted from a file.
const MAX_KERNEL: usize = 15;

/// A LiVeAction model's shape: the arguments of livecodec's `AutoCodecND`
/// under their own names (a livecodec checkpoint's config, as JSON), with
/// the reference's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveActionConfig {
    /// Signal axes: 1 (audio), 2 (images) or 3 (volumes, video).
    #[serde(default = "default_dim")]
    pub dim: usize,
    /// Signal channels.
    #[serde(default = "default_input_channels")]
    pub input_channels: usize,
    /// Wavelet packet levels.
    #[serde(rename = "J", default = "default_levels")]
    pub levels: usize,
    /// Latent channels.
    #[serde(default = "default_latent_dim")]
    pub latent_dim: usize,
    /// Residual blocks of the encoder.
    #[serde(default = "default_depth")]
    pub encoder_depth: usize,
    /// Kernel of the encoder's factorized convolutions.
    #[serde(default = "default_kernel")]
    pub encoder_kernel_size: usize,
    /// Blocks of the decoder.
    #[serde(default = "default_depth")]
    pub decoder_depth: usize,
    /// Kernel of a lightweight decoder's factorized convolutions.
    #[serde(default = "default_kernel")]
    pub decoder_kernel_size: usize,
    /// Whether the encoder is the factorized residual stack (`true`) or an
    /// EfficientViT stage.
    #[serde(default = "default_true")]
    pub lightweight_encode: bool,
    /// Whether the decoder is the factorized residual stack (`true`) or an
    /// EfficientViT stage (`false`).
    #[serde(default)]
    pub lightweight_decode: bool,
}

/// `AutoCodecND`'s arguments, as the config names them.
const FIELDS: [&str; 10] = [
    "dim",
    "input_channels",
    "J",
    "latent_dim",
    "encoder_depth",
    "encoder_kernel_size",
    "decoder_depth",
    "decoder_kernel_size",
    "lightweight_encode",
    "lightweight_decode",
];

fn default_dim() -> usize {
    2
}
fn default_input_channels() -> usize {
    3
}
fn default_levels() -> usize {
    4
}
fn default_latent_dim() -> usize {
    12
}
fn default_depth() -> usize {
    6
}
fn default_kernel() -> usize {
    3
}
fn default_true() -> bool {
    true
}

fn invalid(what: String) -> CodecError {
    CodecError::InvalidModel(format!("LiVeAction config: {what}"))
}

impl LiveActionConfig {
    /// Reads a config from JSON (livecodec's config namespace written out
    /// as an object) and validates it.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: LiveActionConfig = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the config a livecodec checkpoint was made with, written out
    /// as JSON: `AutoCodecND`'s arguments, or the namespace of the
    /// reference's training notebooks, which gives the patch size `F = 2^J`
    /// instead of `J` and adds its training settings (`λ`, `epochs`,
    /// `max_lr`, ...). Returns the config and the names of the fields that
    /// are not `AutoCodecND`'s, which are ignored. `dim` defaults to 2
    /// (the notebooks pass it in code).
    pub fn from_reference_json(text: &str) -> Result<(Self, Vec<String>)> {
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(f) = fields.remove("F") {
            let patch = f
                .as_u64()
                .filter(|f| f.is_power_of_two() && *f >= 2)
                .ok_or_else(|| invalid(format!("F {f} (a power of two, at least 2)")))?;
            let levels = serde_json::Value::from(patch.trailing_zeros());
            match fields.get("J") {
                Some(j) if *j != levels => return Err(invalid(format!("F {patch} and J {j} disagree"))),
                _ => {
                    fields.insert("J".into(), levels);
                }
            }
        }
        let ignored: Vec<String> = fields
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        fields.retain(|k, _| FIELDS.contains(&k.as_str()));
        let config: LiveActionConfig =
            serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| invalid(e.to_string()))?;
        config.validate()?;
        Ok((config, ignored))
    }

    /// The hidden width `C·2^(D·J)`: the packet transform's channels.
    pub fn hidden(&self) -> usize {
        self.input_channels << (self.dim * self.levels)
    }

    /// Dimensionality reduction: hidden width over latent channels.
    pub fn dimensionality_reduction(&self) -> f64 {
        self.hidden() as f64 / self.latent_dim as f64
    }

    /// Checks what the reference would refuse or fail on, and sizes no
    /// honest model reaches.
    pub fn validate(&self) -> Result<()> {
        if !(1..=3).contains(&self.dim) {
            return Err(invalid(format!("dim {} (1, 2 or 3)", self.dim)));
        }
        if self.input_channels == 0 || self.latent_dim == 0 || self.levels == 0 {
            return Err(invalid("input_channels, J and latent_dim must be at least 1".into()));
        }
        if self.dim * self.levels > 24 || self.hidden() > MAX_HIDDEN {
            return Err(invalid(format!(
                "hidden width {}·2^({}·{}) exceeds {MAX_HIDDEN}",
                self.input_channels, self.dim, self.levels
            )));
        }
        if self.latent_dim > self.hidden() {
            return Err(invalid(format!(
                "latent_dim {} exceeds the hidden width {}",
                self.latent_dim,
                self.hidden()
            )));
        }
        if self.encoder_depth > MAX_DEPTH || self.decoder_depth > MAX_DEPTH {
            return Err(invalid(format!("depths above {MAX_DEPTH}")));
        }
        for (name, k) in [
            ("encoder_kernel_size", self.encoder_kernel_size),
            ("decoder_kernel_size", self.decoder_kernel_size),
        ] {
            if k % 2 == 0 || k > MAX_KERNEL {
                return Err(invalid(format!("{name} {k} (odd, at most {MAX_KERNEL})")));
            }
        }
        let hidden = self.hidden();
        if !hidden.is_multiple_of(8) {
            return Err(invalid(format!(
                "hidden width {hidden} is not a multiple of GroupNorm's 8 groups"
            )));
        }
        let squeeze = hidden / 4;
        for (what, inputs, outputs) in [
            ("conv_down", hidden, self.latent_dim),
            ("conv_up", self.latent_dim, hidden),
            ("squeeze-excite reduction", hidden, squeeze),
            ("squeeze-excite expansion", squeeze, hidden),
        ] {
            let (_, g2) = pick_groups(inputs, outputs);
            if outputs % g2 != 0 {
                return Err(invalid(format!(
                    "{what}: {outputs} outputs do not split into the {g2} groups the reference picks for {inputs} inputs"
                )));
            }
        }
        if !(self.lightweight_encode && self.lightweight_decode) && hidden < 32 {
            return Err(invalid(format!(
                "hidden width {hidden}: an EfficientViT stage's attention needs at least 32"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_references() {
        let config = LiveActionConfig::from_json("{}").unwrap();
        assert_eq!(config.hidden(), 768);
        assert_eq!(config.dimensionality_reduction(), 64.0);
        assert!(config.lightweight_encode && !config.lightweight_decode);
    }

    #[test]
    fn reads_the_training_notebooks_namespace() {
        // livecodec's lsdir_f16c48 notebook's config, written out as JSON.
        let text = r#"{"F": 8, "latent_dim": 12, "input_channels": 3, "encoder_depth": 4,
            "encoder_kernel_size": 1, "decoder_depth": 12, "lightweight_encode": true,
            "lightweight_decode": false, "λ": 0.1, "epochs": 50, "max_lr": 0.0003}"#;
        let (config, ignored) = LiveActionConfig::from_reference_json(text).unwrap();
        assert_eq!((config.dim, config.levels, config.hidden()), (2, 3, 192));
        assert_eq!((config.encoder_kernel_size, config.decoder_depth), (1, 12));
        assert_eq!(ignored, ["epochs", "max_lr", "λ"]);
        for bad in [r#"{"F": 12}"#, r#"{"F": 8, "J": 4}"#, r#"{"F": 1}"#] {
            assert!(LiveActionConfig::from_reference_json(bad).is_err(), "{bad}");
        }
        // The strict reader refuses what it does not know.
        assert!(LiveActionConfig::from_json(text).is_err());
    }

    #[test]
    fn refuses_what_the_reference_cannot_build() {
        for bad in [
            r#"{"dim": 4}"#,
            r#"{"J": 0}"#,
            r#"{"J": 12}"#,
            r#"{"encoder_kernel_size": 2}"#,
            r#"{"input_channels": 1, "dim": 1, "J": 2}"#,
            r#"{"latent_dim": 7}"#,
            r#"{"latent_dim": 12, "unknown": 1}"#,
        ] {
            assert!(LiveActionConfig::from_json(bad).is_err(), "{bad}");
        }
    }
}
