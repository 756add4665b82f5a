//! `train --test FILE`: a held-out test set, read with the training data's options (label
//! column, targets, header), preprocessed as the training set is (its statistics, never the
//! test set's own), and evaluated after training; with `--test-each-epoch`, after every
//! epoch too (by the training loop, [`crate::train::Config::test`]).

use super::args::{DataArgs, TrainArgs};
use super::{Error, fits, labels, read_one};
use crate::train::dataset::{Dataset, Preprocessing};
use crate::train::{self, Model};
use std::sync::Arc;

/// The test set `--test` names, read and preprocessed, or `None` without `--test`; a missing
/// or unreadable file, or one whose rows do not fit the network, is an error.
pub(super) fn read<M: Model>(
    args: &TrainArgs,
    preprocessing: &Preprocessing,
) -> Result<Option<Arc<Dataset>>, Error> {
    let Some(path) = &args.test else {
        return Ok(None);
    };
    if !path.exists() {
        return Err(format!("--test {}: no such file or folder", path.display()).into());
    }
    let data = DataArgs {
        data: path.clone(),
        ..args.data.clone()
    };
    // The training run's mapping of class names (none when it was trained on indices).
    let names = labels::names(&data, Some(preprocessing))?;
    let (mut set, _) = read_one::<M>(&data, names).map_err(|e| format!("--test: {e}"))?;
    fits::<M>(&set, path)?;
    if set.is_empty() {
        return Err(format!("--test {}: no samples", path.display()).into());
    }
    preprocessing.apply(&mut set)?;
    Ok(Some(Arc::new(set)))
}

/// Prints the test set's loss, and accuracy for a classifier, after training.
pub(super) fn show<M: Model>(net: &M, test: &Dataset, args: &TrainArgs) -> Result<(), Error> {
    let e = train::evaluate(net, test, args.batch.max(256))?;
    let accuracy = e
        .accuracy
        .map(|a| format!(", accuracy {:.2}%", 100.0 * a))
        .unwrap_or_default();
    let path = args.test.as_deref().map(|p| p.display().to_string());
    println!(
        "test ({} samples of {}): loss {:.4}{accuracy}",
        test.len(),
        path.unwrap_or_default(),
        e.loss
    );
    Ok(())
}
