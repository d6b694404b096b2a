//! A training run as library code: the loop's schedule (linear warm-up,
//! then the learning rate cut on validation plateaus), batches made ahead
//! on a worker thread, validation, checkpoints as bytes (the caller writes
//! them where it likes) and exact resumption, and the finished model with
//! its entropy tables recounted and its provenance.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use walloc_codec::fit::recount_tables;
use walloc_codec::registry::Registry;
use walloc_codec::{Architecture, Model, ModelId};
use walloc_wavelet::FilterBank;

use crate::error::NnError;
use crate::examples::Examples;
use crate::liveaction::train::{fresh_model, LiveActionTrainer};
use crate::recipe::TrainConfig;
use crate::train::{Batch, CodecTrainer, Trainer};

/// Where a run stands; saved with each checkpoint.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct TrainingState {
    /// Steps done.
    pub step: u64,
    /// The learning rate before warm-up (cut on plateaus).
    pub learning_rate: f64,
    /// The best validation MSE so far (infinite before the first, which
    /// JSON writes as `null`).
    #[serde(deserialize_with = "null_as_infinity")]
    pub best_validation: f64,
    /// Validations since it last improved.
    pub bad_validations: u32,
    /// The run's seed.
    pub seed: u64,
    /// The id the trained model keeps (64 hex digits in `state.json`): the
    /// start's, when the run trains a refine model's refiner further on its
    /// frozen encoder. Such a model writes the start's files byte for byte
    /// (the same projection and tables) and is a better decoder of them, so
    /// every file the start wrote still finds it. Any other run makes a
    /// model of its own id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeps_id: Option<ModelId>,
}

/// Reads a number that JSON may hold as `null` (serde_json's infinity).
fn null_as_infinity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::INFINITY))
}

/// A checkpoint: the model so far, the optimizer's state and the run's
/// state, as the bytes of three files (`model.safetensors`,
/// `optimizer.bpk`, `state.json`). Write the state last: a checkpoint is
/// whole once it is there.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The model file so far.
    pub model: Vec<u8>,
    /// AdamW's state (burn's record).
    pub optimizer: Vec<u8>,
    /// [`TrainingState`] as JSON.
    pub state: Vec<u8>,
}

/// Where a run starts.
pub enum Start {
    /// A new model: for a WaLLoC codec the closed-form PCA model of the
    /// examples, for LiVeAction a network fresh from its initializers.
    Fresh {
        /// Seed of the pieces the PCA is fitted on (or of the
        /// initialization), and of the run.
        seed: u64,
    },
    /// A model of the config's architecture and shape (a linear model for
    /// a WaLLoC run), run with this seed.
    From {
        /// The model.
        model: Box<Model>,
        /// Seed of crops, flips and noise.
        seed: u64,
    },
    /// A checkpoint of an interrupted run.
    Resume(Checkpoint),
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps done, this one included.
    pub step: u64,
    /// The batch's loss (MSE on packet coefficients).
    pub loss: f64,
    /// The learning rate the step used (with warm-up).
    pub learning_rate: f64,
    /// The validation MSE, when this step validated.
    pub validation: Option<f64>,
}

/// Peak-normalised PSNR of a mean squared error of signals in [-1/2, 1/2].
pub fn psnr(mse: f64) -> f64 {
    10.0 * (1.0 / mse.max(1e-20)).log10()
}

/// A training run in progress.
pub struct Training {
    config: TrainConfig,
    trainer: Box<dyn Trainer>,
    base: Model,
    state: TrainingState,
    examples: Arc<Examples>,
    validation: Option<Batch>,
    feed: Receiver<Result<Batch, NnError>>,
}

impl Training {
    /// Starts (or resumes) a run of `config` on `examples`, validating on
    /// pieces of `held_out` when given.
    pub fn new(
        config: TrainConfig,
        examples: Examples,
        held_out: Option<&Examples>,
        start: Start,
    ) -> Result<Self, NnError> {
        config.validate()?;
        let largest_crop = config.crop_schedule.iter().chain([&config.crop]).max().copied();
        let largest = TrainConfig {
            crop: largest_crop.unwrap_or(config.crop),
            ..config.clone()
        };
        if examples.usable(&largest).is_empty() {
            return Err(NnError::Training(format!(
                "no example is large enough for one {}",
                largest.piece_name()
            )));
        }
        let bank = FilterBank::by_name("bior4.4").ok_or_else(|| NnError::Training("no bior4.4 filter bank".into()))?;
        let validation = match held_out {
            Some(val) => val.validation_batch(&config, &bank)?,
            None => None,
        };
        let fresh = |seed: u64| TrainingState {
            step: 0,
            learning_rate: config.learning_rate,
            best_validation: f64::INFINITY,
            bad_validations: 0,
            seed,
            keeps_id: None,
        };
        let (base, trainer, state) = match start {
            Start::Resume(checkpoint) => {
                let state: TrainingState = serde_json::from_slice(&checkpoint.state)
                    .map_err(|e| NnError::Training(format!("checkpoint state: {e}")))?;
                let model = Model::from_bytes(checkpoint.model)?;
                let mut trainer = trainer_for(&model, &config)?;
                trainer.load_optimizer_state(checkpoint.optimizer)?;
                (model, trainer, state)
            }
            Start::From { model, seed } => {
                let model = start_from(*model, &config)?;
                let trainer = trainer_for(&model, &config)?;
                let refines_further = config.freeze_encoder
                    && config.liveaction.is_none()
                    && model.config().architecture == Architecture::Refine;
                let state = TrainingState {
                    keeps_id: refines_further.then_some(model.id()),
                    ..fresh(seed)
                };
                (model, trainer, state)
            }
            Start::Fresh { seed } => {
                let model = match config.liveaction_shape() {
                    Some(shape) => fresh_model(&config.name, config.description(), &shape, seed)?,
                    None => examples.pca_start(&config, &config.fit_options(), seed)?,
                };
                let trainer = trainer_for(&model, &config)?;
                (model, trainer, fresh(seed))
            }
        };
        let examples = Arc::new(examples);
        let feed = batches(Arc::clone(&examples), config.clone(), state.seed, state.step, bank);
        Ok(Training {
            config,
            trainer,
            base,
            state,
            examples,
            validation,
            feed,
        })
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Where the run stands.
    pub fn state(&self) -> &TrainingState {
        &self.state
    }

    /// Whether every step is done.
    pub fn is_done(&self) -> bool {
        self.state.step >= self.config.steps
    }

    /// The device the run trains on, in words.
    pub fn device(&self) -> String {
        self.trainer.device_name()
    }

    /// The validation MSE now (`None` without held-out pieces).
    pub fn validate(&self) -> Result<Option<f64>, NnError> {
        self.validation
            .as_ref()
            .map(|val| self.trainer.validate(val))
            .transpose()
    }

    /// One optimiser step on the next batch; every `validate_every` steps
    /// a validation, and the learning rate is cut after
    /// `plateau_patience` validations without improvement.
    pub fn step(&mut self) -> Result<StepReport, NnError> {
        let batch = self
            .feed
            .recv()
            .map_err(|_| NnError::Training("the batch worker stopped".into()))??;
        let config = &self.config;
        let state = &mut self.state;
        let warm = if config.warmup_steps > 0 {
            ((state.step + 1) as f64 / config.warmup_steps as f64).min(1.0)
        } else {
            1.0
        };
        let learning_rate = state.learning_rate * warm;
        // Each step's noise, like its batch, depends on the seed and the
        // step alone: a resumed run goes on exactly as the first would have.
        self.trainer.seed(step_seed(state.seed, state.step));
        let progress = state.step as f64 / config.steps as f64;
        let loss = self.trainer.step(&batch, learning_rate, progress)?;
        state.step += 1;
        let mut validation = None;
        if state.step.is_multiple_of(config.validate_every) {
            if let Some(val) = &self.validation {
                let mse = self.trainer.validate(val)?;
                if mse < state.best_validation {
                    state.best_validation = mse;
                    state.bad_validations = 0;
                } else {
                    state.bad_validations += 1;
                    if state.bad_validations >= config.plateau_patience {
                        state.learning_rate *= config.plateau_factor;
                        state.bad_validations = 0;
                    }
                }
                validation = Some(mse);
            }
        }
        Ok(StepReport {
            step: state.step,
            loss,
            learning_rate,
            validation,
        })
    }

    /// The trained model so far, under the id it keeps
    /// ([`TrainingState::keeps_id`]), if any.
    fn export(&self) -> Result<Model, NnError> {
        let trained = self.trainer.export(&self.base)?;
        Ok(match self.state.keeps_id {
            Some(id) => trained.extending(id)?,
            None => trained,
        })
    }

    /// The run so far, to resume from exactly.
    pub fn checkpoint(&self) -> Result<Checkpoint, NnError> {
        Ok(Checkpoint {
            model: self.export()?.to_bytes().to_vec(),
            optimizer: self.trainer.optimizer_state()?,
            state: serde_json::to_vec_pretty(&self.state).map_err(|e| NnError::Training(e.to_string()))?,
        })
    }

    /// The trained model: its description, `provenance` with the run's
    /// steps, seed and config added, and (unless the encoder was frozen,
    /// so the start's tables still fit its latents) entropy tables
    /// recounted on the training examples with `registry`'s encoder.
    pub fn finish(&self, registry: &Registry, mut provenance: serde_json::Value) -> Result<Model, NnError> {
        let trained = self.export()?;
        let mut config = trained.config().clone();
        config.description = self.config.description();
        if !provenance.is_object() {
            provenance = serde_json::json!({});
        }
        provenance["files"] = serde_json::json!(self.examples.len());
        provenance["steps"] = serde_json::json!(self.state.step);
        provenance["seed"] = serde_json::json!(self.state.seed);
        provenance["config"] = serde_json::to_value(&self.config).map_err(|e| NnError::Training(e.to_string()))?;
        config.provenance = provenance;
        let described = trained.with_weights(&[], Some(config))?;
        if self.config.freeze_encoder {
            return Ok(described);
        }
        let latents = self.examples.latents(registry, &described)?;
        Ok(recount_tables(&described, &latents, "the training examples")?)
    }
}

/// The seed of step `step`'s batch and noise.
fn step_seed(seed: u64, step: u64) -> u64 {
    seed ^ step.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A worker thread making the batches of the steps from `first` on, ahead
/// of the optimiser.
fn batches(
    examples: Arc<Examples>,
    config: TrainConfig,
    seed: u64,
    first: u64,
    bank: FilterBank,
) -> Receiver<Result<Batch, NnError>> {
    let (sender, receiver) = sync_channel(4);
    std::thread::spawn(move || {
        for step in first.. {
            let mut rng = StdRng::seed_from_u64(step_seed(seed, step));
            if sender
                .send(examples.batch(&config.at_step(step), &bank, &mut rng))
                .is_err()
            {
                break;
            }
        }
    });
    receiver
}

/// The trainer of `model`'s architecture: the one place a run chooses it.
fn trainer_for(model: &Model, config: &TrainConfig) -> Result<Box<dyn Trainer>, NnError> {
    Ok(match model.config().architecture {
        Architecture::Liveaction => Box::new(LiveActionTrainer::new(model, config.liveaction_options())?),
        _ => Box::new(CodecTrainer::new(model, config.options())?),
    })
}

/// A start model checked against the config (a linear model, or a refine
/// model whose refiner trains on, for a WaLLoC run; a LiVeAction model of
/// the config's shape for a LiVeAction one), renamed as the run's.
fn start_from(model: Model, config: &TrainConfig) -> Result<Model, NnError> {
    let c = model.config();
    let (fits, wanted) = match config.liveaction_shape() {
        Some(shape) => (
            c.liveaction.as_ref() == Some(&shape),
            format!("{} liveaction model of the config's shape", config.modality),
        ),
        None => (
            Registry::core().supports(&model) || c.architecture == Architecture::Refine,
            format!("linear or refine {} model", config.modality),
        ),
    };
    if !fits || c.modality != config.modality {
        return Err(NnError::Training(format!(
            "{} is a {} {} model, not a {wanted}",
            c.name, c.architecture, c.modality
        )));
    }
    if (c.channels, c.levels, c.latent_dim) != (config.channels, config.levels, config.latent_dim) {
        return Err(NnError::Training(format!(
            "{} has {} channels, J = {} and {} latent channels; the config asks for {}, {} and {}",
            c.name, c.channels, c.levels, c.latent_dim, config.channels, config.levels, config.latent_dim
        )));
    }
    let mut start = c.clone();
    start.name = config.name.clone();
    start.figures = None;
    Ok(model.with_weights(&[], Some(start))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use walloc_codec::Image8;

    fn photos() -> Examples {
        let image = |seed: u32| {
            let pixels = (0..64 * 48 * 3)
                .map(|i: u32| {
                    let (x, y, c) = ((i / 3) % 64, (i / 3) / 64, i % 3);
                    (128.0 + 60.0 * ((x + seed) as f32 / (5.0 + c as f32)).sin() * (y as f32 / 7.0).cos()) as u8
                })
                .collect();
            Image8::new(64, 48, 3, pixels).unwrap()
        };
        Examples::Images((0..3).map(image).collect())
    }

    fn config(steps: u64) -> TrainConfig {
        TrainConfig::from_json(&format!(
            r#"{{"name": "tiny", "levels": 2, "latent_dim": 6, "steps": {steps}, "batch": 2, "crop": 32,
                "learning_rate": 0.002, "warmup_steps": 3, "validate_every": 4}}"#
        ))
        .unwrap()
    }

    fn run_to_end(training: &mut Training) {
        while !training.is_done() {
            training.step().unwrap();
        }
    }

    /// burn's random generator is one for the process, which other tests
    /// draw from in parallel: with a frozen encoder the bottleneck rounds
    /// (no noise), so the run depends on its own seeds alone.
    fn frozen(steps: u64) -> TrainConfig {
        TrainConfig {
            freeze_encoder: true,
            ..config(steps)
        }
    }

    #[test]
    fn a_resumed_run_goes_on_exactly_as_the_first_would_have() {
        let held_out = photos();
        let mut first = Training::new(frozen(12), photos(), Some(&held_out), Start::Fresh { seed: 5 }).unwrap();
        for _ in 0..6 {
            first.step().unwrap();
        }
        let halfway = first.checkpoint().unwrap();
        run_to_end(&mut first);

        let mut resumed = Training::new(frozen(12), photos(), Some(&held_out), Start::Resume(halfway)).unwrap();
        assert_eq!(resumed.state().step, 6);
        run_to_end(&mut resumed);
        // Steps 7 to 12 ran on the restored AdamW moments, so equal weights
        // hold the optimizer state too (its bytes are not in a fixed order).
        let (a, b) = (first.checkpoint().unwrap(), resumed.checkpoint().unwrap());
        assert!(a.model == b.model, "the weights differ");
        assert_eq!(a.state, b.state);
        assert!(first.validate().unwrap().unwrap() < 0.05);

        // Training moved the model; a finished file of a trained encoder
        // has its tables recounted, and its provenance.
        let start = Training::new(config(12), photos(), None, Start::Fresh { seed: 5 }).unwrap();
        assert!(start.checkpoint().unwrap().model != a.model);
        let frozen_model = first.finish(&Registry::core(), serde_json::json!({})).unwrap();
        assert_eq!(frozen_model.config().provenance["steps"].as_u64(), Some(12));
        let model = start
            .finish(&Registry::core(), serde_json::json!({"start": "PCA fit"}))
            .unwrap();
        let provenance = &model.config().provenance;
        assert_eq!(
            (provenance["steps"].as_u64(), provenance["seed"].as_u64()),
            (Some(0), Some(5))
        );
        assert!(provenance["entropy_tables"]
            .as_str()
            .unwrap()
            .starts_with("counted on 3 latents"));
    }

    #[test]
    fn a_refiner_trained_further_keeps_its_models_id() {
        let refining = |steps: u64| TrainConfig {
            refiner_hidden: Some(8),
            refiner_blocks: Some(1),
            ..frozen(steps)
        };
        // A refiner grown on a linear start is a model of its own.
        let mut first = Training::new(refining(4), photos(), None, Start::Fresh { seed: 1 }).unwrap();
        run_to_end(&mut first);
        assert_eq!(first.state().keeps_id, None);
        let refine = first.finish(&Registry::core(), serde_json::json!({})).unwrap();
        assert_eq!(refine.config().architecture, Architecture::Refine);
        assert_eq!(refine.config().extends, None);
        // Trained further on its frozen encoder, it is the same model with a
        // better decoder: it keeps the id, through a checkpoint and resume.
        let start = || Start::From {
            model: Box::new(refine.clone()),
            seed: 2,
        };
        let mut further = Training::new(refining(4), photos(), None, start()).unwrap();
        further.step().unwrap();
        let halfway = further.checkpoint().unwrap();
        let mut resumed = Training::new(refining(4), photos(), None, Start::Resume(halfway)).unwrap();
        run_to_end(&mut resumed);
        let better = resumed.finish(&Registry::core(), serde_json::json!({})).unwrap();
        assert_eq!(better.id(), refine.id());
        assert_ne!(better.to_bytes(), refine.to_bytes(), "the refiner was trained");
        assert_eq!(better.weights().encoder_weight, refine.weights().encoder_weight);
        // An encoder that trains writes other files: its own id.
        let unfrozen = TrainConfig {
            freeze_encoder: false,
            ..refining(2)
        };
        let mut other = Training::new(unfrozen, photos(), None, start()).unwrap();
        run_to_end(&mut other);
        assert_eq!(other.state().keeps_id, None);
        assert_ne!(
            other.finish(&Registry::core(), serde_json::json!({})).unwrap().id(),
            refine.id()
        );
    }

    #[test]
    fn a_checkpoint_state_holds_the_kept_id_in_hex_and_refuses_a_damaged_one() {
        let state = TrainingState {
            step: 3,
            learning_rate: 1e-3,
            best_validation: 0.5,
            bad_validations: 0,
            seed: 1,
            keeps_id: Some(ModelId([7; 32])),
        };
        let text = serde_json::to_string(&state).unwrap();
        assert!(text.contains(&"07".repeat(32)), "{text}");
        assert_eq!(serde_json::from_str::<TrainingState>(&text).unwrap(), state);
        let damaged = text.replace(&"07".repeat(32), "not an id");
        let error = serde_json::from_str::<TrainingState>(&damaged).unwrap_err();
        assert!(error.to_string().contains("model id"), "{error}");
        // Checkpoints of earlier builds hold no kept id.
        let earlier =
            r#"{"step": 3, "learning_rate": 0.001, "best_validation": null, "bad_validations": 0, "seed": 1}"#;
        assert_eq!(serde_json::from_str::<TrainingState>(earlier).unwrap().keeps_id, None);
    }

    fn liveaction(steps: u64) -> TrainConfig {
        TrainConfig::from_json(&format!(
            r#"{{"name": "tiny-liveaction", "levels": 2, "latent_dim": 12, "steps": {steps}, "batch": 2,
                "crop": 32, "learning_rate": 0.002, "validate_every": 5,
                "liveaction": {{"encoder_depth": 1, "decoder_depth": 1, "freeze_encoder_at": 0.3}}}}"#
        ))
        .unwrap()
    }

    /// The tensors of a model file whose names start with one of `prefixes`.
    fn tensors_of(model: &[u8], prefixes: &[&str]) -> Vec<(String, Vec<u8>)> {
        let st = safetensors::SafeTensors::deserialize(model).unwrap();
        let mut tensors: Vec<(String, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .map(|(name, view)| (name, view.data().to_vec()))
            .collect();
        tensors.sort();
        tensors
    }

    #[test]
    fn a_liveaction_run_trains_freezes_its_encoder_and_resumes_exactly() {
        let held_out = photos();
        let mut run = Training::new(liveaction(10), photos(), Some(&held_out), Start::Fresh { seed: 3 }).unwrap();
        let before = run.validate().unwrap().unwrap();
        // The encoder freezes after 30 % of the steps; from then on the
        // latents are rounded, so the run depends on its own seeds alone.
        for _ in 0..4 {
            run.step().unwrap();
        }
        let frozen = run.checkpoint().unwrap();
        run_to_end(&mut run);
        let end = run.checkpoint().unwrap();
        let encoder = ["encoder_blocks", "conv_down", "quantize"];
        assert_eq!(tensors_of(&frozen.model, &encoder), tensors_of(&end.model, &encoder));
        let decoder = ["conv_up", "decoder_blocks"];
        assert_ne!(tensors_of(&frozen.model, &decoder), tensors_of(&end.model, &decoder));
        assert!(
            run.validate().unwrap().unwrap() < before,
            "training did not lower the error"
        );

        let mut resumed = Training::new(liveaction(10), photos(), Some(&held_out), Start::Resume(frozen)).unwrap();
        run_to_end(&mut resumed);
        assert!(
            resumed.checkpoint().unwrap().model == end.model,
            "the resumed run differs"
        );

        // The finished model codes through the registry, its tables counted.
        let model = run.finish(&crate::registry(), serde_json::json!({})).unwrap();
        assert_eq!(model.config().architecture, Architecture::Liveaction);
        assert!(model.config().provenance["entropy_tables"]
            .as_str()
            .unwrap()
            .starts_with("counted on 3 latents"));
        let image = Image8::new(32, 32, 3, (0..32 * 32 * 3).map(|i| (i % 251) as u8).collect()).unwrap();
        let file = walloc_codec::codec::encode_with(&crate::registry(), &model, &image, Default::default()).unwrap();
        let back = walloc_codec::codec::decode_with::<u8>(
            &crate::registry(),
            &model,
            &file,
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!((back.width, back.height), (32, 32));
    }

    #[test]
    fn a_liveaction_config_is_checked_before_it_runs() {
        for (json, problem) in [
            (
                r#""liveaction": {}, "refiner_hidden": 8, "refiner_blocks": 1"#,
                "no refiner",
            ),
            (r#""liveaction": {"freeze_encoder_at": 0}"#, "freeze_encoder_at"),
            (r#""liveaction": {"encoder_kernel_size": 2}"#, "encoder_kernel_size"),
            (r#""liveaction": {}, "latent_dim": 7"#, "groups"),
        ] {
            let text = format!(r#"{{"name": "x", "levels": 2, "steps": 4, "latent_dim": 12, {json}}}"#).replace(
                r#""latent_dim": 12, "liveaction": {}, "latent_dim": 7"#,
                r#""liveaction": {}, "latent_dim": 7"#,
            );
            let error = TrainConfig::from_json(&text).unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
        }
        let config = liveaction(4);
        assert_eq!(config.rate_weight(), 0.03);
        assert_eq!(config.liveaction_shape().unwrap().hidden(), 48);
    }

    #[test]
    fn a_start_that_does_not_fit_the_config_is_named() {
        let from = |model: Model| {
            let model = Box::new(model);
            Training::new(config(4), photos(), None, Start::From { model, seed: 0 })
        };
        let start = Training::new(config(4), photos(), None, Start::Fresh { seed: 1 }).unwrap();
        let pca = Model::from_bytes(start.checkpoint().unwrap().model).unwrap();
        let mut other = config(4);
        other.latent_dim = 5;
        let error = Training::new(
            other,
            photos(),
            None,
            Start::From {
                model: Box::new(pca.clone()),
                seed: 0,
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(error.contains("has 3 channels, J = 2 and 6 latent channels"), "{error}");
        assert!(from(pca).is_ok());
        let small = Examples::Images(vec![Image8::new(8, 8, 3, vec![0; 192]).unwrap()]);
        let error = Training::new(config(4), small, None, Start::Fresh { seed: 1 })
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("large enough"), "{error}");
    }
}
