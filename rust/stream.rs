// SPDX-License-Identifier: GPL-2.0

//! Streams: the jobs of a shell that asked for one callback CPU, kept in order when the CPU they
//! are given changes.
//!
//! A job's serial callback runs on the callback CPU `do_parallel` gave it, after the earlier jobs
//! of its shell on that CPU (their serial queue). When a mask change or hotplug gives a stream's
//! jobs another CPU, the jobs still queued on the old one would race the new ones: C padata lets
//! them, and a consumer such as IPsec sees its packets reordered. So a job for another CPU than
//! its stream's last one, while the stream still has jobs there, is held; so is every job passed
//! on after it, whatever its stream, which keeps each CPU's order too. Held jobs go on in order as
//! the streams they wait for drain. Moves are rare: the hold lasts until the old CPU has run the
//! callbacks it had, and costs nothing otherwise.
//!
//! Jobs pass through [`Streams::pass`] in submission order (the reorder list's releaser does that,
//! one at a time per shell); [`Streams::done`] is called after each of their serial callbacks.

use crate::{
    job::{
        JobList,
        JobRef, //
    },
    queue::{
        JobQueue,
        Runner, //
    },
    sys::BhGuard, //
};
use core::num::NonZeroU32;
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        Arc,
        SpinLock, //
    }, //
};

/// The jobs of one shell that asked for one callback CPU.
struct Stream {
    /// The CPU the stream's last job went to.
    cpu: Atomic<u32>,
    /// Jobs that went to `cpu` and whose serial callback has not returned yet.
    queued: Atomic<u32>,
}

/// A shell's streams, one per possible callback CPU asked for, and the jobs held back.
#[pin_data]
pub(crate) struct Streams {
    streams: KVec<Stream>,
    /// Non-zero while `held` may hold jobs: read without the lock.
    holding: Atomic<u32>,
    /// Jobs waiting, in submission order, for the first one's stream to drain on another CPU.
    #[pin]
    held: SpinLock<JobList>,
}

impl Streams {
    /// One stream per possible CPU id.
    pub(crate) fn new() -> Result<impl PinInit<Self>> {
        let n = kernel::cpu::nr_cpu_ids() as usize;
        let mut streams = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            streams.push(
                Stream {
                    cpu: Atomic::new(0),
                    queued: Atomic::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(pin_init!(Self {
            streams,
            holding: Atomic::new(0),
            held <- new_spinlock!(JobList::new(), "rpadata_stream_held"),
        }))
    }

    /// Whether jobs are held, waiting for a stream to drain on another CPU.
    pub(crate) fn holding(&self) -> bool {
        self.holding.load(Relaxed) != 0
    }

    /// The stream of jobs that ask for callback CPU `cb_cpu` (any value names one).
    pub(crate) fn key(&self, cb_cpu: i32) -> u32 {
        // The length is `nr_cpu_ids`, far below `u32::MAX`. A `NonZeroU32` divisor: no panic path
        // (which objtool flags where it ends a function).
        let n = NonZeroU32::new(self.streams.len() as u32).unwrap_or(NonZeroU32::MIN);
        // CAST: Any `u32` will do, as long as each value of `cb_cpu` gives the same one.
        (cb_cpu as u32) % n
    }

    fn stream(&self, job: &JobRef) -> Option<&Stream> {
        self.streams.get(job.stream() as usize)
    }

    /// Whether `job` may go to its callback CPU now: its stream has no job on another CPU.
    fn may_go(&self, job: &JobRef) -> bool {
        // Acquire: pairs with `done`'s fully ordered decrement, so that the old CPU's callbacks
        // come before what the new CPU does with the job.
        self.stream(job)
            .is_none_or(|s| s.cpu.load(Relaxed) == job.cb_cpu() || s.queued.load(Acquire) == 0)
    }

    /// Passes `job`, the shell's next job in submission order, to the serial queue of its
    /// callback CPU in `queues`, or holds it (see the module documentation).
    ///
    /// Called by one caller at a time (the shell's releaser).
    pub(crate) fn pass<R: Runner>(&self, job: JobRef, queues: &[Arc<JobQueue<R>>], bh: &BhGuard) {
        // Acquire: a `release_held` that cleared `holding` is seen with its updates.
        if self.holding.load(Acquire) == 0 && self.may_go(&job) {
            self.go(job, queues, bh);
            return;
        }
        self.held.lock().push_back(job);
        // Fully ordered: the store comes before the loads of `release_held`. Pairs with the full
        // barrier of `done`'s decrement: either `done` sees `holding` set, or we see its stream
        // drained.
        self.holding.xchg(1, Full);
        self.release_held(queues, bh);
    }

    /// Accounts for the return of the serial callback of a job of stream `key`; the last one of
    /// a stream on its CPU lets held jobs that wait for it go.
    pub(crate) fn done<R: Runner>(&self, key: u32, queues: &[Arc<JobQueue<R>>], bh: &BhGuard) {
        let Some(s) = self.streams.get(key as usize) else {
            return;
        };
        if s.queued.fetch_sub(1, Full) == 1 && self.holding.load(Relaxed) != 0 {
            self.release_held(queues, bh);
        }
    }

    /// Queues `job` on its callback CPU, as its stream's last job there.
    fn go<R: Runner>(&self, job: JobRef, queues: &[Arc<JobQueue<R>>], bh: &BhGuard) {
        let cpu = job.cb_cpu();
        if let Some(s) = self.stream(&job) {
            s.cpu.store(cpu, Relaxed);
            // Counted before it is queued: its serial callback may return at once.
            s.queued.fetch_add(1, Relaxed);
        }
        // A queue for each CPU below `nr_cpu_ids`, where `cb_cpu` was chosen; the fallback only
        // keeps a job from being lost if that ever changed.
        if let Some(q) = queues.get(cpu as usize).or_else(|| queues.first()) {
            q.push(job, bh);
        }
    }

    /// Passes held jobs on, in order, while the first one may go.
    fn release_held<R: Runner>(&self, queues: &[Arc<JobQueue<R>>], bh: &BhGuard) {
        let mut held = self.held.lock();
        while let Some(job) = held.pop_front() {
            if !self.may_go(&job) {
                held.push_front(job);
                return;
            }
            self.go(job, queues, bh);
        }
        self.holding.store(0, Release);
    }
}
