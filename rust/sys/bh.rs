// SPDX-License-Identifier: GPL-2.0

//! Bottom halves: a guard that keeps softirqs disabled on the current CPU.
//!
//! C header: [`include/linux/bottom_half.h`](srctree/include/linux/bottom_half.h).

use crate::ffi;
use core::marker::PhantomData;
use kernel::types::NotThreadSafe;

/// Softirqs (bottom halves) are disabled on this CPU while a `BhGuard` exists.
///
/// The kernel crate has no `spin_lock_bh()`: rpadata takes its spinlocks inside a `BhGuard`
/// instead, which is what `spin_lock_bh()` does.
///
/// # Invariants
///
/// `local_bh_disable()` was called by [`BhGuard::new`] on CPU `cpu`, and is undone exactly once by
/// `Drop`; the guard cannot move to another thread, so the thread stays on `cpu` meanwhile.
pub(crate) struct BhGuard {
    cpu: u32,
    _not_send: NotThreadSafe,
}

impl BhGuard {
    /// Disables softirqs on this CPU until the guard is dropped.
    #[inline]
    pub(crate) fn new() -> Self {
        // SAFETY: No preconditions; balanced by `Drop`.
        let cpu = unsafe { ffi::rpadata_shim_bh_disable() };
        // INVARIANT: Softirqs were just disabled on `cpu`, the CPU we run on.
        Self {
            cpu,
            _not_send: PhantomData,
        }
    }

    /// The CPU the caller runs on, which it cannot leave while the guard exists.
    #[inline]
    pub(crate) fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Whether dropping the guard will serve softirqs: some are pending on this CPU, interrupts
    /// are on, and the guard is all the preempt count holds (not a softirq handler or a nested
    /// guard).
    #[inline]
    fn serves_softirqs_on_drop(&self) -> bool {
        // SAFETY: No preconditions.
        unsafe { ffi::rpadata_shim_softirq_serve_on_enable() }
    }
}

impl Drop for BhGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `new` disabled softirqs on this CPU and the guard has not
        // left this thread.
        unsafe { ffi::rpadata_shim_bh_enable() };
    }
}

/// Serves, in the caller, the softirqs pending on its CPU, such as those a `local_bh_enable()`
/// that ran out of softirq time (`MAX_SOFTIRQ_TIME`, a jiffy or more) left to ksoftirqd: at most
/// `rounds` times that long, letting other tasks run in between. Returns at once where they cannot
/// run (softirq or interrupt context, a nested guard, `PREEMPT_RT`).
///
/// # Context
///
/// A task that may sleep: no spinlock held (without `CONFIG_PREEMPT_COUNT` the preempt count
/// does not show one), as in a workqueue worker between jobs.
pub(crate) fn serve_pending_softirqs(rounds: u32) {
    for _ in 0..rounds {
        let bh = BhGuard::new();
        if !bh.serves_softirqs_on_drop() {
            return;
        }
        // Serves them.
        drop(bh);
        // SAFETY: No preconditions; the caller may sleep (see `# Context`).
        unsafe { ffi::rpadata_shim_cond_resched() };
    }
}

/// Whether softirqs are disabled (or being served) on this CPU; used by tests.
#[cfg(rpadata_kunit)]
pub(crate) fn bh_disabled() -> bool {
    // SAFETY: Reads per-CPU preempt state only.
    unsafe { ffi::rpadata_shim_in_softirq_or_bh_off() }
}

/// Whether the current CPU is running softirq handlers (a BH work item, for instance), not just
/// with softirqs disabled (tests only).
#[cfg(rpadata_kunit)]
pub(crate) fn in_serving_softirq() -> bool {
    // SAFETY: Reads per-CPU preempt state only.
    unsafe { ffi::rpadata_shim_in_serving_softirq() }
}
