// SPDX-License-Identifier: GPL-2.0

//! Workqueues: an owned workqueue with `queue_work_on()`, and the system's default unbound one.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h).

use crate::ffi;
use core::{
    ops::BitOr,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    ffi::{
        c_int,
        c_uint, //
    },
    prelude::*,
    workqueue::RawWorkItem, //
};

/// Whether the caller runs as a workqueue work item (parallel callbacks do, unless run in the
/// submitter when the in-flight limit is reached); used by tests.
#[cfg(rpadata_kunit)]
pub(crate) fn in_workqueue_worker() -> bool {
    // SAFETY: No preconditions.
    !unsafe { bindings::current_work() }.is_null()
}

/// The system's default (unbound) workqueue, `system_dfl_wq`, which the kernel crate does not wrap
/// in 7.2; used by tests.
#[cfg(rpadata_kunit)]
pub(crate) fn system_dfl() -> &'static kernel::workqueue::Queue {
    // SAFETY: `system_dfl_wq` is set up during boot, before modules load, and never destroyed.
    unsafe { kernel::workqueue::Queue::from_raw(bindings::system_dfl_wq) }
}

/// Flags of [`Workqueue::new`]: the `WQ_*` flags of `alloc_workqueue()`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct WqFlags(c_uint);

impl WqFlags {
    /// `WQ_PERCPU`: work runs on the CPU it is queued on.
    pub(crate) const PERCPU: Self = Self(bindings::wq_flags_WQ_PERCPU);
    /// `WQ_MEM_RECLAIM`: a rescuer thread guarantees progress under memory pressure.
    pub(crate) const MEM_RECLAIM: Self = Self(bindings::wq_flags_WQ_MEM_RECLAIM);
    /// `WQ_BH`: work runs from softirq context on its CPU, which must be online.
    pub(crate) const BH: Self = Self(bindings::wq_flags_WQ_BH);

    fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for WqFlags {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// A workqueue allocated with `alloc_workqueue()` and destroyed on drop.
///
/// # Invariants
///
/// `wq` points to a workqueue allocated by [`Workqueue::new`] with `flags`, and not yet destroyed.
pub(crate) struct Workqueue {
    wq: NonNull<bindings::workqueue_struct>,
    flags: WqFlags,
}

// SAFETY: Workqueue functions may be called from any thread.
unsafe impl Send for Workqueue {}

// SAFETY: Queueing work is thread-safe; the workqueue serialises internally.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// Allocates a workqueue called `<name><suffix>` with `flags` and `max_active` (0: the
    /// default; BH workqueues take none).
    pub(crate) fn new(
        name: &CStr,
        suffix: &CStr,
        flags: WqFlags,
        max_active: c_int,
    ) -> Result<Self> {
        // SAFETY: The format takes exactly the two NUL-terminated strings passed, which outlive
        // the call (the workqueue copies its formatted name).
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                c"%s%s".as_char_ptr(),
                flags.0,
                max_active,
                name.as_char_ptr(),
                suffix.as_char_ptr(),
            )
        };
        let wq = NonNull::new(wq).ok_or(ENOMEM)?;
        // INVARIANT: A non-NULL return is a live workqueue with `flags`, ours now.
        Ok(Self { wq, flags })
    }

    /// Whether work queued here runs from softirq context (`WQ_BH`).
    ///
    /// Such work must only be queued on an online CPU: it is raised there with an `irq_work`,
    /// which cannot target an offline CPU.
    pub(crate) fn is_bh(&self) -> bool {
        self.flags.contains(WqFlags::BH)
    }

    /// Queues `item` on this workqueue, on `cpu`.
    ///
    /// Returns whether it was queued (false: it was already pending).
    pub(crate) fn enqueue_on<W>(&self, cpu: u32, item: W) -> W::EnqueueOutput
    where
        W: RawWorkItem<0> + Send + 'static,
    {
        let wq = self.wq.as_ptr();
        let cpu = i32::try_from(cpu).unwrap_or(bindings::wq_misc_consts_WORK_CPU_UNBOUND as i32);
        // SAFETY: The closure queues the given `work_struct` on a live workqueue (type invariant)
        // with `queue_work_on()`, which is what `__enqueue` requires; `cpu` is a CPU id or
        // `WORK_CPU_UNBOUND`.
        unsafe { item.__enqueue(move |work| bindings::queue_work_on(cpu, wq, work)) }
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the workqueue is live; this is its only owner, so nothing
        // queues on it any more. `destroy_workqueue()` drains it first.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}

/// Where the helpers of one multithreaded job start: each on the online CPU after the previous
/// one's, the first after the caller's, never on the caller's own unless it is the only one.
pub(crate) struct HelperCpus(c_int);

impl HelperCpus {
    /// Placement for a new job: its first helper goes to the CPU after the caller's.
    pub(crate) fn new() -> Self {
        Self(-1)
    }
}

/// No NUMA node in particular.
pub(crate) const NUMA_NO_NODE: c_int = bindings::NUMA_NO_NODE;

/// The CPU [`enqueue_unbound`] starts a helper on when the previous one went to `cursor` (`-1`
/// for the first) and the caller runs on `here`; `node` is a NUMA node or [`NUMA_NO_NODE`] (tests
/// only).
#[cfg(rpadata_kunit)]
pub(crate) fn helper_cpu(node: c_int, cursor: c_int, here: u32) -> u32 {
    // SAFETY: No preconditions; reads the online mask only.
    unsafe { ffi::rpadata_shim_helper_cpu(node, cursor, here) }
}

/// Queues `item` on the system's default unbound workqueue, to start on the online CPU after
/// `cpus`' last one (of `node` unless it is [`NUMA_NO_NODE`]). An item that is already pending is
/// left as it is.
pub(crate) fn enqueue_unbound<W>(item: W, node: c_int, cpus: &mut HelperCpus)
where
    W: RawWorkItem<0> + Send + 'static,
{
    // SAFETY: `system_dfl_wq` is set up during boot and never destroyed.
    let wq = unsafe { bindings::system_dfl_wq };
    let cursor = &raw mut cpus.0;
    // SAFETY: The closure queues the given `work_struct` on a live unbound workqueue, as
    // `__enqueue` requires; `cursor` points to a live `c_int` only this call uses.
    let _ = unsafe {
        item.__enqueue(move |work| ffi::rpadata_shim_queue_helper(wq, work, node, cursor))
    };
}
