// SPDX-License-Identifier: GPL-2.0

//! Jobs with a Rust payload: the [`Job`] trait, the [`JobBox`] that owns one and the [`Pending`]
//! handle of its parallel phase, and their submission.
//!
//! The safe Rust face of `struct rpadata_priv`: a [`JobBox`] is a `KBox` whose first field is the
//! job header, with callbacks that hand the payload to [`Job::parallel`] and [`Job::serial`].
//!
//! Shared with `client/`, which compiles this file into other modules: what it needs from below
//! (the header type, how to make one, submission and `do_serial`) it takes from its parent's
//! `engine` module: rpadata's shells here (`shell.rs`), the C ABI there.

use super::engine::{
    self,
    Header, //
};
use core::{
    marker::PhantomData,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr::NonNull, //
};
use kernel::prelude::*;

/// A job with a Rust payload: what [`Job`] implementors submit.
///
/// `repr(C)` with the header first, so that a header pointer the engine hands back is also a
/// pointer to the node.
#[repr(C)]
struct JobNode<J> {
    header: Header,
    data: J,
}

/// A serialized job written in Rust.
///
/// The engine takes the job on submission (`Shell::do_parallel`), gives it to
/// [`Job::parallel`] on a CPU of the parallel mask, and back to its owner in [`Job::serial`], in
/// submission order, on the callback CPU. Both run with BHs disabled and must not sleep.
pub trait Job: Send + Sized + 'static {
    /// The parallel phase. Ends when `job` is handed to serialization: by calling
    /// [`Pending::serial`] or by dropping it, now or later, in process or softirq context.
    fn parallel(job: Pending<Self>);

    /// The serial phase; ownership comes back to the caller, who may resubmit or drop the job.
    fn serial(job: JobBox<Self>);
}

/// An allocated, idle job with a payload of type `J`.
///
/// # Invariants
///
/// `self.0` is a `KBox` allocation of a [`JobNode<J>`] whose header's callbacks are the
/// trampolines for `J`, and the job is not in the engine.
pub struct JobBox<J: Job>(NonNull<JobNode<J>>);

// SAFETY: Owns a `JobNode<J>`, which is `Send` when `J` is.
unsafe impl<J: Job> Send for JobBox<J> {}

// SAFETY: Shared access only gives `&J`.
unsafe impl<J: Job + Sync> Sync for JobBox<J> {}

impl<J: Job> JobBox<J> {
    /// Allocates a job holding `data`.
    pub fn new(data: J, flags: kernel::alloc::Flags) -> Result<Self> {
        let node = KBox::new(
            JobNode {
                header: engine::header(parallel_trampoline::<J>, serial_trampoline::<J>),
                data,
            },
            flags,
        )?;
        // INVARIANT: A fresh `KBox` allocation with the trampolines for `J`; not submitted.
        // SAFETY: `KBox::into_raw` never returns NULL.
        Ok(Self(unsafe {
            NonNull::new_unchecked(KBox::into_raw(node))
        }))
    }

    /// Consumes the box and returns the payload.
    pub fn into_inner(self) -> J {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: `p` is our `KBox` allocation (type invariant), given up by `forget` above.
        let node = unsafe { KBox::from_raw(p) };
        KBox::into_inner(node).data
    }

    /// Hands the job to the engine: its header, which the engine owns until the serial callback.
    fn into_header(self) -> NonNull<Header> {
        let p = self.0.cast::<Header>();
        core::mem::forget(self);
        p
    }

    /// Takes back a job from its header.
    ///
    /// # Safety
    ///
    /// `p` must come from [`JobBox::into_header`] for the same `J`, and the caller must own it.
    unsafe fn from_header(p: NonNull<Header>) -> Self {
        // INVARIANT: Per the safety requirements.
        Self(p.cast())
    }
}

impl<J: Job> Deref for JobBox<J> {
    type Target = J;

    fn deref(&self) -> &J {
        // SAFETY: The allocation is live and owned by `self` (type invariant).
        unsafe { &(*self.0.as_ptr()).data }
    }
}

impl<J: Job> DerefMut for JobBox<J> {
    fn deref_mut(&mut self) -> &mut J {
        // SAFETY: As for `deref`; `&mut self` gives exclusive access.
        unsafe { &mut (*self.0.as_ptr()).data }
    }
}

impl<J: Job> Drop for JobBox<J> {
    fn drop(&mut self) {
        // SAFETY: The allocation is ours (type invariant) and not in the engine.
        drop(unsafe { KBox::from_raw(self.0.as_ptr()) });
    }
}

/// A job in its parallel phase, owned by whoever holds this value.
///
/// Dropping it, or calling [`Pending::serial`], hands the job to serialization; a job can therefore
/// neither be lost nor serialized twice.
///
/// # Invariants
///
/// `node` is a job in its parallel phase, submitted as a [`JobBox<J>`], owned by this value.
pub struct Pending<J: Job> {
    node: NonNull<JobNode<J>>,
    _p: PhantomData<J>,
}

// SAFETY: Owns the job, whose payload is `Send`; `do_serial` may be called from any thread.
unsafe impl<J: Job> Send for Pending<J> {}

impl<J: Job> Pending<J> {
    /// Hands the job to serialization (`do_serial`).
    pub fn serial(self) {}
}

impl<J: Job> Deref for Pending<J> {
    type Target = J;

    fn deref(&self) -> &J {
        // SAFETY: We own the live job (type invariant).
        unsafe { &(*self.node.as_ptr()).data }
    }
}

impl<J: Job> DerefMut for Pending<J> {
    fn deref_mut(&mut self) -> &mut J {
        // SAFETY: As for `deref`, exclusively.
        unsafe { &mut (*self.node.as_ptr()).data }
    }
}

impl<J: Job> Drop for Pending<J> {
    fn drop(&mut self) {
        // SAFETY: The job is in its parallel phase and we own it (type invariant).
        unsafe { engine::do_serial(self.node.cast()) };
    }
}

/// The parallel callback of every Rust job of payload type `J`.
///
/// # Safety
///
/// `p` must be the header of a [`JobNode<J>`] in its parallel phase, owned by the caller.
unsafe extern "C" fn parallel_trampoline<J: Job>(p: *mut Header) {
    // INVARIANT: Per the safety requirements, ownership passes to the `Pending`.
    let job = Pending::<J> {
        // SAFETY: `p` is not NULL per the safety requirements.
        node: unsafe { NonNull::new_unchecked(p.cast()) },
        _p: PhantomData,
    };
    J::parallel(job);
}

/// The serial callback of every Rust job of payload type `J`.
///
/// # Safety
///
/// `p` must be the header of a [`JobNode<J>`] that the engine is handing back to its owner.
unsafe extern "C" fn serial_trampoline<J: Job>(p: *mut Header) {
    // SAFETY: `p` came from `JobBox::<J>::into_header` and ownership comes back with this call.
    let job = unsafe { JobBox::<J>::from_header(NonNull::new_unchecked(p)) };
    J::serial(job);
}

/// Submits `job` to `shell` (`do_parallel`): its [`Job::parallel`] runs once, with BHs disabled,
/// on a CPU of the usable parallel mask, and its [`Job::serial`] in submission order on the
/// returned callback CPU. On failure the job comes back with the error.
pub(crate) fn submit<J: Job>(
    shell: &engine::Shell,
    job: JobBox<J>,
    cb_cpu: i32,
) -> Result<u32, (Error, JobBox<J>)> {
    let header = job.into_header();
    // SAFETY: The header belongs to an idle `JobBox`, whose ownership we hold; the engine keeps it
    // until the serial callback returns it (`serial_trampoline`).
    match unsafe { engine::submit(shell, header, cb_cpu) } {
        Ok(cpu) => Ok(cpu),
        // SAFETY: A failed submission leaves the job idle and ours.
        Err(e) => Err((e, unsafe { JobBox::from_header(header) })),
    }
}
