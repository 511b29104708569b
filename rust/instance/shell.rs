// SPDX-License-Identifier: GPL-2.0

//! Shells: independent ordered streams of jobs within an instance.
//!
//! Replaces `struct padata_shell` and `struct parallel_data` of kernel/padata.c, and the
//! submission (`padata_do_parallel()`), parallel worker and reorder (`padata_do_serial()`,
//! `padata_reorder()`) paths. Each shell has its own sequence numbers, reorder list and serial
//! queues, so a job of one shell never waits for a job of another.
//!
//! Per job, the submission path takes only the lock of the parallel queue of the CPU that runs the
//! parallel callback (linking into the reorder list is lock-free); `do_serial` tries the list's
//! release lock (a CPU that holds it releases the jobs of the others) and takes the lock of a
//! serial queue per job it passes on. No lock shared by all shells or all CPUs is taken.

use super::InstanceCore;
use crate::{
    cpumask::Usable,
    inflight::InFlight,
    job::{
        JobList,
        JobRef,
        ReorderList, //
    },
    queue::{
        JobQueue,
        Runner, //
    },
    stream::Streams,
    sys::{
        self,
        BhGuard,
        SysfsDir,
        Workqueue, //
    }, //
};
use boxed::{
    Job,
    JobBox, //
};
use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    }, //
};

pub(crate) mod boxed;

/// What a shell reports about itself (sysfs, tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShellStats {
    /// Jobs submitted.
    pub submitted: u64,
    /// Jobs whose serial callback has returned.
    pub serialized: u64,
    /// Jobs submitted and not yet serialized.
    pub in_flight: u64,
    /// Jobs done in parallel, waiting for an earlier job.
    pub reorder_pending: u32,
    /// Jobs passed on by the reorder list: to their serial queue (their serial callback may still
    /// be waiting for its CPU), or held while their stream moves to another CPU
    /// ([`crate::stream`]).
    pub released: u64,
    /// Sequence number of the next job.
    pub next_seq: u32,
}

/// A shell, shared by its handle, its instance and its serial queues.
#[pin_data]
pub(crate) struct ShellCore {
    id: u32,
    pub(crate) instance: Arc<InstanceCore>,
    /// Every job of the shell from submission until it moves to a serial queue, in order.
    #[pin]
    reorder: ReorderList,
    /// Indexed by callback CPU id.
    queues: KVec<Arc<JobQueue<Serial>>>,
    /// Keeps the jobs that ask for one callback CPU in order when they get another.
    #[pin]
    streams: Streams,
    serialized: Atomic<u64>,
    #[pin]
    in_flight: InFlight,
    /// `shells/<id>` in the instance's sysfs directory, until the shell or instance goes.
    #[pin]
    dir: Mutex<Option<SysfsDir>>,
}

impl ShellCore {
    /// A new shell of `instance`.
    pub(crate) fn new(
        instance: Arc<InstanceCore>,
        id: u32,
        shells_dir: &SysfsDir,
        serial_wq: &Workqueue,
    ) -> Result<Arc<Self>> {
        let name = CString::try_from_fmt(fmt!("{id}"))?;
        let dir = shells_dir.new_child(&name)?;
        dir.add_files(true)?;
        // SAFETY: `serial_wq` is the instance's, which it destroys only after draining its shells,
        // this one included, and `destroy_workqueue()` waits for the queues' work.
        let queues = unsafe { JobQueue::per_cpu(serial_wq, 0) }?;
        Arc::pin_init(
            try_pin_init!(Self {
                id,
                instance,
                reorder <- ReorderList::new(),
                queues,
                streams <- Streams::new()?,
                serialized: Atomic::new(0),
                in_flight <- InFlight::new(),
                dir <- new_mutex!(Some(dir), "rpadata_shell_dir"),
            }),
            GFP_KERNEL,
        )
    }

    /// The shell's id within its instance.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// A consistent-enough snapshot of the counters (exact when the shell is idle).
    pub(crate) fn stats(&self) -> ShellStats {
        let (submitted, next_seq) = (self.reorder.submitted(), self.reorder.next_seq());
        let pending = self.reorder.pending();
        let serialized = self.serialized.load(Relaxed);
        let released = self.reorder.released();
        ShellStats {
            released,
            submitted,
            serialized,
            in_flight: submitted.saturating_sub(serialized),
            reorder_pending: pending,
            next_seq,
        }
    }

    /// Submits `job`, which asks for callback CPU `cb_cpu`: the engine of `do_parallel`.
    ///
    /// On success `chosen` has been called with the callback CPU before the job could run (a
    /// submitter's transform may be gone once the job completes). On failure the job is idle and
    /// its owner's again.
    #[inline]
    pub(crate) fn submit(&self, mut job: JobRef, cb_cpu: i32, chosen: impl FnOnce(u32)) -> Result {
        // The job's count in the shell's gate also keeps the instance and its workqueues alive:
        // freeing an instance closes and drains the gates of all its shells first.
        if self.in_flight.enter().is_none() {
            job.abort();
            return Err(EINVAL);
        }
        let inst = &*self.instance;

        let bh = BhGuard::new();
        let usable: &Usable = inst.usable.read_bh(&bh);
        let Some(cb) = usable.callback_cpu(cb_cpu).filter(|_| usable.is_valid()) else {
            drop(bh);
            self.in_flight.exit();
            job.abort();
            return Err(EINVAL);
        };
        let stream = self.streams.key(cb_cpu);
        chosen(cb);

        let mut seq = 0;
        let limit = u64::from(inst.max_in_flight());
        let room = self.reorder.link(
            &mut job,
            limit,
            |job, s| {
                seq = s;
                // SAFETY: The job holds the shell in flight (its gate count, taken above) until its
                // serial callback has returned (`serialized`), and the readers of the owner cast it
                // back to a `ShellCore`.
                unsafe { job.set_route(core::ptr::from_ref(self).cast(), s, cb, stream) };
            },
            &bh,
        );

        let here = bh.cpu();
        let cpu = if inst.parallel_local() {
            usable.parallel_turn(seq)
        } else {
            usable.parallel_cpu(seq, here)
        };
        match cpu {
            // This CPU is the only usable parallel CPU: a work item queued here could only run
            // once the submitter leaves the CPU, so run the callback now (no queue, no wake-up).
            // Local turns are queued instead: the submitter submits the rest of its burst first.
            Some(cpu) if cpu == here && !inst.parallel_local() => job.run_parallel(),
            Some(cpu) if room => match inst.parallel_queue(cpu) {
                Some(queue) => queue.push(job, &bh),
                None => job.run_parallel(),
            },
            // Limit reached (or, racing with a mask change, no parallel CPU left): run the
            // parallel callback here, with BHs disabled as everywhere else. The submitter is
            // throttled by its own job.
            _ => job.run_parallel(),
        }
        drop(bh);
        Ok(())
    }

    /// Called when the serial callbacks of `n` jobs of the shell have returned: counts them and
    /// gives up their hold.
    ///
    /// # Safety
    ///
    /// `shell` must be the shell of `n` jobs that were submitted to it and whose serial callbacks
    /// have just returned; their hold on the shell is given up by this call.
    unsafe fn serialized(shell: *const ShellCore, n: u32) {
        // SAFETY: The jobs held the shell in flight, so it is alive until our `exit_many` below.
        let shell = unsafe { &*shell };
        shell.serialized.add(u64::from(n), Relaxed);
        // Last access to the shell.
        shell.in_flight.exit_many(n);
    }

    /// Called when the serial callback of a job of the shell's stream `stream` has returned,
    /// before [`ShellCore::serialized`] accounts for it.
    ///
    /// # Safety
    ///
    /// `shell` must be the shell of that job, which still holds it in flight.
    unsafe fn stream_done(shell: *const ShellCore, stream: u32, bh: &BhGuard) {
        // SAFETY: The job holds the shell in flight, so it is alive.
        let shell = unsafe { &*shell };
        shell.streams.done(stream, &shell.queues, bh);
    }

    /// Jobs in flight, as the gate counts them.
    pub(crate) fn in_flight_users(&self) -> u32 {
        self.in_flight.users()
    }

    /// Removes the shell's sysfs directory (waiting for file accesses in progress).
    pub(crate) fn remove_dir(&self) {
        let dir = self.dir.lock().take();
        drop(dir);
    }

    /// Whether the shell still has its sysfs directory.
    pub(crate) fn has_dir(&self) -> bool {
        self.dir.lock().is_some()
    }

    /// Closes the shell and sleeps until every job submitted to it has been serialized, and every
    /// `do_serial` call that passed one of its jobs on has returned: after this, nothing of the
    /// engine touches the shell or its instance's workqueues on its behalf.
    pub(crate) fn close_and_wait(&self) {
        self.drain();
        sys::synchronize_rcu();
    }

    /// Closes the shell and sleeps until every job submitted to it has been serialized. A
    /// `do_serial` call may still be on its way out (unlocking the release lock, pushing the last
    /// jobs) after the job it passed on was serialized: it runs with softirqs disabled, an RCU
    /// read-side critical section, so a grace period after this covers it.
    pub(crate) fn drain(&self) {
        self.in_flight.close_and_wait();
    }

    /// For tests: make the next job's sequence number `seq`.
    #[cfg(rpadata_kunit)]
    pub(crate) fn set_next_seq(&self, seq: u32) {
        self.reorder.set_next_seq(seq);
    }
}

/// `do_serial`: a job's parallel phase is over; serialize it after every earlier job of its shell.
#[inline]
pub(crate) fn do_serial(job: JobRef) {
    // The jobs we pass on may be serialized, and their holds on the shell given up, before we are
    // done with the shell and its instance's serial workqueue. Softirqs stay disabled until we
    // return: an RCU read-side critical section, which the shell's teardown waits for after the
    // last job (`ShellCore::close_and_wait`). Taken first: the shell is accessed only inside.
    let bh = BhGuard::new();
    // SAFETY: The job is in the engine and not yet serialized, so its owner is the shell it was
    // submitted to (`ShellCore::submit`), which it holds in flight; the shell stays alive while
    // softirqs are disabled (above).
    let shell = unsafe { &*job.owner().cast::<ShellCore>() };
    shell.reorder.release(
        job,
        |ready| shell.streams.pass(ready, &shell.queues, &bh),
        &bh,
    );
}

/// The runner of a shell's serial queues: runs serial callbacks and accounts for them.
pub(crate) struct Serial;

/// Serial callbacks run in runs of at most this many with softirqs disabled once (C padata keeps
/// them disabled for a whole batch); softirqs pending meanwhile are served in between.
const SERIAL_RUN: usize = 64;

/// How many times a serial queue's work serves the softirqs left pending on its CPU before it
/// lets held jobs go to another CPU (each time for `MAX_SOFTIRQ_TIME`, a jiffy or more).
const HANDOFF_SOFTIRQ_ROUNDS: u32 = 16;

impl Runner for Serial {
    /// One batch per run: the serial queues of other shells on the CPU get their turn in between.
    const RUN_LIMIT: u32 = 1;

    fn run(mut batch: JobList) -> u32 {
        let mut total = 0;
        // A serial queue only holds jobs of the shell that owns it.
        let mut streams = [0u32; SERIAL_RUN];
        while let Some(first) = batch.pop_front() {
            let shell = first.owner().cast::<ShellCore>();
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
            // stack) runs first, before the held jobs they let go to another CPU. When jobs are
            // held, what the kernel left to ksoftirqd (softirq time ran out) is served here too,
            // or the other CPU's packets could overtake it by more than a replay window. Only
            // then: serving it before every run that may drain a stream slows the stream down
            // under softirq load. A job held after this check goes unserved, as does everything
            // from a BH workqueue, where softirqs cannot run.
            //
            // SAFETY: The jobs hold the shell in flight until `ShellCore::serialized`, below.
            if unsafe { (*shell).streams.holding() } {
                sys::serve_pending_softirqs(HANDOFF_SOFTIRQ_ROUNDS);
            }
            {
                let bh = BhGuard::new();
                for &stream in streams.iter().take(n) {
                    // SAFETY: The jobs were submitted to `shell` (their owner), held it in flight
                    // and still do: their holds are given up by `ShellCore::serialized`, below.
                    unsafe { ShellCore::stream_done(shell, stream, &bh) };
                }
            }
            // SAFETY: Each of these `n` jobs held its shell in flight (set at submission) until
            // now: the shell is alive, and this call gives those holds up.
            unsafe { ShellCore::serialized(shell, n as u32) };
            total += n as u32;
        }
        total
    }
}

/// A shell: an independent, ordered stream of jobs of an [`crate::Instance`].
///
/// Jobs are submitted with [`Shell::do_parallel`] from Rust, or through the C ABI.
///
/// Dropping it sleeps until every job submitted to it has had its serial callback.
pub struct Shell {
    core: Arc<ShellCore>,
}

impl Shell {
    pub(crate) fn new(core: Arc<ShellCore>) -> Self {
        Self { core }
    }

    pub(crate) fn core(&self) -> &Arc<ShellCore> {
        &self.core
    }

    /// Submits `job`; its [`Job::parallel`] runs once, with BHs disabled, on a CPU of the usable
    /// parallel mask, and its [`Job::serial`] in submission order on the returned callback CPU.
    ///
    /// `cb_cpu` is the preferred callback CPU; if it is not in the usable serial mask, another
    /// one is chosen as C padata does. Jobs that ask for the same CPU stay in submission order
    /// also when the one they get changes (see `stream.rs`). Fails with `EINVAL` (and gives the
    /// job back) when the instance is invalid (a mask without an online CPU) or freed.
    pub fn do_parallel<J: Job>(
        &self,
        job: JobBox<J>,
        cb_cpu: i32,
    ) -> Result<u32, (Error, JobBox<J>)> {
        boxed::submit(&self.core, job, cb_cpu)
    }

    /// The shell's counters.
    pub fn stats(&self) -> ShellStats {
        self.core.stats()
    }

    /// The shell's id within its instance (its sysfs directory name).
    pub fn id(&self) -> u32 {
        self.core.id()
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.core.close_and_wait();
        self.core.instance.remove_shell(&self.core);
        self.core.remove_dir();
    }
}

/// What `boxed.rs` (shared with `client/`) needs from the engine.
mod engine {
    use super::ShellCore;
    use crate::job::{
        JobFn,
        JobHeader,
        JobRef, //
    };
    use core::ptr::NonNull;
    use kernel::prelude::*;

    /// The header a job box starts with.
    pub(super) type Header = JobHeader;

    /// What jobs are submitted to.
    pub(super) type Shell = ShellCore;

    /// An idle header with the given callbacks.
    pub(super) fn header(parallel: JobFn, serial: JobFn) -> Header {
        JobHeader::new(parallel, serial)
    }

    /// Submits `job` to `shell`, asking for callback CPU `cb_cpu`; returns the one it got.
    ///
    /// # Safety
    ///
    /// `job` must be an idle header, valid and owned by the engine from now until its serial
    /// callback; on failure it is idle and the caller's again.
    pub(super) unsafe fn submit(shell: &Shell, job: NonNull<Header>, cb_cpu: i32) -> Result<u32> {
        // SAFETY: Per the safety requirements.
        let job = unsafe { JobRef::submit(job) }?;
        let mut cpu = 0;
        shell.submit(job, cb_cpu, |cb| cpu = cb)?;
        Ok(cpu)
    }

    /// `do_serial` for a job in its parallel phase.
    ///
    /// # Safety
    ///
    /// `job` must be the header of a job in its parallel phase, owned by the caller.
    pub(super) unsafe fn do_serial(job: NonNull<Header>) {
        // SAFETY: Per the safety requirements.
        if let Some(job) = unsafe { JobRef::from_do_serial(job) } {
            super::do_serial(job);
        }
    }
}
