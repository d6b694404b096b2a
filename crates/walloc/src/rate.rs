//! Rate control: the finest quantizer step whose file fits a budget of
//! bits per position (pixel, audio frame or voxel), found by bisection
//! over whole encodes, since a file's size falls as its step grows.

use crate::{Error, Limits, Step};

/// Encodes with `encode_at` at the finest step (from `finest`, the
/// model's finest step, to quality 0's, [`Step::AT_QUALITY_0`]) whose file takes at most `bits_per_position` bits for each of
/// `positions`; each probe is a whole encode. When even quality 0 is
/// larger, its file is returned: the caller compares the rate. Errors of
/// `encode_at` come back as they are.
pub fn search<E: From<Error>>(
    positions: u64,
    bits_per_position: f64,
    finest: Step,
    mut encode_at: impl FnMut(Step) -> std::result::Result<Vec<u8>, E>,
) -> std::result::Result<(Vec<u8>, Step), E> {
    if !(bits_per_position.is_finite() && bits_per_position > 0.0) {
        return Err(Error::InvalidField {
            field: "bits per position",
            value: format!("{bits_per_position} (a positive number)"),
        }
        .into());
    }
    if positions == 0 {
        return Err(Error::IncompatibleInput("a rate of an empty signal".into()).into());
    }
    let mut probe = |code: i8| -> std::result::Result<(Vec<u8>, Step), E> {
        let step = Step::from_code(code)?;
        Ok((encode_at(step)?, step))
    };
    let fits = |file: &[u8]| file.len() as f64 * 8.0 / positions as f64 <= bits_per_position;
    let (finest, coarsest) = (finest.code(), Step::AT_QUALITY_0.code());
    let mut best = probe(coarsest)?;
    if !fits(&best.0) {
        return Ok(best);
    }
    // `best` is the file of code `high`, which fits; codes below `low` do not.
    let (mut low, mut high) = (finest, coarsest);
    while low < high {
        let middle = low + (high - low) / 2;
        let candidate = probe(middle)?;
        if fits(&candidate.0) {
            high = middle;
            best = candidate;
        } else {
            low = middle + 1;
        }
    }
    Ok(best)
}

/// [`search`] for a signal whose size only its files tell (a stream,
/// read again for each probe): the coarsest file is made first, and its
/// header gives the positions.
pub fn search_by_header<E: From<Error>>(
    bits_per_position: f64,
    finest: Step,
    mut encode_at: impl FnMut(Step) -> std::result::Result<Vec<u8>, E>,
) -> std::result::Result<(Vec<u8>, Step), E> {
    let coarsest = encode_at(Step::AT_QUALITY_0)?;
    let positions = crate::info::info(&coarsest, &Limits::default())?.positions() as u64;
    search(positions, bits_per_position, finest, |step| {
        if step == Step::AT_QUALITY_0 {
            return Ok(coarsest.clone());
        }
        encode_at(step)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `1000 / Δ` bytes, as a coder's size falls with the step.
    fn sized(step: Step) -> crate::Result<Vec<u8>> {
        Ok(vec![0; (1000.0 / step.factor()) as usize])
    }

    #[test]
    fn the_finest_step_within_the_budget() {
        // 8000 bits over 1000 positions at Δ = 1; 4 bits each needs Δ ≥ 2.
        let (file, step) = search(1000, 4.0, Step::AT_QUALITY_100, sized).unwrap();
        assert_eq!(step, Step::from_code(16).unwrap());
        assert_eq!(file.len(), 500);
        // The next finer step would not fit.
        assert!(sized(Step::from_code(15).unwrap()).unwrap().len() * 8 > 4000);
    }

    #[test]
    fn the_search_stops_at_the_models_finest_step() {
        let mut probed = Vec::new();
        let (_, step) = search(1000, 100.0, Step::NATIVE, |step| {
            probed.push(step.code());
            sized(step)
        })
        .unwrap();
        assert_eq!(step, Step::NATIVE, "every step fits: the finest the model codes at");
        assert!(probed.iter().all(|&code| code >= 0), "probed {probed:?}");
    }

    #[test]
    fn too_small_a_budget_gives_the_coarsest_and_bad_budgets_are_named() {
        let (_, step) = search(1000, 0.01, Step::AT_QUALITY_100, sized).unwrap();
        assert_eq!(step, Step::AT_QUALITY_0);
        for bad in [0.0, -1.0, f64::NAN] {
            let err = search(1000, bad, Step::AT_QUALITY_100, sized).unwrap_err();
            assert!(err.to_string().contains("bits per position"), "{err}");
        }
    }
}
