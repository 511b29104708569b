// SPDX-License-Identifier: GPL-2.0

//! The reorder list: a shell's jobs in submission order, from submission until they are passed on
//! to serial queues.
//!
//! Replaces the per-CPU `struct padata_list` reorder lists, `padata_find_next()` and
//! `padata_reorder()` of kernel/padata.c. A child of `job` because it links jobs through their
//! headers' private fields.

use super::{
    JobHeader,
    JobRef,
    STATE_READY, //
};
use crate::sys::BhGuard;
use core::ptr::NonNull;
use kernel::{
    new_spinlock,
    prelude::*,
    processor::cpu_relax,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        SpinLock, //
    }, //
};

/// The release end of a [`ReorderList`], under its release lock.
struct ReleaseSide {
    /// The first job not yet released, or the list's stub.
    head: *mut JobHeader,
}

// SAFETY: Jobs are `Send`; `head` is only used under the lock that holds this value.
unsafe impl Send for ReleaseSide {}

/// The jobs of a shell in submission order, from submission until they are passed on to serial
/// queues: C padata's per-CPU reorder lists, made one list because submission order is all that
/// matters and a list needs no sequence-number arithmetic (which wrapped into deadlocks in C).
///
/// Jobs are linked at submission while someone else owns them for their parallel phase; the list
/// takes ownership of a job when `do_serial` parks it, and gives it up in order.
///
/// Submitters link without a lock, as in Vyukov's intrusive multi-producer queue: each swaps its
/// job into `tail`, then links the previous tail to it. `do_serial` parks its job and releases at
/// the head under the release lock, or leaves that to the CPU holding it. A stub header stands in
/// for an empty list, so that submitters never touch the head; the releaser puts the stub back
/// behind the last job before releasing it. A job's successor may be swapped in but not linked
/// yet for the few instructions between a submitter's two steps (BHs disabled); a releaser that
/// meets that state waits for the link rather than leave a ready job behind for a later job's
/// parallel phase.
///
/// # Invariants
///
/// `stub` is never ready and never released. The jobs on the list, and the stub, form a chain
/// linked through `next` from the release side's `head`; a node whose `next` is NULL is `tail`, or
/// has had its successor swapped into `tail` by a submitter that has not linked it yet. A job
/// whose state is [`STATE_READY`] is owned by the list; the others are owned by whoever runs their
/// parallel phase, who does not touch `next`. `released` is the number of jobs given up so far,
/// and never exceeds `submitted`; `released_seen` never exceeds `released`. `parked` is the number
/// of jobs made ready so far; a job made ready while a releaser held the lock is seen by that
/// releaser before it returns, or by a later one. So the release lock is only ever taken by
/// [`ReorderList::release`], with `try_lock()`: a holder that did not release would leave the jobs
/// of parkers that found the lock taken behind.
#[repr(C)]
#[pin_data]
pub(crate) struct ReorderList {
    /// Written by every submission, on its own cache line: the releaser works on the fields that
    /// follow, from another CPU.
    submit: SubmitSide,
    /// Jobs given up so far (written under the release lock).
    released: Atomic<u64>,
    /// Jobs parked so far (by `do_serial`, without the release lock): a parker that finds the
    /// lock taken leaves its job to the holder, who looks at this count again after unlocking.
    parked: Atomic<u64>,
    #[pin]
    release: SpinLock<ReleaseSide>,
    stub: JobHeader,
}

/// The submitters' end of a [`ReorderList`].
#[repr(align(64))]
struct SubmitSide {
    tail: Atomic<*mut JobHeader>,
    /// Jobs linked so far; also gives each job its sequence number (plus `seq_base` in tests).
    submitted: Atomic<u64>,
    /// Added to sequence numbers: tests start them near the wrap. Not in other builds, where
    /// reading it would cost every submission an atomic load (a call, without inlined helpers).
    #[cfg(rpadata_kunit)]
    seq_base: Atomic<u32>,
    /// A value `released` had at some point (so never above it), refreshed by submitters when the
    /// in-flight limit looks reached.
    released_seen: Atomic<u64>,
}

// SAFETY: Jobs are `Send`, and every access to the list goes through its lock and atomics.
unsafe impl Send for ReorderList {}

// SAFETY: As for `Send`.
unsafe impl Sync for ReorderList {}

impl ReorderList {
    /// An empty list.
    pub(crate) fn new() -> impl PinInit<Self> {
        // INVARIANT: Empty: head and tail are the stub, whose `next` is NULL and which is idle.
        pin_init!(&this in Self {
            submit: SubmitSide {
                // SAFETY: `this` is the list being initialised; only the address of its stub is
                // taken.
                tail: Atomic::new(unsafe { &raw mut (*this.as_ptr()).stub }),
                submitted: Atomic::new(0),
                #[cfg(rpadata_kunit)]
                seq_base: Atomic::new(0),
                released_seen: Atomic::new(0),
            },
            released: Atomic::new(0),
            parked: Atomic::new(0),
            release <- new_spinlock!(
                ReleaseSide {
                    // SAFETY: As above.
                    head: unsafe { &raw mut (*this.as_ptr()).stub },
                },
                "rpadata_reorder"
            ),
            stub: JobHeader::idle(None, None),
        })
    }

    fn stub(&self) -> *mut JobHeader {
        core::ptr::from_ref(&self.stub).cast_mut()
    }

    /// Appends `p` (a job or the stub) at the tail. Its `next` must be NULL, and nobody else
    /// touches it until it is linked.
    fn append(&self, p: *mut JobHeader) {
        let prev = self.submit.tail.xchg(p, Full);
        // SAFETY: `prev` was the tail, so it is on the list with a NULL `next`, and the releaser
        // does not give it up until this store links it (type invariant).
        unsafe { (*prev).next.store(p, Release) };
    }

    /// Links a newly submitted job at the end. `route` is given the job's sequence number first,
    /// before the job is on the list. Returns whether fewer than `limit` jobs were on the list
    /// before this one (jobs being released at that moment may still be counted). Its submitter
    /// keeps ownership. `_bh` keeps the submitter on its CPU between its two steps.
    pub(crate) fn link(
        &self,
        job: &mut JobRef,
        limit: u64,
        route: impl FnOnce(&mut JobRef, u32),
        _bh: &BhGuard,
    ) -> bool {
        let before = self.submit.submitted.fetch_add(1, Relaxed);
        // Truncated on purpose: sequence numbers wrap.
        let seq = (before as u32).wrapping_add(self.seq_base());
        route(job, seq);
        // Saturating: with concurrent submitters, a job that took its number after ours may be
        // linked, and even released, before ours. A count of released jobs seen earlier can only
        // be lower than the current one: if it already shows room, there is room. Only otherwise
        // read the releaser's count, whose cache line the releaser writes for every release.
        let mut released = self.submit.released_seen.load(Relaxed);
        if before.saturating_sub(released) >= limit {
            released = self.released.load(Relaxed);
            // A racing submitter may store an older count after ours: still a lower bound.
            self.submit.released_seen.store(released, Relaxed);
        }
        let room = before.saturating_sub(released) < limit;
        job.clear_link();
        // INVARIANT: The job joins the chain after the previous tail.
        self.append(job.ptr());
        room
    }

    /// Parks a job whose parallel phase is over (`do_serial`) and sees that every job that is now
    /// ready at the head of the list is passed to `pass`, in order, under the release lock. Called
    /// by the job's owner, with softirqs disabled (`_bh`): the release lock is never taken in
    /// softirq context on top of its holder, and the shell's teardown waits for such regions. The
    /// job must be linked on this list.
    ///
    /// Whoever holds the release lock releases for everyone: a parker that finds it taken leaves
    /// its job to the holder and returns at once, instead of spinning while the holder passes a
    /// batch on (as `padata_reorder()` did with `spin_trylock_bh()` in earlier versions of C
    /// padata, without its lost-job window).
    /// The parker counts its job in `parked` after marking it ready and before trying the lock;
    /// the holder compares the count after unlocking with the one it had before it took the lock,
    /// both sides with a full barrier between count and lock, so either the holder sees the new
    /// count and tries again, or the parker sees the lock free. `pass` may thus run for jobs
    /// parked by other CPUs; while they park faster than the holder passes jobs on, the holder
    /// goes on releasing (the in-flight limit bounds how far ahead they get), as the holder of C
    /// padata's `pd->lock` did.
    pub(crate) fn release(&self, job: JobRef, mut pass: impl FnMut(JobRef), _bh: &BhGuard) {
        let p = job.ptr();
        core::mem::forget(job);
        // INVARIANT: The list owns the job from this store on; it is linked (caller's promise,
        // upheld by `do_serial`, which parks a job on the shell it was submitted to). The release
        // pairs with the releaser's acquire, so the job's parallel phase happens before its
        // serial one.
        // SAFETY: The job is valid and ours until this store; we do not touch it afterwards (a
        // releaser on another CPU may pass it on and its serial callback free it at once).
        unsafe { (*p).state.store(STATE_READY, Release) };
        // Full: orders the store above before the count, and the count before the lock attempt.
        // A holder that saw this count, or a later one, before it released has seen this job.
        let mut seen = self.parked.fetch_add(1, Full).wrapping_add(1);
        while let Some(mut r) = self.release.try_lock() {
            let mut n = 0;
            while let Some(ready) = self.pop_ready(&mut r) {
                n += 1;
                pass(ready);
            }
            if n != 0 {
                self.released.add(n, Relaxed);
            }
            drop(r);
            // A fully ordered read after the unlock (see above). A count that moved since `seen`
            // means a job was parked meanwhile, maybe after our last look at the head: look again
            // (if it was passed on already, that round finds nothing to do).
            let now = self.parked.fetch_add(0, Full);
            if now == seen {
                break;
            }
            seen = now;
        }
    }

    /// Removes and returns the first job if it is parked; `None` if the list is empty or its first
    /// job is still in its parallel phase. The release lock is held (`r` is its data).
    fn pop_ready(&self, r: &mut ReleaseSide) -> Option<JobRef> {
        let stub = self.stub();
        let mut h = r.head;
        if h == stub {
            // SAFETY: The stub is valid; `next` is atomic.
            let next = unsafe { (*stub).next.load(Acquire) };
            // NULL: empty, or a job being linked after the stub, which is not ready yet (its
            // `do_serial` comes after its submission).
            let next = NonNull::new(next)?.as_ptr();
            // INVARIANT: The stub leaves the chain; `next` heads it.
            r.head = next;
            h = next;
        }
        // SAFETY: `h` is a job on the list (type invariant); `state` is atomic. Acquire: pairs
        // with the parker's release, so the job's parallel phase happened before what follows.
        if unsafe { (*h).state.load(Acquire) } != STATE_READY {
            return None;
        }
        // SAFETY: `h` is on the list and owned by it, being ready.
        let mut next = unsafe { (*h).next.load(Acquire) };
        if next.is_null() {
            if self.submit.tail.load(Acquire) == h {
                // `h` is the last job: put the stub behind it, so that it can go. The stub left
                // the chain earlier (above), and only the releaser touches it off the chain.
                // SAFETY: The stub is valid; its `next` is atomic.
                unsafe { (*stub).next.store(core::ptr::null_mut(), Relaxed) };
                self.append(stub);
            }
            // A successor is swapped in; wait for its link (a few instructions of a submitter
            // with BHs disabled, or the `append` above).
            loop {
                // SAFETY: As above.
                next = unsafe { (*h).next.load(Acquire) };
                if !next.is_null() {
                    break;
                }
                cpu_relax();
            }
        }
        // INVARIANT: `h` leaves the chain, which `next` heads now; it was linked, so no submitter
        // touches it any more.
        r.head = next;
        // SAFETY: `h` is not NULL (it came from `head` or a non-NULL `next`).
        let h = unsafe { NonNull::new_unchecked(h) };
        // INVARIANT: The job left the list, giving its ownership to the returned `JobRef`.
        Some(JobRef(h))
    }

    /// Jobs submitted so far.
    pub(crate) fn submitted(&self) -> u64 {
        self.submit.submitted.load(Relaxed)
    }

    /// The sequence number of the next job.
    pub(crate) fn next_seq(&self) -> u32 {
        // Truncated on purpose: sequence numbers wrap.
        (self.submitted() as u32).wrapping_add(self.seq_base())
    }

    /// What is added to the count of submitted jobs to give a sequence number.
    #[inline]
    fn seq_base(&self) -> u32 {
        #[cfg(rpadata_kunit)]
        return self.submit.seq_base.load(Relaxed);
        #[cfg(not(rpadata_kunit))]
        0
    }

    /// For tests: make the next job's sequence number `seq`.
    #[cfg(rpadata_kunit)]
    pub(crate) fn set_next_seq(&self, seq: u32) {
        let base = seq.wrapping_sub(self.submitted() as u32);
        self.submit.seq_base.store(base, Relaxed);
    }

    /// Jobs passed on to serial queues so far.
    pub(crate) fn released(&self) -> u64 {
        self.released.load(Relaxed)
    }

    /// Jobs parked and waiting for an earlier job (exact when nobody is parking or releasing).
    ///
    /// Reads the counts without the release lock: while jobs move the value is approximate (both
    /// counts only grow; the difference saturates at zero).
    pub(crate) fn pending(&self) -> u32 {
        // `released` first: a job counts in `parked` before it counts in `released`.
        let released = self.released.load(Relaxed);
        let parked = self.parked.load(Relaxed);
        // Bounded by the jobs in flight (at most the shell gate's `u32` count).
        parked.saturating_sub(released) as u32
    }
}
