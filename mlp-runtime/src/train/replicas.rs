//! The processes of a data-parallel run, as the training loop sees them: which one this is,
//! and the few collective operations a step needs. One process alone is [`Alone`]; with the
//! `mpi` feature, `mlp_runtime::distributed::World` is the processes an `mpirun` started.
//!
//! How a run is shared (see [`super::fit_with`]): every rank holds the same parameters and
//! optimizer state (rank 0's, broadcast at the start); each epoch's order depends only on the
//! seed and the epoch, so it is the same on every rank; each global batch is cut into
//! contiguous shards, one per rank ([`shard`]); each rank computes the gradient of its shard's
//! summed loss divided by the global batch size, one sum over all ranks makes the batch's
//! gradient, and every rank applies the same optimizer step to it.

use crate::optim::State;
use std::ops::Range;

/// The processes of a run and the collective operations between them. Every rank must call
/// the collective operations in the same order with buffers of the same lengths, or the run
/// hangs; [`super::fit_with`] does.
pub trait Replicas {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// `recv = Σ over ranks of send`, elementwise; every rank receives the same sums.
    fn sum(&self, send: &[f32], recv: &mut [f32]);
    /// Rank 0's `values` on every rank (the lengths must agree).
    fn broadcast(&self, values: &mut [f32]);
    /// Rank 0's bytes on every rank (any length: the length is sent first).
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>);
    /// The smallest and largest `value` over the ranks.
    fn min_max(&self, value: u64) -> (u64, u64);
    /// Called as each step starts (`step` counts the run's steps from 1), and with `None`
    /// when the run leaves its steps: a watchdog may end a process whose step does not finish.
    fn beat(&self, step: Option<u64>) {
        let _ = step;
    }
}

/// One process: the collective operations are copies.
#[derive(Clone, Copy, Debug, Default)]
pub struct Alone;

impl Replicas for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum(&self, send: &[f32], recv: &mut [f32]) {
        recv.copy_from_slice(send);
    }
    fn broadcast(&self, _values: &mut [f32]) {}
    fn broadcast_bytes(&self, _bytes: &mut Vec<u8>) {}
    fn min_max(&self, value: u64) -> (u64, u64) {
        (value, value)
    }
}

/// The samples `rank` computes of a global batch of `len`: contiguous, in rank order, the first
/// `len mod ranks` ranks one more than the others; empty for a rank beyond the batch's end.
///
/// # Panics
/// When `rank ≥ ranks`.
pub fn shard(len: usize, rank: usize, ranks: usize) -> Range<usize> {
    assert!(rank < ranks, "rank {rank} of {ranks} ranks");
    let (base, extra) = (len / ranks, len % ranks);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// A 64-bit fingerprint of values, bit for bit (FNV-1a over their bits): equal values give
/// equal fingerprints on every machine; two ranks whose parameters differ in any bit almost
/// surely get different ones.
pub fn fingerprint(values: &[f32]) -> u64 {
    fold_bits(FNV_OFFSET, values.iter().map(|v| v.to_bits()))
}

/// Where an FNV-1a fingerprint starts.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues fingerprint `h` over `bits`.
pub(crate) fn fold_bits(h: u64, bits: impl IntoIterator<Item = u32>) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bits.into_iter()
        .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Whether `value` is the same on every rank.
pub fn agree(replicas: &impl Replicas, value: u64) -> bool {
    let (lo, hi) = replicas.min_max(value);
    lo == hi
}

/// Makes every rank's optimizer state rank 0's: the step count and the buffers, by name.
pub fn broadcast_state(replicas: &impl Replicas, state: &State) -> Result<State, String> {
    let mut bytes = match replicas.rank() {
        0 => encode_state(state),
        _ => Vec::new(),
    };
    replicas.broadcast_bytes(&mut bytes);
    decode_state(&bytes).ok_or_else(|| "rank 0's optimizer state arrived garbled".to_string())
}

/// The step count, then each buffer's name and values, lengths first, little-endian.
fn encode_state(state: &State) -> Vec<u8> {
    let mut bytes = state.step.to_le_bytes().to_vec();
    for (name, values) in &state.buffers {
        bytes.extend((name.len() as u64).to_le_bytes());
        bytes.extend(name.as_bytes());
        bytes.extend((values.len() as u64).to_le_bytes());
        bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    }
    bytes
}

/// The inverse of [`encode_state`].
fn decode_state(mut bytes: &[u8]) -> Option<State> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    fn number(bytes: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(bytes, 8)?.try_into().ok()?))
    }
    let step = number(&mut bytes)?;
    let mut buffers = Vec::new();
    while !bytes.is_empty() {
        let len = usize::try_from(number(&mut bytes)?).ok()?;
        let name = String::from_utf8(take(&mut bytes, len)?.to_vec()).ok()?;
        let count = usize::try_from(number(&mut bytes)?).ok()?;
        let raw = take(&mut bytes, count.checked_mul(4)?)?;
        let values = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        buffers.push((name, values));
    }
    Some(State { step, buffers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_contiguous_disjoint_and_cover_the_batch() {
        for ranks in 1..=5 {
            for len in 0..=13 {
                let parts: Vec<_> = (0..ranks).map(|r| shard(len, r, ranks)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[ranks - 1].end, len);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len() && w[0].len() <= w[1].len() + 1);
                }
            }
        }
        assert_eq!(shard(3, 3, 4), 3..3);
        assert_eq!(shard(10, 1, 4), 3..6);
    }

    #[test]
    fn fingerprints_see_every_bit() {
        let a = [1.0f32, -0.0, 3.5];
        assert_eq!(fingerprint(&a), fingerprint(&[1.0, -0.0, 3.5]));
        assert_ne!(fingerprint(&a), fingerprint(&[1.0, 0.0, 3.5]));
        assert_ne!(fingerprint(&a), fingerprint(&[-0.0, 1.0, 3.5]));
        assert_ne!(fingerprint(&a), fingerprint(&a[..2]));
    }

    #[test]
    fn optimizer_state_round_trips() {
        let state = State {
            step: 7,
            buffers: vec![("m".into(), vec![1.0, -2.5]), ("v".into(), vec![0.0, 3.0])],
        };
        assert_eq!(broadcast_state(&Alone, &state), Ok(state.clone()));
        let bytes = encode_state(&state);
        assert_eq!(bytes.len(), 8 + 2 * (8 + 1 + 8 + 2 * 4));
        assert_eq!(decode_state(&bytes), Some(state));
        assert_eq!(decode_state(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_state(&[]), None);
    }
}
