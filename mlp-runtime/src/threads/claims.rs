//! Which parts of a job are claimed: the caller takes them from the front, helpers from the
//! back, one at a time, until the two ends meet.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many parts of a job have been claimed from its front (the low 32 bits) and from its
/// back (the high 32 bits): parts `0..front` and `parts − back..parts`.
#[derive(Default)]
pub(super) struct Claims(AtomicU64);

impl Claims {
    /// Claims the first part of `0..parts` nobody has (the last, `from_back`), if any is left.
    /// Each part is claimed once, whatever the threads and the ends they take from.
    pub(super) fn take(&self, parts: usize, from_back: bool) -> Option<usize> {
        let one = if from_back { 1 << 32 } else { 1 };
        let mut seen = self.0.load(Ordering::Relaxed);
        loop {
            let (front, back) = ((seen & 0xffff_ffff) as usize, (seen >> 32) as usize);
            if front + back >= parts {
                return None;
            }
            let claimed = seen + one;
            match (self.0).compare_exchange_weak(
                seen,
                claimed,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(if from_back { parts - 1 - back } else { front }),
                Err(now) => seen = now,
            }
        }
    }

    /// Nothing claimed, for the next job.
    pub(super) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims from both ends meet without a gap or an overlap: every part once.
    #[test]
    fn claims_from_both_ends_take_every_part_once() {
        for parts in [0, 1, 2, 5, 8] {
            for pattern in 0u32..32 {
                let claims = Claims::default();
                let mut got = Vec::new();
                for turn in 0.. {
                    match claims.take(parts, pattern >> (turn % 5) & 1 == 1) {
                        Some(p) => got.push(p),
                        None => break,
                    }
                }
                got.sort_unstable();
                assert_eq!(
                    got,
                    (0..parts).collect::<Vec<_>>(),
                    "{parts} parts, {pattern:05b}"
                );
            }
        }
        let claims = Claims::default();
        let order: Vec<_> = [false, true, false, true, true]
            .map(|back| claims.take(5, back))
            .into();
        assert_eq!(order, [Some(0), Some(4), Some(1), Some(3), Some(2)]);
        claims.reset();
        assert_eq!(claims.take(3, true), Some(2));
    }

    /// Four threads, two at each end, racing for the parts of many jobs: each part is claimed
    /// once (a claim that were not one atomic step would hand some part out twice).
    #[test]
    fn racing_threads_claim_every_part_once() {
        use std::sync::atomic::AtomicUsize;
        let claims = Claims::default();
        for parts in [1, 2, 3, 1000, 10_000] {
            for _ in 0..20 {
                let runs: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                claims.reset();
                std::thread::scope(|s| {
                    for t in 0..4 {
                        let (claims, runs) = (&claims, &runs);
                        s.spawn(move || {
                            while let Some(p) = claims.take(parts, t % 2 == 1) {
                                runs[p].fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                });
                let twice = runs.iter().position(|r| r.load(Ordering::Relaxed) != 1);
                assert_eq!(
                    twice, None,
                    "{parts} parts: a part not claimed exactly once"
                );
            }
        }
    }
}
