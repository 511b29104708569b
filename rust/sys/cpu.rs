// SPDX-License-Identifier: GPL-2.0

//! CPUs: the online and possible masks, the CPU hotplug read lock, parsing masks, and what the
//! scheduler and NUMA topology say about the current CPU.
//!
//! C headers: [`include/linux/cpumask.h`](srctree/include/linux/cpumask.h),
//! [`include/linux/cpu.h`](srctree/include/linux/cpu.h),
//! [`include/linux/topology.h`](srctree/include/linux/topology.h).

use crate::ffi;
use core::marker::PhantomData;
use kernel::{
    bindings,
    cpumask::{
        Cpumask,
        CpumaskVar, //
    },
    ffi::c_int,
    prelude::*,
    types::NotThreadSafe, //
};

/// Takes `cpu` offline (tests only).
#[cfg(rpadata_kunit)]
pub(crate) fn test_remove_cpu(cpu: u32) -> Result {
    // SAFETY: No preconditions; sleeps, and callers are in process context.
    kernel::error::to_result(unsafe { bindings::remove_cpu(cpu) })
}

/// Brings `cpu` back online (tests only).
#[cfg(rpadata_kunit)]
pub(crate) fn test_add_cpu(cpu: u32) -> Result {
    // SAFETY: As for `test_remove_cpu`.
    kernel::error::to_result(unsafe { bindings::add_cpu(cpu) })
}

/// The online CPUs.
pub(crate) fn cpu_online_mask() -> &'static Cpumask {
    // SAFETY: `__cpu_online_mask` is a static that lives as long as the kernel; it changes only
    // bit by bit under the hotplug lock, which readers of a `Cpumask` tolerate.
    unsafe { Cpumask::from_raw(&raw const bindings::__cpu_online_mask) }
}

/// The possible CPUs (fixed after boot).
pub(crate) fn cpu_possible_mask() -> &'static Cpumask {
    // SAFETY: `__cpu_possible_mask` is a static that lives as long as the kernel and does not
    // change after boot.
    unsafe { Cpumask::from_raw(&raw const bindings::__cpu_possible_mask) }
}

/// The CPU hotplug read lock: CPUs neither come nor go while the guard exists.
///
/// Lock order (as in C padata, whose reversal once gave a lockdep report): the hotplug lock is
/// taken before any rpadata lock.
///
/// # Invariants
///
/// `cpus_read_lock()` was called on this thread by [`CpusReadGuard::new`] and is released once, by
/// `Drop`; the guard cannot leave the thread.
pub(crate) struct CpusReadGuard(NotThreadSafe);

impl CpusReadGuard {
    /// Takes `cpus_read_lock()`. Sleeps.
    pub(crate) fn new() -> Self {
        // SAFETY: Called from process context (callers may sleep); balanced by `Drop`.
        unsafe { bindings::cpus_read_lock() };
        // INVARIANT: Taken just above, on this thread.
        Self(PhantomData)
    }
}

impl Drop for CpusReadGuard {
    fn drop(&mut self) {
        // SAFETY: `new` took the lock on this thread.
        unsafe { bindings::cpus_read_unlock() };
    }
}

/// Parses a cpumask in the kernel's `%*pb` format (`bitmap_parse()`), refusing bits at or above
/// `nr_cpu_ids`. Returns the kernel's error codes: `EINVAL` for malformed text, `EOVERFLOW` for
/// bits out of range.
pub(crate) fn parse_cpumask(text: &[u8]) -> Result<CpumaskVar> {
    let mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    // SAFETY: `text` is valid for `text.len()` bytes; `mask` is a writable cpumask of at least
    // `nr_cpu_ids` bits.
    let r =
        unsafe { ffi::rpadata_shim_parse_cpumask(text.as_ptr().cast(), text.len(), mask.as_raw()) };
    kernel::error::to_result(r)?;
    Ok(mask)
}

/// Whether the current task has a fatal signal pending.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: Reads the current task's signal state only.
    unsafe { ffi::rpadata_shim_fatal_signal_pending() }
}

/// Whether nothing but the current task wants this CPU: no other task is runnable on it and no
/// reschedule is pending (what vhost's busy polling and KVM's halt polling check).
pub(crate) fn cpu_uncontended() -> bool {
    // SAFETY: Reads the current CPU's run-queue length and the current task's flags only.
    unsafe { ffi::rpadata_shim_cpu_uncontended() }
}

/// The NUMA node of the current CPU.
#[cfg(rpadata_kunit)]
pub(crate) fn numa_node_id() -> i32 {
    // SAFETY: No preconditions.
    unsafe { ffi::rpadata_shim_numa_node_id() }
}

/// The number of NUMA nodes with CPUs.
#[cfg(rpadata_kunit)]
pub(crate) fn nodes_with_cpus() -> u32 {
    // SAFETY: No preconditions.
    unsafe { ffi::rpadata_shim_nodes_with_cpus() }
}

/// The NUMA node with CPUs after `node`, wrapping around (`next_node_in()` over the nodes with
/// CPUs); any value is accepted.
pub(crate) fn next_node_with_cpus(node: c_int) -> c_int {
    // SAFETY: No preconditions; any node id is accepted.
    unsafe { ffi::rpadata_shim_next_node_with_cpus(node) }
}
