// SPDX-License-Identifier: GPL-2.0

//! Serial queues: one per shell and CPU, run by one work item on the instance's serial workqueue.
//!
//! Replaces `struct padata_serial_queue` and `padata_serial_worker()` of kernel/padata.c. Jobs
//! arrive here from the reorder list in submission order; one work item per queue means the serial
//! callbacks of a shell that share a callback CPU run in that order and never concurrently.

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

/// The serial callbacks waiting to run on one CPU for one shell.
#[pin_data]
pub(crate) struct SerialQueue {
    cpu: u32,
    #[pin]
    jobs: SpinLock<JobList>,
    #[pin]
    work: Work<SerialQueue>,
}

impl_has_work! {
    impl HasWork<Self> for SerialQueue { self.work }
}

impl SerialQueue {
    /// A queue whose work runs on `cpu`.
    pub(crate) fn new(cpu: u32) -> impl PinInit<Self> {
        pin_init!(Self {
            cpu,
            jobs <- new_spinlock!(JobList::new(), "rpadata_serial_queue"),
            work <- new_work!("rpadata_serial_work"),
        })
    }

    /// Appends a job and makes sure the queue's work is scheduled on its CPU.
    ///
    /// Called with BHs disabled, by a `do_serial` that holds the job's shell and instance in flight
    /// (so `wq` is alive for the whole call).
    pub(crate) fn push(self: &Arc<Self>, job: JobRef, wq: &Workqueue) {
        self.jobs.lock().push_back(job);
        // Already pending is fine: the pending run takes this job too.
        let _ = wq.enqueue_on(self.cpu, self.clone());
    }
}

impl WorkItem for SerialQueue {
    type Pointer = Arc<SerialQueue>;

    fn run(this: Arc<SerialQueue>) {
        let batch = {
            let _bh = BhGuard::new();
            this.jobs.lock().take_all()
        };
        for job in batch {
            let shell = job.shell();
            {
                let _bh = BhGuard::new();
                job.run_serial();
            }
            // SAFETY: The job held its shell in flight (set at submission) until now: the shell is
            // alive, and this call gives that hold up.
            unsafe { ShellCore::serialized_one(shell) };
        }
    }
}
