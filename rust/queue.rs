// SPDX-License-Identifier: GPL-2.0

//! Job queues: per CPU, each run by one work item on its CPU.
//!
//! Replaces `struct padata_serial_queue`, `padata_serial_worker()` and `padata_parallel_worker()`
//! of kernel/padata.c. An instance has a parallel queue per CPU; a shell has a serial queue per
//! callback CPU, which jobs enter from the reorder list in submission order. A queue's work item is
//! queued only when the queue goes from empty to not empty, and runs every job queued by then: under
//! load, one wake-up serves a batch of jobs instead of one each (C padata queues a work item per
//! job on its parallel side). One work item per serial queue means the serial callbacks of a shell
//! that share a callback CPU run in order and never concurrently.

use crate::{
    ffi::{
        BhGuard,
        Workqueue, //
    },
    job::{
        JobList,
        JobRef, //
    },
    shell::ShellCore,
};
use kernel::{
    impl_has_work, new_spinlock, new_work,
    prelude::*,
    sync::{
        Arc,
        SpinLock, //
    },
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

/// The jobs waiting to run on one CPU.
#[pin_data]
pub(crate) struct JobQueue {
    cpu: u32,
    kind: QueueKind,
    #[pin]
    jobs: SpinLock<JobList>,
    #[pin]
    work: Work<JobQueue>,
}

impl_has_work! {
    impl HasWork<Self> for JobQueue { self.work }
}

impl JobQueue {
    /// A queue whose work runs on `cpu`.
    pub(crate) fn new(cpu: u32, kind: QueueKind) -> impl PinInit<Self> {
        pin_init!(Self {
            cpu,
            kind,
            jobs <- new_spinlock!(JobList::new(), "rpadata_job_queue"),
            work <- new_work!("rpadata_queue_work"),
        })
    }

    /// One queue of `kind` per possible CPU id, indexed by CPU id.
    pub(crate) fn per_cpu(kind: QueueKind) -> Result<KVec<Arc<Self>>> {
        let n = kernel::cpu::nr_cpu_ids();
        let mut queues = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for cpu in 0..n {
            queues.push(Arc::pin_init(Self::new(cpu, kind), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        Ok(queues)
    }

    /// Appends a job and, if the queue was empty, schedules its work on its CPU.
    ///
    /// Called with BHs disabled, by a user counted in the job's instance (so `wq` is alive for the
    /// whole call).
    pub(crate) fn push(self: &Arc<Self>, job: JobRef, wq: &Workqueue) {
        let was_empty = self.jobs.lock().push_back(job);
        if was_empty {
            // Already pending is fine: the pending run takes this job too.
            let _ = wq.enqueue_on(self.cpu, self.clone());
        }
    }
}

/// Serial callbacks run in runs of at most this many with softirqs disabled once (C padata keeps
/// them disabled for a whole batch); softirqs pending meanwhile are served in between.
const SERIAL_RUN: u32 = 64;

impl WorkItem for JobQueue {
    type Pointer = Arc<JobQueue>;

    fn run(this: Arc<JobQueue>) {
        let mut batch = {
            let _bh = BhGuard::new();
            this.jobs.lock().take_all()
        };
        match this.kind {
            QueueKind::Parallel => {
                for job in batch {
                    let _bh = BhGuard::new();
                    job.run_parallel();
                }
            }
            QueueKind::Serial => {
                // A serial queue only holds jobs of the shell that owns it.
                while let Some(first) = batch.pop_front() {
                    let shell = first.shell();
                    let mut n = 1;
                    {
                        let _bh = BhGuard::new();
                        first.run_serial();
                        while n < SERIAL_RUN {
                            let Some(job) = batch.pop_front() else {
                                break;
                            };
                            job.run_serial();
                            n += 1;
                        }
                    }
                    // SAFETY: Each of these `n` jobs held its shell in flight (set at submission)
                    // until now: the shell is alive, and this call gives those holds up.
                    unsafe { ShellCore::serialized(shell, n) };
                }
            }
        }
    }
}
