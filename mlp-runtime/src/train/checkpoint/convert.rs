//! What a checkpoint reader forgives where it is safe: tensors stored as float64, float16 or
//! bfloat16 (a PyTorch model in another precision) are converted to f32, and names with one
//! common prefix (`net.0.weight`, `module.0.weight`: a wrapped module's state_dict) are matched
//! when no other reading is possible. Each is said in a note.

use safetensors::{Dtype, SafeTensors};

/// The f32 values of a floating-point tensor's little-endian `data`, and whether they were
/// converted; `None` for a dtype that is not floating point.
pub(super) fn floats(dtype: Dtype, data: &[u8]) -> Option<(Vec<f32>, bool)> {
    let values = match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("eight bytes")) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => return None,
    };
    Some((values, dtype != Dtype::F32))
}

/// The prefix to put before every name of `names` (the network's tensors) to find them in
/// `file`: empty when the first is there as it is; else the one prefix ending in `.` under
/// which every name is found, if exactly one is.
pub(super) fn prefix(file: &SafeTensors<'_>, names: &[&str]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    if file.tensor(first).is_ok() {
        return String::new();
    }
    let stored = file.names();
    let mut found = stored
        .iter()
        .filter_map(|s| s.strip_suffix(first))
        .filter(|p| p.ends_with('.'))
        .filter(|p| {
            names
                .iter()
                .all(|n| file.tensor(&format!("{p}{n}")).is_ok())
        });
    match (found.next(), found.next()) {
        (Some(p), None) => p.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::floats;
    use safetensors::Dtype;

    #[test]
    fn every_float_dtype_becomes_f32() {
        let f64s: Vec<u8> = [0.5f64, -3.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(floats(Dtype::F64, &f64s), Some((vec![0.5, -3.25], true)));
        let f16s: Vec<u8> = [half::f16::from_f32(0.5), half::f16::from_f32(-2.0)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(floats(Dtype::F16, &f16s), Some((vec![0.5, -2.0], true)));
        let bf16s: Vec<u8> = half::bf16::from_f32(1.5).to_le_bytes().to_vec();
        assert_eq!(floats(Dtype::BF16, &bf16s), Some((vec![1.5], true)));
        assert_eq!(
            floats(Dtype::F32, &1.0f32.to_le_bytes()),
            Some((vec![1.0], false))
        );
        assert_eq!(floats(Dtype::I64, &[0; 8]), None);
    }
}
