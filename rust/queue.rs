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
    job::{
        JobList,
        JobRef, //
    },
    sys::{
        self,
        BhGuard,
        Workqueue, //
    }, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    cpu::CpuId,
    impl_has_work,
    new_spinlock,
    new_work,
    prelude::*,
    processor::cpu_relax,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        SpinLock, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
    workqueue::{
        Work,
        WorkItem, //
    }, //
};

/// What a queue's work does with the jobs it takes.
pub(crate) trait Runner: 'static {
    /// Jobs after which the work queues itself again behind the other work of its CPU, checked
    /// after each whole batch.
    const RUN_LIMIT: u32;

    /// Runs the jobs of `batch`, in order, and returns how many ran. Called from the queue's work
    /// (a worker, or softirq context on a BH workqueue).
    fn run(batch: JobList) -> u32;
}

/// The runner of parallel queues: runs parallel callbacks.
pub(crate) struct Parallel;

impl Runner for Parallel {
    /// A parallel queue's work runs about this many jobs before it lets the other work queued on
    /// its CPU (serial queues made ready by these jobs) have its turn.
    const RUN_LIMIT: u32 = 256;

    fn run(mut batch: JobList) -> u32 {
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
}

/// Parallel callbacks run in runs of at most this many with softirqs disabled once, as serial
/// callbacks do: softirqs pending meanwhile are served in between.
const PARALLEL_BH_RUN: usize = 16;

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
pub(crate) struct JobQueue<R: Runner> {
    cpu: u32,
    wq: NonNull<Workqueue>,
    #[pin]
    pending: SpinLock<Pending>,
    /// How long the work polls for jobs before it goes idle; 0: not at all.
    poll_us: u32,
    /// Non-zero once a job was pushed since the jobs were last taken: lets a polling worker watch
    /// the queue without taking its lock. Maintained only when `poll_us` is not 0: it is an
    /// atomic store per push and take.
    hint: Atomic<u32>,
    #[pin]
    work: Work<JobQueue<R>>,
    _runner: PhantomData<R>,
}

// SAFETY: `wq` is only used to queue work, which any thread may do; the other fields are `Send`.
unsafe impl<R: Runner> Send for JobQueue<R> {}

// SAFETY: As for `Send`; shared access goes through the lock and atomics.
unsafe impl<R: Runner> Sync for JobQueue<R> {}

impl_has_work! {
    impl{R: Runner} HasWork<Self> for JobQueue<R> { self.work }
}

impl<R: Runner> JobQueue<R> {
    /// A queue whose work runs on `cpu`, queued on `wq`.
    ///
    /// # Safety
    ///
    /// `wq` must stay alive as the type invariant says.
    unsafe fn new(cpu: u32, wq: NonNull<Workqueue>, poll_us: u32) -> impl PinInit<Self> {
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
        // INVARIANT: The caller keeps `wq` alive as required.
        pin_init!(Self {
            cpu,
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
            _runner: PhantomData,
        })
    }

    /// One queue per possible CPU id, indexed by CPU id, whose work runs on `wq` and polls for
    /// jobs for `poll_us` before it goes idle.
    ///
    /// # Safety
    ///
    /// `wq` must outlive the queues' use as the type invariant says: it is destroyed only after
    /// every job pushed on them has been run, and it drains them first.
    pub(crate) unsafe fn per_cpu(wq: &Workqueue, poll_us: u32) -> Result<KVec<Arc<Self>>> {
        let n = kernel::cpu::nr_cpu_ids();
        let mut queues = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            // SAFETY: Our caller keeps `wq` alive as required.
            let q = Arc::pin_init(
                unsafe { Self::new(cpu, NonNull::from(wq), poll_us) },
                GFP_KERNEL,
            )?;
            queues.push(q, GFP_KERNEL)?;
        }
        Ok(queues)
    }

    /// Appends a job and, unless the queue's work is already scheduled, queues it on its CPU.
    ///
    /// Called by a user counted in the job's shell or by `do_serial`; `_bh` keeps the queue's lock
    /// from being taken in softirq context on top of a holder.
    #[inline]
    pub(crate) fn push(self: &Arc<Self>, job: JobRef, _bh: &BhGuard) {
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
        if wq.is_bh() && CpuId::from_u32(cpu).is_none_or(|id| !sys::cpu_online_mask().test(id)) {
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
        while sys::cpu_uncontended() && start.elapsed() < limit {
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
}

impl<R: Runner> WorkItem for JobQueue<R> {
    type Pointer = Arc<JobQueue<R>>;

    fn run(this: Arc<JobQueue<R>>) {
        let mut done = 0;
        loop {
            let batch = this.take();
            if batch.is_empty() {
                if this.poll() {
                    continue;
                }
                break;
            }
            done += R::run(batch);
            if done >= R::RUN_LIMIT {
                // Let the other work queued on this CPU have its turn first; `finish` queues the
                // work again behind it if more jobs came.
                break;
            }
        }
        Self::finish(this);
    }
}
