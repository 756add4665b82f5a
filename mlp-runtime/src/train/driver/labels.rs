//! How a run maps class names to class indices: anew in the order `--label-order` asks when
//! training from scratch, else as the checkpoint it resumes or evaluates records them.

use super::Error;
use super::args::DataArgs;
use crate::train::dataset::{ClassNames, LabelOrder, Preprocessing};

/// The mapping of class names for a run on `data`: as `recorded` (a checkpoint's) says when
/// there is one (a checkpoint without names was trained on class indices, and refuses names),
/// else anew in `--label-order`.
pub(super) fn names<'a>(
    data: &DataArgs,
    recorded: Option<&'a Preprocessing>,
) -> Result<ClassNames<'a>, Error> {
    let order = LabelOrder::parse(&data.label_order)?;
    Ok(match recorded {
        Some(p) => match &p.classes {
            Some(names) => ClassNames::Recorded(names),
            None => ClassNames::Refused,
        },
        None => ClassNames::New(order),
    })
}
