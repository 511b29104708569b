// SPDX-License-Identifier: GPL-2.0

//! A safe Rust API over rpadata's C ABI, for other modules.
//!
//! Out-of-tree Rust modules cannot link to rpadata's crate, only to the symbols `rpadata.ko`
//! exports. A consumer compiles this file and `rpadata_ffi.rs` in, next to its own code:
//!
//! ```ignore
//! #[path = "/path/to/rpadata/client/rpadata.rs"]
//! mod rpadata;
//! ```
//!
//! and builds with `KBUILD_EXTRA_SYMBOLS` pointing at rpadata's `Module.symvers` (see
//! `make -s symvers`). The API has the shape of rpadata's internal one: [`Instance`], [`Shell`],
//! [`Job`] with [`JobBox`] and [`Pending`], and [`do_multithreaded`] with [`MtParams`].

// A consumer compiles this file in as a private module and uses part of it.
#![allow(dead_code, unreachable_pub)]

#[path = "rpadata_ffi.rs"]
mod ffi;

use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};
use kernel::{
    cpumask::Cpumask,
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
};

/// Which mask [`Instance::set_cpumask`] replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskType {
    /// CPUs allowed as serial callback CPUs.
    Serial,
    /// CPUs that run parallel callbacks.
    Parallel,
}

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
        let mut cpu: c_int = cb_cpu;
        let node = job.0;
        core::mem::forget(job);
        // SAFETY: The shell is live; the node is an idle job we own, handed to rpadata until its
        // serial callback gives it back; `cpu` is valid for the call.
        let r =
            unsafe { ffi::rpadata_do_parallel(self.0.as_ptr(), node.as_ptr().cast(), &mut cpu) };
        if r == 0 {
            Ok(cpu as u32)
        } else {
            // INVARIANT: A failed submission leaves the job idle and ours.
            Err((Error::from_errno(r), JobBox(node)))
        }
    }
}

impl Drop for Shell<'_> {
    fn drop(&mut self) {
        // SAFETY: We own the live shell.
        unsafe { ffi::rpadata_free_shell(self.0.as_ptr()) };
    }
}

/// A serialized job written in Rust; see rpadata's `Job`.
pub trait Job: Send + Sized + 'static {
    /// Parallel phase (BHs off); ends when `job` is dropped or [`Pending::serial`] is called.
    fn parallel(job: Pending<Self>);
    /// Serial phase (BHs off, submission order, callback CPU); the job comes back.
    fn serial(job: JobBox<Self>);
}

#[repr(C)]
struct Node<J> {
    raw: ffi::RawPriv,
    data: J,
}

/// An allocated, idle job.
///
/// # Invariants
///
/// `self.0` is a `KBox` allocation of a `Node<J>` with the trampolines of `J`, not submitted.
pub struct JobBox<J: Job>(NonNull<Node<J>>);

// SAFETY: Owns a `J`, which is `Send`.
unsafe impl<J: Job> Send for JobBox<J> {}

impl<J: Job> JobBox<J> {
    /// Allocates a job holding `data`.
    pub fn new(data: J, flags: kernel::alloc::Flags) -> Result<Self> {
        // SAFETY: An all-zero `RawPriv` is the idle state the header asks callers to start from.
        let mut raw: ffi::RawPriv = unsafe { core::mem::zeroed() };
        raw.parallel = Some(parallel_trampoline::<J>);
        raw.serial = Some(serial_trampoline::<J>);
        let b = KBox::new(Node { raw, data }, flags)?;
        // INVARIANT: A fresh allocation with the trampolines of `J`.
        // SAFETY: `KBox::into_raw` is never NULL.
        Ok(Self(unsafe { NonNull::new_unchecked(KBox::into_raw(b)) }))
    }
}

impl<J: Job> Deref for JobBox<J> {
    type Target = J;
    fn deref(&self) -> &J {
        // SAFETY: We own the live node.
        unsafe { &(*self.0.as_ptr()).data }
    }
}

impl<J: Job> DerefMut for JobBox<J> {
    fn deref_mut(&mut self) -> &mut J {
        // SAFETY: We own the live node, exclusively.
        unsafe { &mut (*self.0.as_ptr()).data }
    }
}

impl<J: Job> Drop for JobBox<J> {
    fn drop(&mut self) {
        // SAFETY: Our allocation, not in rpadata.
        drop(unsafe { KBox::from_raw(self.0.as_ptr()) });
    }
}

/// A job in its parallel phase; dropping it hands it to `rpadata_do_serial()`.
///
/// # Invariants
///
/// `self.0` is a job of type `J` in its parallel phase, owned by this value.
pub struct Pending<J: Job>(NonNull<Node<J>>);

// SAFETY: Owns the job; `rpadata_do_serial()` may be called from any thread.
unsafe impl<J: Job> Send for Pending<J> {}

impl<J: Job> Pending<J> {
    /// Hands the job to serialization.
    pub fn serial(self) {}
}

impl<J: Job> Deref for Pending<J> {
    type Target = J;
    fn deref(&self) -> &J {
        // SAFETY: We own the live job.
        unsafe { &(*self.0.as_ptr()).data }
    }
}

impl<J: Job> DerefMut for Pending<J> {
    fn deref_mut(&mut self) -> &mut J {
        // SAFETY: We own the live job, exclusively.
        unsafe { &mut (*self.0.as_ptr()).data }
    }
}

impl<J: Job> Drop for Pending<J> {
    fn drop(&mut self) {
        // SAFETY: The job is in its parallel phase and ours to hand on.
        unsafe { ffi::rpadata_do_serial(self.0.as_ptr().cast()) };
    }
}

/// # Safety
///
/// Called by rpadata with the header of a `Node<J>` in its parallel phase.
unsafe extern "C" fn parallel_trampoline<J: Job>(p: *mut ffi::RawPriv) {
    // SAFETY: Per the safety requirements; ownership passes to the `Pending`.
    J::parallel(Pending(unsafe { NonNull::new_unchecked(p.cast()) }));
}

/// # Safety
///
/// Called by rpadata with the header of a `Node<J>` it gives back.
unsafe extern "C" fn serial_trampoline<J: Job>(p: *mut ffi::RawPriv) {
    // SAFETY: Per the safety requirements; ownership comes back.
    J::serial(JobBox(unsafe { NonNull::new_unchecked(p.cast()) }));
}

/// A multithreaded job's description (`struct rpadata_mt_job` without the function).
#[derive(Clone, Copy, Debug)]
pub struct MtParams {
    /// First index.
    pub start: usize,
    /// Number of indices.
    pub size: usize,
    /// Chunk boundaries are multiples of this (power of two; 0 means 1).
    pub align: usize,
    /// Smallest chunk worth a thread.
    pub min_chunk: usize,
    /// Most threads, the caller included.
    pub max_threads: u32,
    /// Spread helpers over NUMA nodes.
    pub numa_aware: bool,
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
