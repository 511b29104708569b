// SPDX-License-Identifier: GPL-2.0

//! Jobs: the header the engine works on, the reference that owns a job in the engine, and the
//! list that queues jobs.
//!
//! Replaces `struct padata_priv` of kernel/padata.c. Every job, whether a C caller embeds a
//! `struct rpadata_priv` in its own structure or a Rust caller uses a `JobBox`, starts with the
//! same [`JobHeader`], so one engine serves both. The header has the links the engine queues the
//! job with, so submitting a job never allocates and there is no pool of work items to run out of
//! (C padata's fallback when its pool was empty ran `->parallel` inline with BHs enabled).
//!
//! A job header holds the owner it was submitted to (its shell) without interpreting it: queues
//! and lists move jobs, and only the shell code turns the owner back into a shell.
//!
//! This file, its child `reorder` (the reorder list, which links jobs through their headers) and
//! `instance/shell/boxed.rs` (jobs with a Rust payload) are the only places that turn raw job
//! pointers into references.

use core::{
    mem::offset_of,
    ptr::NonNull, //
};
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Full,
        Relaxed,
        Release, //
    }, //
};

mod reorder;

pub(crate) use reorder::ReorderList;

/// `state` of a job that is not in the engine: never submitted (the caller zeroes the header) or
/// back with its owner since its serial callback started.
pub(crate) const STATE_IDLE: u32 = 0;
/// `state` of a job between submission and `do_serial`.
pub(crate) const STATE_PARALLEL: u32 = 0x5250_0001;
/// `state` of a job claimed by `do_serial`, before it is parked in its shell's reorder list.
pub(crate) const STATE_SERIAL: u32 = 0x5250_0002;
/// `state` of a job parked in its shell's reorder list, until its serial callback starts.
pub(crate) const STATE_READY: u32 = 0x5250_0003;

/// A job callback as C sees it.
pub(crate) type JobFn = unsafe extern "C" fn(*mut JobHeader);

/// The engine's view of a job: `struct rpadata_priv` of `include/rpadata.h`, field for field.
///
/// The fields before `parallel` are private to the engine.
#[repr(C)]
pub(crate) struct JobHeader {
    /// Link in the shell's reorder list.
    next: Atomic<*mut JobHeader>,
    /// Link in a parallel or serial queue (a job is on at most one at a time).
    qnext: *mut JobHeader,
    /// What the job was submitted to, set by [`JobRef::set_route`]; not interpreted here.
    owner: *const (),
    seq: u32,
    cb_cpu: i32,
    state: Atomic<u32>,
    /// The callback CPU asked for, reduced below `nr_cpu_ids`: the job's stream
    /// ([`crate::stream`]).
    stream: u32,
    /// Called once with BHs disabled on a CPU of the parallel mask.
    pub(crate) parallel: Option<JobFn>,
    /// Called once with BHs disabled on the callback CPU, in submission order.
    pub(crate) serial: Option<JobFn>,
}

/// Byte offsets of the fields of [`JobHeader`], in declaration order, then its size; compared with
/// the C definition (`rpadata_priv_layout` in shim.c) when the module loads.
pub(crate) const LAYOUT: [usize; 10] = [
    offset_of!(JobHeader, next),
    offset_of!(JobHeader, qnext),
    offset_of!(JobHeader, owner),
    offset_of!(JobHeader, seq),
    offset_of!(JobHeader, cb_cpu),
    offset_of!(JobHeader, state),
    offset_of!(JobHeader, stream),
    offset_of!(JobHeader, parallel),
    offset_of!(JobHeader, serial),
    core::mem::size_of::<JobHeader>(),
];

/// Refuses to load when `struct rpadata_priv` in `include/rpadata.h` and [`JobHeader`] disagree.
pub(crate) fn check_c_layout() -> Result {
    // SAFETY: A constant array defined in shim.c, never written.
    check_layout(&unsafe { crate::ffi::rpadata_priv_layout })
}

/// `EINVAL`, with a message, unless `c` (offsets and size as in [`LAYOUT`]) is [`LAYOUT`].
pub(crate) fn check_layout(c: &[usize; 10]) -> Result {
    if *c != LAYOUT {
        pr_err!(
            "struct rpadata_priv layout mismatch: C {:?}, Rust {:?}\n",
            c,
            LAYOUT
        );
        return Err(EINVAL);
    }
    Ok(())
}

impl JobHeader {
    /// A header for a job that has not been submitted, with the given callbacks.
    pub(crate) fn new(parallel: JobFn, serial: JobFn) -> Self {
        Self::idle(Some(parallel), Some(serial))
    }

    /// An idle header with the given callbacks (none for a reorder list's stub).
    fn idle(parallel: Option<JobFn>, serial: Option<JobFn>) -> Self {
        Self {
            next: Atomic::new(core::ptr::null_mut()),
            qnext: core::ptr::null_mut(),
            owner: core::ptr::null(),
            seq: 0,
            cb_cpu: 0,
            state: Atomic::new(STATE_IDLE),
            stream: 0,
            parallel,
            serial,
        }
    }
}

/// A job that is in the engine.
///
/// # Invariants
///
/// `self.0` points to a [`JobHeader`] whose owner handed it to the engine (`state` is not
/// [`STATE_IDLE`]) and keeps the memory valid until the engine calls its serial callback. Its
/// `parallel` and `serial` callbacks are non-NULL. At most one `JobRef` to a job exists at a time:
/// whoever holds it (a list, a work item, a callback in progress) owns the job for the engine.
/// Once routed ([`JobRef::set_route`]), its `owner` is valid until its serial callback.
pub(crate) struct JobRef(NonNull<JobHeader>);

// SAFETY: A job may be handed between CPUs; its owner promised it stays valid until its serial
// callback, wherever that runs.
unsafe impl Send for JobRef {}

impl JobRef {
    /// Takes a job from its owner for submission.
    ///
    /// Fails with `EINVAL` when a callback is missing or the job is already in the engine; the job
    /// is then left as it was.
    ///
    /// # Safety
    ///
    /// `job` must be valid for reads and writes and stay so until its serial callback is called,
    /// and nothing but the engine may touch its private fields meanwhile.
    pub(crate) unsafe fn submit(job: NonNull<JobHeader>) -> Result<Self> {
        let p = job.as_ptr();
        // SAFETY: `p` is valid per the safety requirements; the callbacks are never written by the
        // engine.
        let (parallel, serial) = unsafe { ((*p).parallel, (*p).serial) };
        if parallel.is_none() || serial.is_none() {
            return Err(EINVAL);
        }
        // SAFETY: `p` is valid; `state` is only accessed atomically.
        let state = unsafe { &(*p).state };
        if state.cmpxchg(STATE_IDLE, STATE_PARALLEL, Full).is_err() {
            // Already in flight. Not `EBUSY`, which padata callers read as "retry later".
            return Err(EINVAL);
        }
        // INVARIANT: The job is valid until its serial callback (safety requirements), its state
        // is no longer idle and its callbacks are set; we claimed it with the exchange above.
        Ok(Self(job))
    }

    /// Claims a job whose owner called `do_serial` on it.
    ///
    /// Returns `None`, touching nothing else, if the job is not in its parallel phase: never
    /// submitted, already handed to `do_serial`, or already serialized.
    ///
    /// # Safety
    ///
    /// `job` must be valid for reads. If it is in its parallel phase, the caller must be its
    /// owner for the engine (the parallel callback, or whoever it passed the job to).
    pub(crate) unsafe fn from_do_serial(job: NonNull<JobHeader>) -> Option<Self> {
        // SAFETY: `job` is valid for reads; `state` is only accessed atomically.
        let state = unsafe { &(*job.as_ptr()).state };
        state.cmpxchg(STATE_PARALLEL, STATE_SERIAL, Full).ok()?;
        // INVARIANT: The job was in the engine (parallel state) and the exchange made us its only
        // claimant.
        Some(Self(job))
    }

    /// Gives a job whose submission failed back to its owner, idle and as it was.
    pub(crate) fn abort(self) {
        let p = self.ptr();
        core::mem::forget(self);
        // SAFETY: We own the job; after this store it belongs to its owner again.
        unsafe { (*p).state.store(STATE_IDLE, Release) };
    }

    fn ptr(&self) -> *mut JobHeader {
        self.0.as_ptr()
    }

    /// Fills in the engine's fields at submission. `owner` is what the job was submitted to, for
    /// whoever takes the job back out of a queue or list.
    ///
    /// # Safety
    ///
    /// `owner` must stay valid while the job is in the engine and point to the type that the
    /// readers of [`JobRef::owner`] cast it to (a shell: `ShellCore::submit` is the one caller).
    pub(crate) unsafe fn set_route(
        &mut self,
        owner: *const (),
        seq: u32,
        cb_cpu: u32,
        stream: u32,
    ) {
        let p = self.ptr();
        // SAFETY: We own the job (type invariant) and nobody else reads these fields before the
        // job is published under a lock or queued.
        unsafe {
            (*p).owner = owner;
            (*p).seq = seq;
            (*p).cb_cpu = cb_cpu as i32;
            (*p).stream = stream;
        }
    }

    /// The owner stored by [`JobRef::set_route`].
    pub(crate) fn owner(&self) -> *const () {
        // SAFETY: We own the job (type invariant); `owner` was written before it was published.
        unsafe { (*self.ptr()).owner }
    }

    /// The callback CPU of the job.
    pub(crate) fn cb_cpu(&self) -> u32 {
        // SAFETY: As for `owner`; written from a `u32` by `set_route`.
        unsafe { (*self.ptr()).cb_cpu as u32 }
    }

    /// The job's stream, as stored by [`JobRef::set_route`].
    pub(crate) fn stream(&self) -> u32 {
        // SAFETY: As for `owner`.
        unsafe { (*self.ptr()).stream }
    }

    /// Clears the job's reorder list link, before it is linked.
    fn clear_link(&mut self) {
        // SAFETY: We own the job (type invariant); `next` is only accessed atomically.
        unsafe { (*self.ptr()).next.store(core::ptr::null_mut(), Relaxed) };
    }

    /// Runs the job's parallel callback. Ownership passes to the callback, which must hand the job
    /// to `do_serial` (now or later).
    pub(crate) fn run_parallel(self) {
        let p = self.ptr();
        // SAFETY: Callbacks are non-NULL (type invariant) and never written by the engine.
        let f = unsafe { (*p).parallel };
        core::mem::forget(self);
        if let Some(f) = f {
            // SAFETY: The callback gets the job it was submitted with; ownership passes to it.
            unsafe { f(p) };
        }
    }

    /// Returns the job to its owner through its serial callback.
    ///
    /// The job's memory may be freed or reused by the callback, so this consumes the reference.
    pub(crate) fn run_serial(self) {
        let p = self.ptr();
        // SAFETY: As in `run_parallel`.
        let f = unsafe { (*p).serial };
        // SAFETY: We own the job; after this store it is idle again and may be resubmitted by its
        // owner from the callback.
        unsafe { (*p).state.store(STATE_IDLE, Relaxed) };
        core::mem::forget(self);
        if let Some(f) = f {
            // SAFETY: The callback gets its job back; the engine does not touch it afterwards.
            unsafe { f(p) };
        }
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        // A job is always passed on (queued, listed, handed to a callback); dropping its reference
        // would stall its shell forever.
        kernel::warn_on!(true);
    }
}

/// A FIFO of jobs linked through their headers' queue link: no allocation on any path.
///
/// # Invariants
///
/// `head` and `tail` are both NULL, or `head` is the first of a chain of jobs linked through
/// `next` that ends at `tail` (whose `next` is NULL). The list owns each job on it (it holds the
/// job's [`JobRef`]).
pub(crate) struct JobList {
    head: *mut JobHeader,
    tail: *mut JobHeader,
}

// SAFETY: The list owns its jobs, which are `Send`.
unsafe impl Send for JobList {}

impl JobList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self {
            head: core::ptr::null_mut(),
            tail: core::ptr::null_mut(),
        }
    }

    /// Whether the list is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Appends a job; returns whether the list was empty before.
    pub(crate) fn push_back(&mut self, job: JobRef) -> bool {
        let p = job.ptr();
        core::mem::forget(job);
        // SAFETY: We own `p` now (we took its `JobRef`); link fields are only touched by the list
        // that owns the job.
        unsafe { (*p).qnext = core::ptr::null_mut() };
        let was_empty = self.tail.is_null();
        if was_empty {
            self.head = p;
        } else {
            // SAFETY: `tail` is a job owned by this list (type invariant).
            unsafe { (*self.tail).qnext = p };
        }
        // INVARIANT: `p` ends the chain and is owned by the list.
        self.tail = p;
        was_empty
    }

    /// Puts a job back at the front.
    pub(crate) fn push_front(&mut self, job: JobRef) {
        let p = job.ptr();
        core::mem::forget(job);
        // SAFETY: We own `p` now (we took its `JobRef`); link fields are only touched by the list
        // that owns the job.
        unsafe { (*p).qnext = self.head };
        if self.head.is_null() {
            self.tail = p;
        }
        // INVARIANT: `p` starts the chain and is owned by the list.
        self.head = p;
    }

    /// Removes and returns the first job.
    pub(crate) fn pop_front(&mut self) -> Option<JobRef> {
        let p = NonNull::new(self.head)?;
        // SAFETY: `p` is owned by this list (type invariant).
        let next = unsafe { (*p.as_ptr()).qnext };
        self.head = next;
        if next.is_null() {
            self.tail = core::ptr::null_mut();
        }
        // INVARIANT: The job left the list, which gives its ownership to the returned `JobRef`.
        Some(JobRef(p))
    }

    /// Takes every job, leaving the list empty.
    pub(crate) fn take_all(&mut self) -> Self {
        core::mem::replace(self, Self::new())
    }
}

impl Iterator for JobList {
    type Item = JobRef;

    fn next(&mut self) -> Option<JobRef> {
        self.pop_front()
    }
}

impl Drop for JobList {
    fn drop(&mut self) {
        // Lists are drained by the engine before they go; losing a job would stall its shell.
        kernel::warn_on!(!self.is_empty());
    }
}
