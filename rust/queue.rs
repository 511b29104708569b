// SPDX-License-Identifier: GPL-2.0

//! Job queues: per CPU, each run by one work item on its CPU.
//!
//! Replaces `struct padata_serial_queue`, `padata_serial_worker()` and `padata_parallel_worker()`
//! of kernel/padata.c. An instance has a parallel queue per CPU; a shell has a serial queue per
//! callback CPU, which jobs enter from the reorder list in submission order.
//!
//! An instance whose serial callbacks run from softirq context has a BH serial workqueue; a serial
//! queue whose CPU is offline then queues its work on the CPU that kicks it (BH work can only be
//! raised on an online CPU).
//!
//! A queue's work item is queued when the first job arrives and stays scheduled until it finds the
//! queue empty: jobs pushed meanwhile cost a list append, no `queue_work_on()` and no wake-up, and
//! one run serves a batch of jobs (C padata queues a work item per job on its parallel side). One
//! work item per serial queue means the serial callbacks of a shell that share a callback CPU run in
//! order and never concurrently.
//!
//! A parallel queue's work that runs out of jobs can poll for more for a short while (`poll_us`,
//! off by default) before it goes idle, as long as nothing else wants its CPU: while a submitter
//! streams jobs to other CPUs, this spares the submitter a wake-up of the worker (see
//! Documentation/rpadata.rst, "Workers and polling").

use crate::{
    ffi::{
        self,
        BhGuard,
        Workqueue, //
    },
    job::{
        JobList,
        JobRef, //
    },
    shell::ShellCore,
};
use core::ptr::NonNull;
use kernel::{
    cpu::CpuId,
    impl_has_work, new_spinlock, new_work,
    prelude::*,
    processor::cpu_relax,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, SpinLock,
    },
    time::{Delta, Instant, Monotonic},
    workqueue::{
        Work,
        WorkItem, //
    },
};

/// What a queue's work does with its jobs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueKind {
    /// Runs parallel callbacks.
    Parallel,
    /// Runs serial callbacks and accounts for them.
    Serial,
}

/// The part of a queue its lock protects.
struct Pending {
    jobs: JobList,
    /// The queue's work is queued or running and will look at `jobs` again before it goes idle.
    scheduled: bool,
}

/// The jobs waiting to run on one CPU.
///
/// # Invariants
///
/// `wq` points to the workqueue this queue's work runs on. It is alive whenever a job is pushed
/// (the pusher is counted in the shell whose instance owns it, or is a `do_serial` call with
/// softirqs disabled, which the shell's teardown waits for) and whenever the work is queued or
/// running: the instance destroys its workqueues only after draining its shells, and
/// `destroy_workqueue()` waits for work in progress, including work that queues itself again.
#[pin_data]
pub(crate) struct JobQueue {
    cpu: u32,
    kind: QueueKind,
    wq: NonNull<Workqueue>,
    #[pin]
    pending: SpinLock<Pending>,
    /// How long the work polls for jobs before it goes idle (`poll_us` when the queue was made,
    /// parallel queues only); 0: not at all.
    poll_us: u32,
    /// Non-zero once a job was pushed since the jobs were last taken: lets a polling worker watch
    /// the queue without taking its lock. Maintained only when `poll_us` is not 0: it is an
    /// atomic store per push and take.
    hint: Atomic<u32>,
    #[pin]
    work: Work<JobQueue>,
}

// SAFETY: `wq` is only used to queue work, which any thread may do; the other fields are `Send`.
unsafe impl Send for JobQueue {}

// SAFETY: As for `Send`; shared access goes through the lock and atomics.
unsafe impl Sync for JobQueue {}

impl_has_work! {
    impl HasWork<Self> for JobQueue { self.work }
}

/// How long a parallel queue's work that ran out of jobs polls for more: the `poll_us` module
/// parameter, set once at load time, before any queue is made.
static POLL_US: Atomic<u32> = Atomic::new(0);

/// Sets how long idle parallel workers poll for jobs (module load).
pub(crate) fn set_poll_us(us: u32) {
    POLL_US.store(us, Relaxed);
}

impl JobQueue {
    /// A queue whose work runs on `cpu`, queued on `wq`.
    ///
    /// # Safety
    ///
    /// `wq` must stay alive as the type invariant says.
    unsafe fn new(cpu: u32, kind: QueueKind, wq: NonNull<Workqueue>) -> impl PinInit<Self> {
        // SAFETY: The caller keeps `wq` alive.
        let bh = unsafe { wq.as_ref() }.is_bh();
        // A lockdep class of their own for work run from softirq context: lockdep tracks a work
        // item as a lock held while it runs, and BH work may run on top of a worker's (when the
        // worker enables softirqs), which with one class would look like a softirq-unsafe lock
        // taken in a softirq.
        let work = if bh {
            new_work!("rpadata_bh_queue_work")
        } else {
            new_work!("rpadata_queue_work")
        };
        let poll_us = match kind {
            QueueKind::Parallel => POLL_US.load(Relaxed),
            QueueKind::Serial => 0,
        };
        // INVARIANT: The caller keeps `wq` alive as required.
        pin_init!(Self {
            cpu,
            kind,
            wq,
            poll_us,
            pending <- new_spinlock!(
                Pending {
                    jobs: JobList::new(),
                    scheduled: false,
                },
                "rpadata_job_queue"
            ),
            hint: Atomic::new(0),
            work <- work,
        })
    }

    /// One queue of `kind` per possible CPU id, indexed by CPU id, whose work runs on `wq`.
    ///
    /// # Safety
    ///
    /// `wq` must outlive the queues' use as the type invariant says: it is destroyed only after
    /// every job pushed on them has been run, and it drains them first.
    pub(crate) unsafe fn per_cpu(kind: QueueKind, wq: &Workqueue) -> Result<KVec<Arc<Self>>> {
        let n = kernel::cpu::nr_cpu_ids();
        let mut queues = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            // SAFETY: Our caller keeps `wq` alive as required.
            let q = Arc::pin_init(
                unsafe { Self::new(cpu, kind, NonNull::from(wq)) },
                GFP_KERNEL,
            )?;
            queues.push(q, GFP_KERNEL)?;
        }
        Ok(queues)
    }

    /// Appends a job and, unless the queue's work is already scheduled, queues it on its CPU.
    ///
    /// Called with BHs disabled, by a user counted in the job's shell or by `do_serial`.
    #[inline]
    pub(crate) fn push(self: &Arc<Self>, job: JobRef) {
        let kick = {
            let mut p = self.pending.lock();
            p.jobs.push_back(job);
            if self.poll_us != 0 {
                self.hint.store(1, Relaxed);
            }
            !core::mem::replace(&mut p.scheduled, true)
        };
        if kick {
            Self::enqueue(self.clone());
        }
    }

    /// Queues the work on its CPU: for a push that found it idle, or from the work itself.
    ///
    /// Called by a pusher, with softirqs disabled, or by the queue's own work, which on a BH
    /// workqueue runs in softirq context. So on a BH workqueue the caller cannot be preempted, and
    /// a CPU it sees online stays online until the work is queued: taking a CPU down stops every
    /// CPU first.
    fn enqueue(this: Arc<Self>) {
        // SAFETY: Called by a pusher or by the queue's running work, when `wq` is alive (type
        // invariant).
        let wq = unsafe { this.wq.as_ref() };
        let mut cpu = this.cpu;
        // Work on a BH workqueue is raised on its CPU with an `irq_work`, which cannot reach an
        // offline CPU. The queue's jobs then run on this CPU: still one work item per queue, so
        // still in order (work already queued on a CPU that went offline is run elsewhere by the
        // workqueue code).
        if wq.is_bh() && CpuId::from_u32(cpu).is_none_or(|id| !ffi::cpu_online_mask().test(id)) {
            cpu = CpuId::current().as_u32();
        }
        // Never already pending: `scheduled` was clear, or the work is running (which cleared its
        // pending bit).
        let _ = wq.enqueue_on(cpu, this);
    }

    /// Takes every job pushed so far.
    fn take(&self) -> JobList {
        let _bh = BhGuard::new();
        let mut p = self.pending.lock();
        if self.poll_us != 0 {
            self.hint.store(0, Relaxed);
        }
        p.jobs.take_all()
    }

    /// Polls for a new job for up to `poll_us`, while nothing else wants this CPU. Returns whether
    /// one arrived.
    fn poll(&self) -> bool {
        if self.poll_us == 0 {
            return false;
        }
        let limit = Delta::from_micros(i64::from(self.poll_us));
        let start = Instant::<Monotonic>::now();
        while ffi::cpu_uncontended() && start.elapsed() < limit {
            if self.hint.load(Relaxed) != 0 {
                return true;
            }
            cpu_relax();
        }
        self.hint.load(Relaxed) != 0
    }

    /// Goes idle if the queue is empty; otherwise queues the work again.
    fn finish(this: Arc<Self>) {
        let more = {
            let _bh = BhGuard::new();
            let mut p = this.pending.lock();
            p.scheduled = !p.jobs.is_empty();
            p.scheduled
        };
        if more {
            Self::enqueue(this);
        }
    }

    /// Runs the parallel callbacks of `batch`, with BHs disabled; returns how many.
    fn run_parallel(mut batch: JobList) -> u32 {
        let mut n = 0;
        while !batch.is_empty() {
            let _bh = BhGuard::new();
            for job in batch.by_ref().take(PARALLEL_BH_RUN) {
                job.run_parallel();
                n += 1;
            }
        }
        n
    }

    /// Runs the serial callbacks of `batch`, in order, and accounts for them.
    fn run_serial(mut batch: JobList) {
        // A serial queue only holds jobs of the shell that owns it.
        let mut streams = [0u32; SERIAL_RUN];
        while let Some(first) = batch.pop_front() {
            let shell = first.shell();
            let mut n = 0;
            let mut next = Some(first);
            {
                let _bh = BhGuard::new();
                for slot in streams.iter_mut() {
                    let Some(job) = next.take() else {
                        break;
                    };
                    // Read first: the job belongs to its owner again once its callback starts.
                    *slot = job.stream();
                    job.run_serial();
                    n += 1;
                    next = batch.pop_front();
                }
            }
            if let Some(job) = next {
                batch.push_front(job);
            }
            // The streams learn that these jobs are done after softirqs were enabled again: the
            // softirq work their callbacks raised here (a packet handed to this CPU's network
            // stack) usually runs first, before the held jobs they let go to another CPU. Only
            // usually: from a BH workqueue, or when softirqs go to ksoftirqd, it runs later.
            {
                let _bh = BhGuard::new();
                for &stream in streams.iter().take(n) {
                    // SAFETY: The jobs held `shell` in flight and still do: their holds are
                    // given up by `ShellCore::serialized`, below.
                    unsafe { ShellCore::stream_done(shell, stream) };
                }
            }
            // SAFETY: Each of these `n` jobs held its shell in flight (set at submission) until
            // now: the shell is alive, and this call gives those holds up.
            unsafe { ShellCore::serialized(shell, n as u32) };
        }
    }
}

/// A parallel queue's work runs at most about this many jobs before it queues itself again behind
/// the other work queued on its CPU.
const PARALLEL_RUN: u32 = 256;

/// Parallel callbacks run in runs of at most this many with softirqs disabled once, as serial
/// callbacks do (below): softirqs pending meanwhile are served in between.
const PARALLEL_BH_RUN: usize = 16;

/// Serial callbacks run in runs of at most this many with softirqs disabled once (C padata keeps
/// them disabled for a whole batch); softirqs pending meanwhile are served in between.
const SERIAL_RUN: usize = 64;

impl WorkItem for JobQueue {
    type Pointer = Arc<JobQueue>;

    fn run(this: Arc<JobQueue>) {
        match this.kind {
            QueueKind::Parallel => {
                let mut done = 0;
                loop {
                    let batch = this.take();
                    if batch.is_empty() {
                        if this.poll() {
                            continue;
                        }
                        break;
                    }
                    done += Self::run_parallel(batch);
                    if done >= PARALLEL_RUN {
                        // Stay scheduled, and let the other work queued on this CPU (serial
                        // queues made ready by these jobs) have its turn first.
                        Self::enqueue(this);
                        return;
                    }
                }
            }
            QueueKind::Serial => {
                Self::run_serial(this.take());
            }
        }
        Self::finish(this);
    }
}
