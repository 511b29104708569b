// SPDX-License-Identifier: GPL-2.0

//! A safe Rust API over rpadata's C ABI, for other modules.
//!
//! Out-of-tree Rust modules cannot link to rpadata's crate, only to the symbols `rpadata.ko`
//! exports. A consumer compiles this file in, next to its own code:
//!
//! ```ignore
//! #[path = "/path/to/rpadata/client/rpadata.rs"]
//! mod rpadata;
//! ```
//!
//! and builds with `KBUILD_EXTRA_SYMBOLS` pointing at rpadata's `Module.symvers` (see
//! `make -s symvers`). The API is rpadata's own: [`Job`], [`JobBox`], [`Pending`], [`MaskType`]
//! and [`MtParams`] are the crate's definitions (`rust/types.rs`, `rust/instance/shell/boxed.rs`,
//! compiled in here over the C ABI, so `client/` must stay next to `rust/`); [`Instance`],
//! [`Shell`] and [`do_multithreaded`] are the C ABI's handles and calls.

// A consumer compiles this file in as a private module and uses part of it.
#![allow(dead_code, unreachable_pub, unused_imports)]

#[path = "rpadata_ffi.rs"]
mod ffi;

// The types rpadata's own Rust API uses, compiled in here: one definition of each.
#[path = "../rust/types.rs"]
mod types;

#[path = "../rust/instance/shell/boxed.rs"]
mod boxed;

pub use boxed::{
    Job,
    JobBox,
    Pending, //
};
pub use types::{
    MaskType,
    MtParams, //
};

/// What `boxed.rs` needs from below: rpadata's C ABI.
mod engine {
    use super::ffi;
    use core::ptr::NonNull;
    use kernel::prelude::*;

    /// The header a job box starts with.
    pub(super) type Header = ffi::RawPriv;

    /// What jobs are submitted to: a live shell.
    pub(super) type Shell = NonNull<ffi::RawShell>;

    /// An idle header with the given callbacks.
    pub(super) fn header(
        parallel: unsafe extern "C" fn(*mut Header),
        serial: unsafe extern "C" fn(*mut Header),
    ) -> Header {
        Header::new(parallel, serial)
    }

    /// `rpadata_do_parallel()` asking for callback CPU `cb_cpu`; returns the one it got.
    ///
    /// # Safety
    ///
    /// `shell` must be a live shell; `job` an idle header, valid until its serial callback, and
    /// on failure the caller's again.
    pub(super) unsafe fn submit(shell: &Shell, job: NonNull<Header>, cb_cpu: i32) -> Result<u32> {
        let mut cpu = cb_cpu;
        // SAFETY: Per the safety requirements; `cpu` is ours for the call.
        kernel::error::to_result(unsafe {
            ffi::rpadata_do_parallel(shell.as_ptr(), job.as_ptr(), &mut cpu)
        })?;
        // CAST: A CPU id, written by rpadata on success.
        Ok(cpu as u32)
    }

    /// `rpadata_do_serial()`.
    ///
    /// # Safety
    ///
    /// `job` must be a job in its parallel phase, owned by the caller.
    pub(super) unsafe fn do_serial(job: NonNull<Header>) {
        // SAFETY: Per the safety requirements.
        unsafe { ffi::rpadata_do_serial(job.as_ptr()) };
    }
}

use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    cpumask::Cpumask,
    ffi::{
        c_int,
        c_ulong,
        c_void, //
    },
    prelude::*, //
};

/// An rpadata instance (`rpadata_alloc()`); freed when dropped, which sleeps until every job of
/// every shell has been serialized.
///
/// # Invariants
///
/// `self.0` is a live instance from `rpadata_alloc()`, owned by this value.
pub struct Instance(NonNull<ffi::RawInstance>);

// SAFETY: rpadata instances may be used and freed from any thread.
unsafe impl Send for Instance {}
// SAFETY: Every rpadata function taking an instance is thread-safe.
unsafe impl Sync for Instance {}

impl Instance {
    /// Allocates an instance; `EINVAL` for a bad or duplicate name (or no memory).
    pub fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated.
        let p = unsafe { ffi::rpadata_alloc(name.as_char_ptr()) };
        // INVARIANT: A non-NULL return is a new instance that we own.
        NonNull::new(p).map(Self).ok_or(EINVAL)
    }

    /// Allocates an instance whose serial callbacks run from softirq context
    /// (`RPADATA_SERIAL_SOFTIRQ`: lower latency on busy callback CPUs, an inter-processor
    /// interrupt per release to an idle one); errors as [`Instance::new`].
    pub fn new_serial_softirq(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated.
        let p = unsafe { ffi::rpadata_alloc_flags(name.as_char_ptr(), ffi::SERIAL_SOFTIRQ) };
        // INVARIANT: A non-NULL return is a new instance that we own.
        NonNull::new(p).map(Self).ok_or(EINVAL)
    }

    /// Allocates a shell. The shell borrows the instance, so it cannot outlive it.
    pub fn new_shell(&self) -> Result<Shell<'_>> {
        // SAFETY: The instance is live (type invariant).
        let p = unsafe { ffi::rpadata_alloc_shell(self.0.as_ptr()) };
        // INVARIANT: A non-NULL return is a new shell that we own.
        NonNull::new(p).map(|p| Shell(p, PhantomData)).ok_or(ENOMEM)
    }

    /// Replaces the parallel or serial user mask (`rpadata_set_cpumask()`).
    pub fn set_cpumask(&self, which: MaskType, mask: &Cpumask) -> Result {
        let t = match which {
            MaskType::Serial => ffi::CPU_SERIAL,
            MaskType::Parallel => ffi::CPU_PARALLEL,
        };
        // SAFETY: The instance is live; `mask` is a valid cpumask for the call.
        kernel::error::to_result(unsafe {
            ffi::rpadata_set_cpumask(self.0.as_ptr(), t, mask.as_raw())
        })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: We own the live instance; its shells borrow it, so they are gone.
        unsafe { ffi::rpadata_free(self.0.as_ptr()) };
    }
}

/// A shell (`rpadata_alloc_shell()`); freed when dropped, which sleeps until every job submitted to
/// it has been serialized.
///
/// # Invariants
///
/// `self.0` is a live shell of the borrowed instance, owned by this value.
pub struct Shell<'a>(NonNull<ffi::RawShell>, PhantomData<&'a Instance>);

// SAFETY: As for `Instance`.
unsafe impl Send for Shell<'_> {}
// SAFETY: As for `Instance`.
unsafe impl Sync for Shell<'_> {}

impl Shell<'_> {
    /// Submits `job` (`rpadata_do_parallel()`); returns its callback CPU, or the error and the job.
    pub fn do_parallel<J: Job>(
        &self,
        job: JobBox<J>,
        cb_cpu: i32,
    ) -> Result<u32, (Error, JobBox<J>)> {
        // The shell is live (type invariant), as `engine::submit` requires.
        boxed::submit(&self.0, job, cb_cpu)
    }
}

impl Drop for Shell<'_> {
    fn drop(&mut self) {
        // SAFETY: We own the live shell.
        unsafe { ffi::rpadata_free_shell(self.0.as_ptr()) };
    }
}

/// # Safety
///
/// `arg` must point to an `F` that lives for the call.
unsafe extern "C" fn thread_trampoline<F>(s: c_ulong, e: c_ulong, arg: *mut c_void) -> c_int
where
    F: Fn(usize, usize) -> Result + Sync,
{
    // SAFETY: Per the safety requirements; shared access, `F: Sync`.
    let f = unsafe { &*arg.cast::<F>() };
    match f(s, e) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Runs `f(start, end)` over the chunks of `p` on the caller and rpadata's helpers
/// (`rpadata_do_multithreaded()`); returns the first error of `f`, `EINTR` on a fatal signal, or
/// `EINVAL` for bad parameters.
pub fn do_multithreaded<F>(p: &MtParams, f: F) -> Result
where
    F: Fn(usize, usize) -> Result + Sync,
{
    let job = ffi::RawMtJob {
        thread_fn: Some(thread_trampoline::<F>),
        fn_arg: core::ptr::from_ref(&f).cast_mut().cast(),
        start: p.start,
        size: p.size,
        align: p.align,
        min_chunk: p.min_chunk,
        max_threads: c_int::try_from(p.max_threads).map_err(|_| EINVAL)?,
        numa_aware: p.numa_aware,
    };
    // SAFETY: `job` is valid for the call; `f` outlives it (rpadata returns only when every chunk
    // is done) and is `Sync`, as the trampoline requires.
    kernel::error::to_result(unsafe { ffi::rpadata_do_multithreaded(&job) })
}
