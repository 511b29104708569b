// SPDX-License-Identifier: GPL-2.0

//! The thin layer over C that the kernel crate does not wrap in 7.2.
//!
//! Every raw binding rpadata uses is wrapped here once, in a small type whose invariants say what
//! its raw pointer means; the rest of the crate is safe code over these types (the job header, which
//! C callers own, is the one other place that handles raw pointers: see `job.rs` and
//! `job/reorder.rs`). Helpers for static inline C functions that have no binding live in `shim.c`.
//!
//! C headers: [`include/linux/kobject.h`](srctree/include/linux/kobject.h),
//! [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h),
//! [`include/linux/bottom_half.h`](srctree/include/linux/bottom_half.h),
//! [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h),
//! [`include/linux/cpumask.h`](srctree/include/linux/cpumask.h).

use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    cpumask::{
        Cpumask,
        CpumaskVar, //
    },
    ffi::{
        c_char,
        c_int,
        c_uint, //
    },
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full},
        rcu,
    },
    types::NotThreadSafe,
    workqueue::RawWorkItem,
};

extern "C" {
    fn rpadata_shim_bh_disable() -> c_uint;
    fn rpadata_shim_bh_enable();
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_in_softirq_or_bh_off() -> bool;
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_in_serving_softirq() -> bool;
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_kunit_skip(reason: *const c_char);
    static rpadata_priv_layout: [usize; 10];
    fn rpadata_shim_add_files(kobj: *mut bindings::kobject, shell: bool) -> c_int;
    fn rpadata_shim_kobj_name(kobj: *const bindings::kobject) -> *const c_char;
    fn rpadata_shim_kobj_parent(kobj: *const bindings::kobject) -> *mut bindings::kobject;
    fn rpadata_shim_emit_cpumask(buf: *mut c_char, mask: *const bindings::cpumask) -> c_int;
    fn rpadata_shim_parse_cpumask(
        buf: *const c_char,
        count: usize,
        mask: *mut bindings::cpumask,
    ) -> c_int;
    fn rpadata_shim_fatal_signal_pending() -> bool;
    fn rpadata_shim_cpu_uncontended() -> bool;
    fn rpadata_shim_next_node_with_cpus(node: c_int) -> c_int;
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_helper_cpu(node: c_int, cursor: c_int, here: c_uint) -> c_uint;
    fn rpadata_shim_queue_helper(
        wq: *mut bindings::workqueue_struct,
        work: *mut bindings::work_struct,
        node: c_int,
        cursor: *mut c_int,
    ) -> bool;
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_numa_node_id() -> c_int;
    #[cfg(rpadata_kunit)]
    fn rpadata_shim_nodes_with_cpus() -> c_uint;
    fn rpadata_shim_hotplug_setup(
        online: unsafe extern "C" fn(c_uint, *mut bindings::hlist_node) -> c_int,
        offline: unsafe extern "C" fn(c_uint, *mut bindings::hlist_node) -> c_int,
    ) -> c_int;
}

/// Offsets and size of `struct rpadata_priv` as the C compiler lays it out (see `shim.c`).
pub(crate) fn c_priv_layout() -> [usize; 10] {
    // SAFETY: A constant array defined in shim.c, never written.
    unsafe { rpadata_priv_layout }
}

/// A directory in sysfs, backed by a kobject created with `kobject_create_and_add()`.
///
/// # Invariants
///
/// `self.0` points to a live kobject of which this value owns one reference.
pub(crate) struct SysfsDir(NonNull<bindings::kobject>);

// SAFETY: A kobject reference may be dropped from any thread; `kobject_put()` has no thread
// affinity.
unsafe impl Send for SysfsDir {}

// SAFETY: `SysfsDir` exposes no interior mutability; kobject functions taking a shared kobject
// pointer serialise internally.
unsafe impl Sync for SysfsDir {}

impl SysfsDir {
    /// Creates `/sys/kernel/<name>`.
    pub(crate) fn new_in_kernel(name: &CStr) -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up during boot, before any module loads, and never changes.
        let parent = unsafe { bindings::kernel_kobj };
        // SAFETY: `name` is NUL-terminated and outlives the call (the kobject copies it); `parent`
        // is a live kobject.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        // INVARIANT: A non-NULL return is a new kobject whose one reference we now own.
        NonNull::new(kobj).map(Self).ok_or(ENOMEM)
    }

    /// Creates `<self>/<name>`.
    pub(crate) fn new_child(&self, name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and copied by the callee; `self.0` is a live kobject
        // (type invariant), which the child references for as long as it exists.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), self.0.as_ptr()) };
        // INVARIANT: A non-NULL return is a new kobject whose one reference we now own.
        NonNull::new(kobj).map(Self).ok_or(ENOMEM)
    }
}

impl SysfsDir {
    /// Adds the attribute files of an instance (`shell == false`) or a shell directory (see the
    /// tables in `shim.c`); they go with the directory.
    pub(crate) fn add_files(&self, shell: bool) -> Result {
        // SAFETY: `self.0` is a live kobject (type invariant); the attribute group is static.
        kernel::error::to_result(unsafe { rpadata_shim_add_files(self.0.as_ptr(), shell) })
    }
}

impl Drop for SysfsDir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference to this live kobject; dropping it
        // removes the directory once the last reference is gone.
        unsafe { bindings::kobject_put(self.0.as_ptr()) };
    }
}

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
        let cpu = unsafe { rpadata_shim_bh_disable() };
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
}

impl Drop for BhGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `new` disabled softirqs on this CPU and the guard has not
        // left this thread.
        unsafe { rpadata_shim_bh_enable() };
    }
}

/// Whether softirqs are disabled (or being served) on this CPU; used by tests.
#[cfg(rpadata_kunit)]
pub(crate) fn bh_disabled() -> bool {
    // SAFETY: Reads per-CPU preempt state only.
    unsafe { rpadata_shim_in_softirq_or_bh_off() }
}

/// Whether the current CPU is running softirq handlers (a BH work item, for instance), not just
/// with softirqs disabled (tests only).
#[cfg(rpadata_kunit)]
pub(crate) fn in_serving_softirq() -> bool {
    // SAFETY: Reads per-CPU preempt state only.
    unsafe { rpadata_shim_in_serving_softirq() }
}

/// Marks the KUnit test case in progress as skipped, with `reason` (tests only): KTAP then reports
/// it as `# SKIP` instead of a pass. The Rust KUnit API of 7.2 has no skip.
#[cfg(rpadata_kunit)]
pub(crate) fn kunit_skip(reason: &CStr) {
    // SAFETY: `reason` is NUL-terminated; KUnit copies it.
    unsafe { rpadata_shim_kunit_skip(reason.as_char_ptr()) }
}

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
pub(crate) struct CpusReadGuard(NotThreadSafe);

impl CpusReadGuard {
    /// Takes `cpus_read_lock()`. Sleeps.
    pub(crate) fn new() -> Self {
        // SAFETY: Called from process context (callers may sleep); balanced by `Drop`.
        unsafe { bindings::cpus_read_lock() };
        Self(PhantomData)
    }
}

impl Drop for CpusReadGuard {
    fn drop(&mut self) {
        // SAFETY: `new` took the lock on this thread.
        unsafe { bindings::cpus_read_unlock() };
    }
}

/// Workqueue flags rpadata uses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WqKind {
    /// Per-CPU, reclaim-safe: parallel callbacks.
    Parallel,
    /// Per-CPU, reclaim-safe, one work item at a time per CPU: serial callbacks.
    Serial,
    /// Per-CPU BH workqueue (`WQ_BH`): serial callbacks run from softirq context.
    SerialBh,
}

/// A workqueue of rpadata's own, allocated with `alloc_workqueue()` and destroyed on drop.
///
/// Both of an instance's queues are per-CPU (bound) workqueues: a module cannot call
/// `apply_workqueue_attrs()` to confine an unbound queue to a cpumask as C padata does, so rpadata
/// chooses the CPU of every work item itself and queues it there with `queue_work_on()`.
///
/// # Invariants
///
/// `wq` points to a workqueue allocated by [`Workqueue::new`] with the flags of `kind`, and not yet
/// destroyed.
pub(crate) struct Workqueue {
    wq: NonNull<bindings::workqueue_struct>,
    kind: WqKind,
}

// SAFETY: Workqueue functions may be called from any thread.
unsafe impl Send for Workqueue {}

// SAFETY: Queueing work is thread-safe; the workqueue serialises internally.
unsafe impl Sync for Workqueue {}

impl Workqueue {
    /// Allocates a workqueue called `<name><suffix>`.
    pub(crate) fn new(name: &CStr, suffix: &CStr, kind: WqKind) -> Result<Self> {
        let (flags, max_active) = match kind {
            // No rescuer thread (a kthread, 16 KiB of stack, per instance), as for C padata's
            // parallel workqueue: parallel callbacks never sleep, and when queued jobs wait for a
            // worker the in-flight limit soon has the submitters run new ones themselves. The
            // serial workqueue keeps its rescuer: serial callbacks give the jobs, and the memory
            // they hold, back to their owners.
            WqKind::Parallel => (bindings::wq_flags_WQ_PERCPU, 0),
            WqKind::Serial => (
                bindings::wq_flags_WQ_PERCPU | bindings::wq_flags_WQ_MEM_RECLAIM,
                1,
            ),
            // BH workqueues take neither WQ_MEM_RECLAIM nor a max_active (they never sleep).
            WqKind::SerialBh => (bindings::wq_flags_WQ_PERCPU | bindings::wq_flags_WQ_BH, 0),
        };
        // SAFETY: The format takes exactly the two NUL-terminated strings passed, which outlive
        // the call (the workqueue copies its formatted name).
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                c"%s%s".as_char_ptr(),
                flags,
                max_active,
                name.as_char_ptr(),
                suffix.as_char_ptr(),
            )
        };
        let wq = NonNull::new(wq).ok_or(ENOMEM)?;
        // INVARIANT: A non-NULL return is a live workqueue with the flags of `kind`, ours now.
        Ok(Self { wq, kind })
    }

    /// Whether work queued here runs from softirq context (`WQ_BH`).
    ///
    /// Such work must only be queued on an online CPU: it is raised there with an `irq_work`,
    /// which cannot target an offline CPU.
    pub(crate) fn is_bh(&self) -> bool {
        self.kind == WqKind::SerialBh
    }

    /// Queues `item` on this workqueue, on `cpu`.
    ///
    /// Returns whether it was queued (false: it was already pending).
    pub(crate) fn enqueue_on<W: RawWorkItem<0>>(&self, cpu: u32, item: W) -> W::EnqueueOutput {
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

/// Waits for every RCU read-side critical section in progress to end, including every region
/// with softirqs disabled (see [`RcuBox::read_bh`]). Sleeps.
pub(crate) fn synchronize_rcu() {
    kernel::task::might_sleep();
    // SAFETY: No preconditions; callers are in process context and may sleep.
    unsafe { bindings::synchronize_rcu() };
}

/// An owned `T` behind a pointer that readers load under RCU and writers replace.
///
/// The Rust form of `rcu_assign_pointer()`/`rcu_dereference()` + `synchronize_rcu()`: C padata
/// replaces its `parallel_data` this way; rpadata replaces the usable-CPU snapshot of an instance.
///
/// # Invariants
///
/// `ptr` always holds a pointer from `KBox::into_raw` that this value owns. A pointer removed by
/// [`RcuBox::replace`] is freed only after a grace period.
pub(crate) struct RcuBox<T> {
    ptr: Atomic<*mut T>,
}

// SAFETY: Owns a `T`; it is handed to readers on any thread (`T: Sync`) and dropped on any thread
// (`T: Send`).
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}

// SAFETY: Shared access hands out `&T` (needs `T: Sync`) and replaces `T` (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}

impl<T> RcuBox<T> {
    /// Takes ownership of `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        // INVARIANT: The pointer comes from `KBox::into_raw`.
        Self {
            ptr: Atomic::new(KBox::into_raw(value)),
        }
    }

    /// The current value, valid while the RCU read lock `_guard` is held.
    pub(crate) fn read<'a>(&'a self, _guard: &'a rcu::Guard) -> &'a T {
        let p = self.ptr.load(Acquire);
        // SAFETY: By the type invariant `p` is a live `KBox` allocation; a replaced one is freed
        // only after a grace period, and the caller is inside an RCU read-side critical section
        // for the whole lifetime of the reference.
        unsafe { &*p }
    }

    /// The current value, valid while softirqs stay disabled (`_bh`).
    ///
    /// A region with softirqs disabled is an RCU read-side critical section for
    /// `synchronize_rcu()` since the RCU flavours were consolidated (v5.0; on PREEMPT_RT
    /// `local_bh_disable()` takes the RCU read lock itself): what C padata's
    /// `rcu_read_lock_bh()` relies on. It spares the submission path a separate RCU read lock.
    pub(crate) fn read_bh<'a>(&'a self, _bh: &'a BhGuard) -> &'a T {
        let p = self.ptr.load(Acquire);
        // SAFETY: By the type invariant `p` is a live `KBox` allocation; a replaced one is freed
        // only after `synchronize_rcu()`, which waits for every region with softirqs disabled,
        // and the caller keeps them disabled for the whole lifetime of the reference.
        unsafe { &*p }
    }

    /// Replaces the value; returns after every reader of the old one is gone, and frees it.
    ///
    /// Sleeps (`synchronize_rcu()`).
    pub(crate) fn replace(&self, value: KBox<T>) {
        // INVARIANT: The new pointer comes from `KBox::into_raw`.
        let old = self.ptr.xchg(KBox::into_raw(value), Full);
        synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` (type invariant), no other writer got it (the
        // exchange is atomic) and no reader uses it after the grace period.
        drop(unsafe { KBox::from_raw(old) });
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        // SAFETY: We have exclusive access, so no reader exists; the pointer came from
        // `KBox::into_raw` (type invariant).
        drop(unsafe { KBox::from_raw(*self.ptr.get_mut()) });
    }
}

/// A sysfs directory as a show/store callback sees it.
///
/// # Invariants
///
/// `self.0` points to a kobject that, with its ancestors, is alive for `'a`: the callback runs
/// under kernfs' active reference on the file, and removing the directory waits for it.
#[derive(Clone, Copy)]
pub(crate) struct SysfsNode<'a>(NonNull<bindings::kobject>, PhantomData<&'a ()>);

impl<'a> SysfsNode<'a> {
    /// The directory of `kobj`.
    ///
    /// # Safety
    ///
    /// `kobj` must point to a kobject that, with its ancestors, stays alive for `'a`, as during a
    /// sysfs show or store callback on one of its files.
    pub(crate) unsafe fn from_raw(kobj: NonNull<bindings::kobject>) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(kobj, PhantomData)
    }

    /// The directory's name.
    pub(crate) fn name(&self) -> &'a CStr {
        // SAFETY: The kobject is alive for `'a` (type invariant) and its name is a NUL-terminated
        // string that does not change while it is in sysfs.
        unsafe { CStr::from_char_ptr(rpadata_shim_kobj_name(self.0.as_ptr())) }
    }

    /// The parent directory, if any.
    pub(crate) fn parent(&self) -> Option<SysfsNode<'a>> {
        // SAFETY: The kobject is alive (type invariant).
        let p = unsafe { rpadata_shim_kobj_parent(self.0.as_ptr()) };
        // INVARIANT: A child holds a reference on its parent, so the parent lives as long.
        NonNull::new(p).map(|p| SysfsNode(p, PhantomData))
    }
}

/// The page a show callback writes into.
///
/// # Invariants
///
/// `self.0` points to the `PAGE_SIZE` buffer of a sysfs show callback in progress.
pub(crate) struct SysfsOut(NonNull<c_char>);

impl SysfsOut {
    /// The page `buf` of a show callback.
    ///
    /// # Safety
    ///
    /// `buf` must be the `PAGE_SIZE` buffer of a sysfs show callback in progress, for as long as
    /// the value is used.
    pub(crate) unsafe fn from_raw(buf: NonNull<c_char>) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(buf)
    }

    /// Writes formatted text; returns the length written.
    pub(crate) fn emit(&mut self, args: core::fmt::Arguments<'_>) -> Result<usize> {
        // SAFETY: The buffer is a sysfs page (type invariant); `%pA` formats the `Arguments` it is
        // given a pointer to, which lives across the call.
        let n = unsafe {
            bindings::sysfs_emit(
                self.0.as_ptr(),
                c"%pA".as_char_ptr(),
                core::ptr::from_ref(&args).cast::<core::ffi::c_void>(),
            )
        };
        usize::try_from(n).map_err(|_| EINVAL)
    }

    /// Writes `mask` in the kernel's `%*pb` format, with a newline.
    pub(crate) fn emit_cpumask(&mut self, mask: &Cpumask) -> Result<usize> {
        // SAFETY: The buffer is a sysfs page (type invariant); `mask` is a valid cpumask.
        let n = unsafe { rpadata_shim_emit_cpumask(self.0.as_ptr(), mask.as_raw()) };
        usize::try_from(n).map_err(|_| EINVAL)
    }
}

/// Parses a cpumask in the kernel's `%*pb` format (`bitmap_parse()`), refusing bits at or above
/// `nr_cpu_ids`. Returns the kernel's error codes: `EINVAL` for malformed text, `EOVERFLOW` for
/// bits out of range.
pub(crate) fn parse_cpumask(text: &[u8]) -> Result<CpumaskVar> {
    let mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    // SAFETY: `text` is valid for `text.len()` bytes; `mask` is a writable cpumask of at least
    // `nr_cpu_ids` bits.
    let r = unsafe { rpadata_shim_parse_cpumask(text.as_ptr().cast(), text.len(), mask.as_raw()) };
    kernel::error::to_result(r)?;
    Ok(mask)
}

/// A CPU hotplug callback of a multi-instance state: `(cpu, node)`.
pub(crate) type HotplugFn = unsafe extern "C" fn(c_uint, *mut bindings::hlist_node) -> c_int;

/// `cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "rpadata:online", online, offline)`, a static
/// inline function in C. Returns the state number or a negative error.
///
/// # Safety
///
/// The callbacks must stay callable until the state is removed with `__cpuhp_remove_state()`.
pub(crate) unsafe fn cpuhp_setup_online_dyn(online: HotplugFn, offline: HotplugFn) -> c_int {
    // SAFETY: The caller keeps the callbacks valid for the state's lifetime.
    unsafe { rpadata_shim_hotplug_setup(online, offline) }
}

/// Whether the current task has a fatal signal pending.
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: Reads the current task's signal state only.
    unsafe { rpadata_shim_fatal_signal_pending() }
}

/// Whether nothing but the current task wants this CPU: no other task is runnable on it and no
/// reschedule is pending (what vhost's busy polling and KVM's halt polling check).
pub(crate) fn cpu_uncontended() -> bool {
    // SAFETY: Reads the current CPU's run-queue length and the current task's flags only.
    unsafe { rpadata_shim_cpu_uncontended() }
}

/// The NUMA node of the current CPU.
#[cfg(rpadata_kunit)]
pub(crate) fn numa_node_id() -> i32 {
    // SAFETY: No preconditions.
    unsafe { rpadata_shim_numa_node_id() }
}

/// The number of NUMA nodes with CPUs.
#[cfg(rpadata_kunit)]
pub(crate) fn nodes_with_cpus() -> u32 {
    // SAFETY: No preconditions.
    unsafe { rpadata_shim_nodes_with_cpus() }
}

/// The node that received the last NUMA-aware helper (as `last_used_nid` in C padata).
static LAST_NODE: kernel::sync::atomic::Atomic<c_int> = kernel::sync::atomic::Atomic::new(0);

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
#[cfg(rpadata_kunit)]
pub(crate) const NUMA_NO_NODE: i32 = bindings::NUMA_NO_NODE;

/// The CPU [`enqueue_unbound`] starts a helper on when the previous one went to `cursor` (`-1`
/// for the first) and the caller runs on `here`; `node` is a NUMA node or `NUMA_NO_NODE` (tests
/// only).
#[cfg(rpadata_kunit)]
pub(crate) fn helper_cpu(node: i32, cursor: i32, here: u32) -> u32 {
    // SAFETY: No preconditions; reads the online mask only.
    unsafe { rpadata_shim_helper_cpu(node, cursor, here) }
}

/// Queues `item` on the system's default unbound workqueue, to start on the next CPU of `cpus`,
/// a CPU of the next NUMA node with CPUs (round-robin) when `numa_aware`. An item that is already
/// pending is left as it is.
pub(crate) fn enqueue_unbound<W: RawWorkItem<0>>(item: W, numa_aware: bool, cpus: &mut HelperCpus) {
    // SAFETY: `system_dfl_wq` is set up during boot and never destroyed.
    let wq = unsafe { bindings::system_dfl_wq };
    let node = if numa_aware {
        let mut old = LAST_NODE.load(kernel::sync::atomic::Relaxed);
        loop {
            // SAFETY: No preconditions; any node id is accepted.
            let next = unsafe { rpadata_shim_next_node_with_cpus(old) };
            match LAST_NODE.cmpxchg(old, next, kernel::sync::atomic::Relaxed) {
                Ok(_) => break next,
                Err(cur) => old = cur,
            }
        }
    } else {
        bindings::NUMA_NO_NODE
    };
    let cursor = &raw mut cpus.0;
    // SAFETY: The closure queues the given `work_struct` on a live unbound workqueue, as
    // `__enqueue` requires; `cursor` points to a live `c_int` only this call uses.
    let _ =
        unsafe { item.__enqueue(move |work| rpadata_shim_queue_helper(wq, work, node, cursor)) };
}
