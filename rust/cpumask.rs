// SPDX-License-Identifier: GPL-2.0

//! CPU sets: the user-supplied and usable cpumasks of an instance.
//!
//! Replaces the `struct padata_cpumask` handling of kernel/padata.c. An instance keeps the masks
//! its user asked for, and derives from them, each time they or the set of online CPUs change, a
//! [`Usable`] snapshot: the CPUs jobs may actually use (user ∧ online), as lists so that choosing
//! the n-th CPU is O(1) on the submission path.
//!
//! The kernel crate's `Cpumask` has no and/first/next/nth in 7.2; the few set operations rpadata
//! needs are written here over `Cpumask::test`/`set`, bounded by `nr_cpu_ids`.

use crate::sys;
use core::num::NonZeroU32;
use kernel::{
    cpu::{
        nr_cpu_ids,
        CpuId, //
    },
    cpumask::{
        Cpumask,
        CpumaskVar, //
    },
    prelude::*, //
};

/// Iterates over the CPUs set in `mask`, in increasing order.
pub(crate) fn cpus(mask: &Cpumask) -> impl Iterator<Item = u32> + '_ {
    (0..nr_cpu_ids()).filter(move |&cpu| CpuId::from_u32(cpu).is_some_and(|id| mask.test(id)))
}

/// The online CPUs now, in increasing order (tests only; a list cut short if it cannot grow).
#[cfg(rpadata_kunit)]
pub(crate) fn online_cpus() -> KVec<u32> {
    let mut v = KVec::new();
    for cpu in cpus(sys::cpu_online_mask()) {
        if v.push(cpu, GFP_KERNEL).is_err() {
            break;
        }
    }
    v
}

/// Whether `mask` has no CPU below `nr_cpu_ids`.
pub(crate) fn is_empty(mask: &Cpumask) -> bool {
    cpus(mask).next().is_none()
}

/// Copies `src` into a new mask, keeping only CPUs below `nr_cpu_ids`.
pub(crate) fn clone_mask(src: &Cpumask) -> Result<CpumaskVar> {
    let mut m = CpumaskVar::new_zero(GFP_KERNEL)?;
    for cpu in cpus(src) {
        if let Some(id) = CpuId::from_u32(cpu) {
            m.set(id);
        }
    }
    Ok(m)
}

/// A mask with exactly the CPUs in `cpus`.
pub(crate) fn mask_of(cpus: &[u32]) -> Result<CpumaskVar> {
    let mut m = CpumaskVar::new_zero(GFP_KERNEL)?;
    for &cpu in cpus {
        m.set(CpuId::from_u32(cpu).ok_or(EINVAL)?);
    }
    Ok(m)
}

/// A mask with every possible CPU set: the default user mask of a new instance.
pub(crate) fn possible_mask() -> Result<CpumaskVar> {
    clone_mask(sys::cpu_possible_mask())
}

/// The CPUs of `user` that are online, as a sorted list.
fn online_subset(user: &Cpumask, online: &Cpumask) -> Result<KVec<u32>> {
    let mut list = KVec::new();
    for cpu in cpus(user) {
        if CpuId::from_u32(cpu).is_some_and(|id| online.test(id)) {
            list.push(cpu, GFP_KERNEL)?;
        }
    }
    Ok(list)
}

/// The usable CPUs of an instance at one point in time (user ∧ online, for both masks).
///
/// Built off the submission path, read on it under RCU; never modified once built.
pub(crate) struct Usable {
    parallel: KVec<u32>,
    serial: KVec<u32>,
    /// `serial` as a bitmap, 64 CPUs a word: read once per submission, in plain Rust (a
    /// `Cpumask::test` is a call into a C helper).
    serial_bits: KVec<u64>,
}

impl Usable {
    /// Computes the usable masks from the user masks and the online CPUs.
    pub(crate) fn new(
        user_parallel: &Cpumask,
        user_serial: &Cpumask,
        online: &Cpumask,
    ) -> Result<Self> {
        let serial = online_subset(user_serial, online)?;
        let mut serial_bits = KVec::new();
        serial_bits.resize(nr_cpu_ids().div_ceil(64) as usize, 0, GFP_KERNEL)?;
        for &cpu in serial.iter() {
            if let Some(word) = serial_bits.get_mut((cpu / 64) as usize) {
                *word |= 1 << (cpu % 64);
            }
        }
        Ok(Self {
            parallel: online_subset(user_parallel, online)?,
            serial,
            serial_bits,
        })
    }

    /// Whether jobs can be submitted: both masks have an online CPU.
    pub(crate) fn is_valid(&self) -> bool {
        !self.parallel.is_empty() && !self.serial.is_empty()
    }

    /// The usable parallel CPUs, sorted.
    pub(crate) fn parallel(&self) -> &[u32] {
        &self.parallel
    }

    /// The usable serial (callback) CPUs, sorted.
    pub(crate) fn serial(&self) -> &[u32] {
        &self.serial
    }

    /// The CPU whose turn the job with sequence number `seq` is: jobs are spread round-robin over
    /// the usable parallel CPUs. Returns `None` when the instance is invalid.
    pub(crate) fn parallel_turn(&self, seq: u32) -> Option<u32> {
        let n = NonZeroU32::new(u32::try_from(self.parallel.len()).ok()?)?;
        self.parallel.get((seq % n) as usize).copied()
    }

    /// The CPU that runs the parallel callback of the job with sequence number `seq`, submitted on
    /// CPU `here`: jobs are spread round-robin over the usable parallel CPUs, except that the
    /// turns falling on `here` are handed in turn to the other CPUs, unless `here` is the only one
    /// (every other CPU then gets an even share). The submitter is busy submitting; a job given to
    /// its CPU would wait for it to leave, or slow it down (see Documentation/rpadata.rst, "Jobs in
    /// flight and the in-flight limit").
    ///
    /// Returns `None` when the instance is invalid.
    pub(crate) fn parallel_cpu(&self, seq: u32, here: u32) -> Option<u32> {
        // At most `nr_cpu_ids` CPUs: fits. Divisors are `NonZeroU32`, so that no division has a
        // panic path (which objtool also flags).
        let n = NonZeroU32::new(u32::try_from(self.parallel.len()).ok()?)?;
        let (round, i) = (seq / n, seq % n);
        let cpu = *self.parallel.get(i as usize)?;
        match NonZeroU32::new(n.get() - 1) {
            Some(others) if cpu == here => {
                // The submitter's `k`-th turn goes to the `k`-th of the other CPUs after it.
                let k = round % others;
                // `i + 1 + k < 2n`: wrap once.
                let j = i + 1 + k;
                let j = if j >= n.get() { j - n.get() } else { j };
                self.parallel.get(j as usize).copied()
            }
            _ => Some(cpu),
        }
    }

    /// The callback CPU for a job whose submitter asked for `cb_cpu`.
    ///
    /// A usable serial CPU is kept. Anything else is replaced the way C padata does it: the
    /// `(cb_cpu % weight)`-th usable serial CPU, where a negative `cb_cpu` (C's `%` then yields a
    /// value ≤ 0 and its loop does not run) means the first one. Values at or above `nr_cpu_ids`
    /// are never used to index anything. Returns `None` when no serial CPU is usable.
    pub(crate) fn callback_cpu(&self, cb_cpu: i32) -> Option<u32> {
        if let Ok(cpu) = u32::try_from(cb_cpu) {
            let word = self
                .serial_bits
                .get((cpu / 64) as usize)
                .copied()
                .unwrap_or(0);
            if word & (1 << (cpu % 64)) != 0 {
                return Some(cpu);
            }
        }
        let n = self.serial.len();
        if n == 0 {
            return None;
        }
        let index = usize::try_from(cb_cpu).map_or(0, |c| c % n);
        self.serial.get(index).copied()
    }
}

#[cfg(rpadata_kunit)]
#[kunit_tests(rpadata_cpumask)]
mod tests {
    use super::*;

    /// Whether CPU ids 0 to 3 exist, which the masks of these tests name; if not, the test is
    /// marked skipped.
    fn four_cpu_ids() -> bool {
        if kernel::cpu::nr_cpu_ids() >= 4 {
            return true;
        }
        sys::kunit_skip(c"needs CPU ids 0 to 3 (nr_cpu_ids >= 4)");
        false
    }

    #[test]
    fn usable_is_user_and_online() -> Result {
        if !four_cpu_ids() {
            return Ok(());
        }
        let online = mask_of(&[0, 1, 3])?;
        let (p, s) = (mask_of(&[1, 2, 3])?, mask_of(&[0, 2])?);
        let u = Usable::new(&p, &s, &online)?;
        assert_eq!(u.parallel(), &[1, 3]);
        assert_eq!(u.serial(), &[0]);
        assert!(u.is_valid());
        let (p, s) = (mask_of(&[2])?, mask_of(&[0])?);
        let u = Usable::new(&p, &s, &online)?;
        assert!(!u.is_valid());
        assert_eq!(u.parallel_cpu(7, 0), None);
        Ok(())
    }

    #[test]
    fn callback_cpu_keeps_usable_and_falls_back_like_c() -> Result {
        if !four_cpu_ids() {
            return Ok(());
        }
        let all = mask_of(&[0, 1, 2, 3])?;
        let s = mask_of(&[1, 3])?;
        let u = Usable::new(&all, &s, &all)?;
        assert_eq!(u.callback_cpu(3), Some(3));
        assert_eq!(u.callback_cpu(1), Some(1));
        // Not in the mask: (cb_cpu % weight)-th usable CPU.
        assert_eq!(u.callback_cpu(0), Some(1));
        assert_eq!(u.callback_cpu(2), Some(1));
        assert_eq!(u.callback_cpu(5), Some(3));
        // Negative: the first; huge values: never an out-of-range index.
        assert_eq!(u.callback_cpu(-1), Some(1));
        assert_eq!(u.callback_cpu(i32::MIN), Some(1));
        assert_eq!(u.callback_cpu(i32::MAX), Some(3));
        assert_eq!(u.callback_cpu(4096), Some(1));
        let empty = mask_of(&[])?;
        let none = Usable::new(&all, &empty, &all)?;
        assert_eq!(none.callback_cpu(0), None);
        Ok(())
    }

    #[test]
    fn parallel_cpu_is_round_robin_and_wraps() -> Result {
        if !four_cpu_ids() {
            return Ok(());
        }
        let all = mask_of(&[0, 1, 2, 3])?;
        let p = mask_of(&[0, 2, 3])?;
        let u = Usable::new(&p, &all, &all)?;
        let round = |here: u32| -> Result<KVec<u32>> {
            let mut v = KVec::new();
            for seq in 0..12 {
                v.push(u.parallel_cpu(seq, here).ok_or(EINVAL)?, GFP_KERNEL)?;
            }
            Ok(v)
        };
        // Submitted on a CPU outside the mask: every parallel CPU in turn.
        assert_eq!(&round(1)?[..], &[0, 2, 3, 0, 2, 3, 0, 2, 3, 0, 2, 3]);
        // Submitted on a parallel CPU: its turns go to the others in turn, never to it; the
        // other turns are as above, and each other CPU gets half of the jobs.
        assert_eq!(&round(0)?[..], &[2, 2, 3, 3, 2, 3, 2, 2, 3, 3, 2, 3]);
        assert_eq!(&round(2)?[..], &[0, 3, 3, 0, 0, 3, 0, 3, 3, 0, 0, 3]);
        assert_eq!(&round(3)?[..], &[0, 2, 0, 0, 2, 2, 0, 2, 0, 0, 2, 2]);
        for here in [0, 1, 2, 3] {
            assert!(u.parallel_cpu(u32::MAX, here).is_some());
        }
        // Without the hand-off, the turns are plain round-robin, the submitter's included.
        for (seq, cpu) in (0..8).zip([0, 2, 3, 0, 2, 3, 0, 2]) {
            assert_eq!(u.parallel_turn(seq), Some(cpu));
        }
        let empty = mask_of(&[])?;
        let no_parallel = Usable::new(&empty, &all, &all)?;
        assert_eq!(no_parallel.parallel_turn(0), None);
        // The submitter's CPU is the only parallel CPU: it runs the job.
        let only2 = mask_of(&[2])?;
        let one = Usable::new(&only2, &all, &all)?;
        assert_eq!(one.parallel_cpu(5, 2), Some(2));
        assert_eq!(one.parallel_cpu(5, 0), Some(2));
        Ok(())
    }

    #[test]
    fn empty_mask_detection_ignores_nothing_below_nr_cpu_ids() -> Result {
        let (none, cpu0, possible) = (mask_of(&[])?, mask_of(&[0])?, possible_mask()?);
        assert!(is_empty(&none));
        assert!(!is_empty(&cpu0));
        assert!(!is_empty(&possible));
        Ok(())
    }
}
