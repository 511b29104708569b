// SPDX-License-Identifier: GPL-2.0

//! The C ABI: `include/rpadata.h`, exported GPL from `shim.c`, over the safe Rust API.
//!
//! Mirrors `<linux/padata.h>` with an `rpadata_` prefix (C padata's own `padata_*` symbols are in
//! the kernel already). This is the only file that turns pointers from C callers into references;
//! what it trusts the caller for is said at each function. Bad arguments that can be detected
//! (NULL pointers, a job submitted twice, `do_serial` on a job not in its parallel phase) give a
//! warning and an error, never a crash.

use crate::{
    instance::{
        self,
        Instance,
        InstanceOptions,
        Shell, //
    },
    job::{
        JobHeader,
        JobRef, //
    },
    mt,
    types::{
        MaskType,
        MtParams, //
    }, //
};
use core::ptr::NonNull;
use kernel::{
    cpumask::Cpumask,
    ffi::{
        c_char,
        c_int,
        c_uint,
        c_ulong,
        c_void, //
    },
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex, //
    }, //
};

/// `struct rpadata_instance`: an instance and the shells C allocated on it, so that
/// `rpadata_free()` can free any left.
#[pin_data]
pub(crate) struct CInstance {
    inst: Instance,
    #[pin]
    shells: Mutex<KVec<KBox<CShell>>>,
}

/// `struct rpadata_shell`.
///
/// # Invariants
///
/// `owner` is the `CInstance` whose `shells` holds this shell; it outlives the shell.
pub(crate) struct CShell {
    shell: Shell,
    owner: *const CInstance,
}

// SAFETY: `owner` is only used for shared access to a `Sync` `CInstance` that outlives the shell.
unsafe impl Send for CShell {}

/// Warns with the caller's backtrace and returns `$ret`, when `$cond` holds.
macro_rules! bad_arg {
    ($cond:expr, $ret:expr) => {
        if kernel::warn_on!($cond) {
            return $ret;
        }
    };
}

/// `RPADATA_SERIAL_SOFTIRQ`: serial callbacks run from softirq context
/// ([`InstanceOptions::serial_softirq`]).
const RPADATA_SERIAL_SOFTIRQ: c_uint = 0x01;

/// `RPADATA_PARALLEL_LOCAL`: the submitting CPU takes its turns of parallel callbacks, from its
/// own queue ([`InstanceOptions::parallel_local`]).
const RPADATA_PARALLEL_LOCAL: c_uint = 0x02;

/// `rpadata_alloc()`: allocates an instance called `name`; NULL on any failure (bad or duplicate
/// name, no memory).
///
/// # Safety
///
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_alloc(name: *const c_char) -> *mut CInstance {
    // SAFETY: Same requirements.
    unsafe { rpadata_alloc_flags(name, 0) }
}

/// `rpadata_alloc_flags()`: `rpadata_alloc()` with `RPADATA_*` flags; NULL also for an unknown
/// flag.
///
/// # Safety
///
/// `name` must be NULL or a NUL-terminated string.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_alloc_flags(
    name: *const c_char,
    flags: c_uint,
) -> *mut CInstance {
    bad_arg!(name.is_null(), core::ptr::null_mut());
    // SAFETY: A NUL-terminated string per the safety requirements; only borrowed for this call.
    let name = unsafe { CStr::from_char_ptr(name) };
    if flags & !(RPADATA_SERIAL_SOFTIRQ | RPADATA_PARALLEL_LOCAL) != 0 {
        pr_info!(
            "rpadata_alloc_flags({:?}): unknown flags {:#x}\n",
            name,
            flags
        );
        return core::ptr::null_mut();
    }
    let opts = InstanceOptions {
        serial_softirq: flags & RPADATA_SERIAL_SOFTIRQ != 0,
        parallel_local: flags & RPADATA_PARALLEL_LOCAL != 0,
        ..Default::default()
    };
    let inst = match Instance::new_with(name, opts) {
        Ok(i) => i,
        Err(e) => {
            pr_info!("rpadata_alloc({:?}): error {:?}\n", name, e);
            return core::ptr::null_mut();
        }
    };
    match KBox::pin_init(
        pin_init!(CInstance {
            inst,
            shells <- new_mutex!(KVec::new(), "rpadata_c_shells"),
        }),
        GFP_KERNEL,
    ) {
        // SAFETY: The C side never moves the instance; it gives the pointer back to
        // `rpadata_free()`, which rebuilds the pinned box.
        Ok(b) => KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) }),
        Err(_) => core::ptr::null_mut(),
    }
}

/// `rpadata_free()`: frees any shell still attached (sleeping until each one's jobs are
/// serialized), then the instance. NULL is ignored.
///
/// # Safety
///
/// `inst` must be NULL or come from `rpadata_alloc()` and not have been freed; no other call may
/// use it or its shells concurrently or afterwards.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_free(inst: *mut CInstance) {
    if inst.is_null() {
        return;
    }
    // SAFETY: Per the safety requirements, `inst` is ours now.
    let inst = unsafe { KBox::from_raw(inst) };
    let left = core::mem::take(&mut *inst.shells.lock());
    if !left.is_empty() {
        pr_warn!(
            "rpadata_free({:?}): freeing {} shell(s) still attached\n",
            inst.inst.name(),
            left.len()
        );
    }
    drop(left);
    drop(inst);
}

/// `rpadata_alloc_shell()`: allocates a shell; NULL on failure.
///
/// # Safety
///
/// `inst` must be NULL or a live instance from `rpadata_alloc()`.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_alloc_shell(inst: *mut CInstance) -> *mut CShell {
    bad_arg!(inst.is_null(), core::ptr::null_mut());
    // SAFETY: A live instance per the safety requirements; shared access only.
    let cinst = unsafe { &*inst };
    let Ok(shell) = cinst.inst.new_shell() else {
        return core::ptr::null_mut();
    };
    // INVARIANT: The shell goes into `inst`'s list below, and `rpadata_free()` frees it first.
    let Ok(b) = KBox::new(CShell { shell, owner: inst }, GFP_KERNEL) else {
        return core::ptr::null_mut();
    };
    let p: *const CShell = &*b;
    let mut shells = cinst.shells.lock();
    if shells.push(b, GFP_KERNEL).is_err() {
        return core::ptr::null_mut();
    }
    p.cast_mut()
}

/// `rpadata_free_shell()`: sleeps until every job submitted to the shell has been serialized, then
/// frees it. NULL is ignored.
///
/// # Safety
///
/// `shell` must be NULL or a live shell from `rpadata_alloc_shell()` whose instance is live, and no
/// other call may use the shell concurrently or afterwards.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_free_shell(shell: *mut CShell) {
    if shell.is_null() {
        return;
    }
    // SAFETY: A live shell per the safety requirements.
    let owner = unsafe { (*shell).owner };
    // SAFETY: The owner of a live shell is live: `rpadata_free()` frees its shells first.
    let owner = unsafe { &*owner };
    let taken = {
        let mut shells = owner.shells.lock();
        let i = shells.iter().position(|s| core::ptr::eq(&**s, shell));
        i.and_then(|i| shells.remove(i).ok())
    };
    kernel::warn_on!(taken.is_none());
    // Sleeps until the shell's jobs are serialized; outside the lock.
    drop(taken);
}

/// `rpadata_do_parallel()`: submits a job. Writes the callback CPU to `*cb_cpu` before the job can
/// run. Returns 0, or `-EINVAL` when the instance is invalid (no online CPU in a mask) or being
/// freed, or an argument is bad (NULL, a callback missing, the job already in flight).
///
/// # Safety
///
/// `shell` must be NULL or a live shell. `padata` must be NULL or point to a `struct rpadata_priv`
/// that the caller zeroed before its first submission and keeps valid, and does not touch but for
/// its callbacks, until its serial callback is called. `cb_cpu` must be NULL or aligned and valid
/// for reads and writes until the job can run (its completion may free it, before this returns),
/// and accessed meanwhile by others only atomically (`READ_ONCE()`, `WRITE_ONCE()`, or another
/// submission: submitters may share it, as pcrypt's share their transform's).
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_do_parallel(
    shell: *mut CShell,
    padata: *mut JobHeader,
    cb_cpu: *mut c_int,
) -> c_int {
    bad_arg!(shell.is_null() || cb_cpu.is_null(), EINVAL.to_errno());
    let Some(job) = NonNull::new(padata) else {
        kernel::warn_on!(true);
        return EINVAL.to_errno();
    };
    // SAFETY: Per the safety requirements for `padata`.
    let job = match unsafe { JobRef::submit(job) } {
        Ok(j) => j,
        Err(e) => {
            kernel::warn_on!(true);
            return e.to_errno();
        }
    };
    // SAFETY: Aligned, valid, and accessed by others only atomically, per the safety requirements.
    let want = unsafe { Atomic::from_ptr(cb_cpu) }.load(Relaxed);
    // SAFETY: A live shell per the safety requirements.
    let shell = unsafe { &*shell };
    // Only the raw pointer lives on: once the job can run, `*cb_cpu` may be freed.
    let chosen = move |cb: u32| {
        // SAFETY: As above: `submit` calls this before the job can run.
        let cb_cpu = unsafe { Atomic::from_ptr(cb_cpu) };
        // CAST: A CPU id, below `nr_cpu_ids`: fits.
        cb_cpu.store(cb as c_int, Relaxed);
    };
    match shell.shell.core().submit(job, want, chosen) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `rpadata_do_serial()`: the job's parallel phase is over; its serial callback will run after
/// those of every job submitted to the shell earlier. A job not in its parallel phase (never
/// submitted, or already passed to this function) is refused with a warning.
///
/// # Safety
///
/// `padata` must be NULL or valid for reads; if it is in its parallel phase, the caller must own it
/// (be its parallel callback, or have been handed the job by it).
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_do_serial(padata: *mut JobHeader) {
    let Some(job) = NonNull::new(padata) else {
        kernel::warn_on!(true);
        return;
    };
    // SAFETY: Per the safety requirements.
    match unsafe { JobRef::from_do_serial(job) } {
        Some(job) => instance::do_serial(job),
        None => {
            kernel::pr_warn_once!("rpadata_do_serial: job not in its parallel phase\n");
            kernel::warn_on!(true);
        }
    }
}

/// `rpadata_set_cpumask()`: replaces the parallel (`RPADATA_CPU_PARALLEL`) or serial
/// (`RPADATA_CPU_SERIAL`) user mask. Returns 0, or `-EINVAL` for a bad type, a NULL argument or an
/// empty mask (nothing changes), or `-ENOMEM`. Sleeps.
///
/// # Safety
///
/// `inst` must be NULL or a live instance; `mask` must be NULL or a valid cpumask for the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_set_cpumask(
    inst: *mut CInstance,
    cpumask_type: c_int,
    mask: *const kernel::bindings::cpumask,
) -> c_int {
    bad_arg!(inst.is_null() || mask.is_null(), EINVAL.to_errno());
    let Ok(which) = MaskType::from_raw(cpumask_type) else {
        return EINVAL.to_errno();
    };
    // SAFETY: A live instance per the safety requirements.
    let inst = unsafe { &*inst };
    // SAFETY: A valid cpumask for the duration of the call per the safety requirements.
    let mask = unsafe { Cpumask::from_raw(mask) };
    match inst.inst.set_cpumask(which, mask) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `struct rpadata_mt_job`.
#[repr(C)]
pub(crate) struct CMtJob {
    thread_fn: Option<unsafe extern "C" fn(c_ulong, c_ulong, *mut c_void) -> c_int>,
    fn_arg: *mut c_void,
    start: c_ulong,
    size: c_ulong,
    align: c_ulong,
    min_chunk: c_ulong,
    max_threads: c_int,
    numa_aware: bool,
}

/// The C caller's thread function and argument, shared by every thread of a job.
struct CThreadFn {
    f: unsafe extern "C" fn(c_ulong, c_ulong, *mut c_void) -> c_int,
    arg: *mut c_void,
}

// SAFETY: `rpadata_do_multithreaded()` documents that the thread function is called concurrently
// from several threads with the same argument; making that safe is the C caller's part.
unsafe impl Sync for CThreadFn {}

impl CThreadFn {
    /// Runs the thread function on `[s, e)`.
    fn call(&self, s: usize, e: usize) -> Result {
        // SAFETY: The caller's thread function, called as `rpadata_do_multithreaded()` documents.
        let r = unsafe { (self.f)(s, e, self.arg) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }
}

/// `rpadata_do_multithreaded()`: runs `job->thread_fn` over `[start, start + size)` in chunks, on
/// the caller and up to `max_threads - 1` helpers, and returns when every chunk is done. Returns 0,
/// the first negative value a thread function returned (no chunk is handed out after it),
/// `-EINTR` on a fatal signal to the caller, or `-EINVAL` (NULL job or thread function,
/// `max_threads < 1`, `align` not a power of two, `start + size` overflows) before any work. The
/// job is not modified. May sleep.
///
/// # Safety
///
/// `job` must be NULL or valid for reads for the call; `thread_fn` must be safe to call
/// concurrently with `fn_arg` on the job's ranges.
#[no_mangle]
pub(crate) unsafe extern "C" fn rpadata_do_multithreaded(job: *const CMtJob) -> c_int {
    if job.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: Valid for reads for the call per the safety requirements; only ever read.
    let job = unsafe { &*job };
    let Some(f) = job.thread_fn else {
        return EINVAL.to_errno();
    };
    let Ok(max_threads) = u32::try_from(job.max_threads) else {
        return EINVAL.to_errno();
    };
    let tf = CThreadFn { f, arg: job.fn_arg };
    match mt::run(&job.params(max_threads), None, |s, e| tf.call(s, e)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl CMtJob {
    /// The job's parameters, with `max_threads` already converted.
    #[inline]
    fn params(&self, max_threads: u32) -> MtParams {
        MtParams {
            start: self.start,
            size: self.size,
            align: self.align,
            min_chunk: self.min_chunk,
            max_threads,
            numa_aware: self.numa_aware,
        }
    }
}
