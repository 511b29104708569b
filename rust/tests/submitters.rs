// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for what a crypto consumer such as rpcrypt does to a shell: one submitter per CPU
//! at once, from workers or from softirq context (as ESP submits from the network softirq), and
//! parallel phases that end some time later on another CPU (as an asynchronous inner AEAD
//! completes).
//!
//! Each job draws a ticket when its `do_parallel` returns. Of two jobs with the same callback CPU,
//! one submitted after the other's ticket was drawn must be serialized after it: the suite checks
//! that for every such pair, and that each callback ran exactly once, the serial one on its
//! callback CPU, both with BHs disabled.

use super::wait_until;
use crate::{
    cpumask::online_cpus,
    instance::{
        Instance,
        InstanceOptions,
        Job,
        JobBox,
        Pending,
        Shell, //
    },
    sys::{
        self,
        BhGuard,
        Workqueue,
        WqFlags, //
    }, //
};
use core::pin::Pin;
use kernel::{
    cpu::CpuId,
    impl_has_work,
    new_spinlock,
    new_work,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
        SpinLock, //
    },
    time::{
        delay::{
            fsleep,
            udelay, //
        },
        Delta, //
    },
    workqueue::{
        Work,
        WorkItem, //
    }, //
};

/// Rounds of submission: each submitter submits [`BATCH`] jobs per round, all at once.
const ROUNDS: usize = 40;
const BATCH: usize = 100;

#[kunit_tests(rpadata_submitters)]
mod suite {
    use super::*;

    #[test]
    fn concurrent_submitters_keep_the_order_do_parallel_returned_in() -> Result {
        let (seen, clean) = run(c"kunit_crowd", Context::Worker, false, false)?;
        assert_eq!(seen, clean);
        Ok(())
    }

    #[test]
    fn softirq_submitters_keep_the_order_do_parallel_returned_in() -> Result {
        let (seen, clean) = run(c"kunit_crowd_bh", Context::Softirq, false, false)?;
        assert_eq!(seen, clean);
        Ok(())
    }

    #[test]
    fn completion_later_on_another_cpu_keeps_order_and_callback_cpu() -> Result {
        let (seen, clean) = run(c"kunit_crowd_later", Context::Worker, true, false)?;
        assert_eq!(seen, clean);
        Ok(())
    }

    /// rpcrypt's case: instances with `parallel_local`, requests submitted from softirq context
    /// and completed later on another CPU.
    #[test]
    fn softirq_submitters_with_later_completion_and_local_turns() -> Result {
        let (seen, clean) = run(c"kunit_crowd_esp", Context::Softirq, true, true)?;
        assert_eq!(seen, clean);
        Ok(())
    }
}

/// Where the submitters run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A per-CPU workqueue's worker on each CPU.
    Worker,
    /// A BH work item on each CPU, in softirq context.
    Softirq,
}

/// Parallel phases left to one CPU's [`Completer`].
type PendingList = Pin<KBox<SpinLock<KVec<Pending<CrowdJob>>>>>;

/// What the jobs of one run and their submitters saw.
struct Crowd {
    cpus: KVec<u32>,
    /// Whether parallel phases end in a [`Completer`] rather than at once.
    later: bool,
    /// Jobs whose `do_parallel` has returned; a job's ticket is the count before its own.
    returned: Atomic<u64>,
    /// Per job: `returned` just before its `do_parallel` was called.
    start: KVVec<Atomic<u64>>,
    /// Per job: its ticket.
    ticket: KVVec<Atomic<u64>>,
    /// Per job: its place among the serial callbacks of its callback CPU.
    place: KVVec<Atomic<u64>>,
    parallel_runs: KVVec<Atomic<u64>>,
    serial_runs: KVVec<Atomic<u64>>,
    /// Per callback CPU (index in `cpus`): serial callbacks so far.
    serialized: KVec<Atomic<u64>>,
    /// Per CPU (index in `cpus`): parallel phases left to that CPU's completer.
    pending: KVec<PendingList>,
    /// Submitters that have returned.
    finished: Atomic<u64>,
    /// Tells the completers to return once their list is empty.
    stop: Atomic<bool>,
    wrong_cb_cpu: Atomic<u64>,
    bh_enabled: Atomic<u64>,
    refused: Atomic<u64>,
    wrong_submitter_cpu: Atomic<u64>,
    submitted_in_softirq: Atomic<u64>,
    completed_elsewhere: Atomic<u64>,
}

/// `n` counters at zero.
fn zeroes(n: usize) -> Result<KVVec<Atomic<u64>>> {
    let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(Atomic::new(0), GFP_KERNEL)?;
    }
    Ok(v)
}

impl Crowd {
    fn new(cpus: KVec<u32>, later: bool) -> Result<Arc<Self>> {
        let n = cpus.len() * ROUNDS * BATCH;
        let mut serialized = KVec::new();
        let mut pending = KVec::new();
        for _ in 0..cpus.len() {
            serialized.push(Atomic::new(0), GFP_KERNEL)?;
            // Room for every job: parallel phases push with BHs off, where allocating may fail.
            let list = KVec::with_capacity(if later { n } else { 0 }, GFP_KERNEL)?;
            pending.push(
                KBox::pin_init(new_spinlock!(list, "rpadata_test_pending"), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(
            Self {
                later,
                returned: Atomic::new(0),
                start: zeroes(n)?,
                ticket: zeroes(n)?,
                place: zeroes(n)?,
                parallel_runs: zeroes(n)?,
                serial_runs: zeroes(n)?,
                serialized,
                pending,
                finished: Atomic::new(0),
                stop: Atomic::new(false),
                wrong_cb_cpu: Atomic::new(0),
                bh_enabled: Atomic::new(0),
                refused: Atomic::new(0),
                wrong_submitter_cpu: Atomic::new(0),
                submitted_in_softirq: Atomic::new(0),
                completed_elsewhere: Atomic::new(0),
                cpus,
            },
            GFP_KERNEL,
        )?)
    }

    fn jobs(&self) -> usize {
        self.start.len()
    }

    /// The index in `cpus` of job `id`'s callback CPU: each submitter's jobs cycle over all
    /// CPUs, each submitter starting from its own.
    fn cb_index(&self, id: usize) -> usize {
        (id / BATCH + id) % self.cpus.len()
    }

    /// Jobs submitted after a job of the same callback CPU had drawn its ticket, but serialized
    /// before it.
    fn out_of_order(&self) -> Result<u64> {
        let mut bad = 0;
        for cb in 0..self.cpus.len() {
            let mut by_place = KVVec::new();
            by_place.resize(self.jobs(), usize::MAX, GFP_KERNEL)?;
            for id in (0..self.jobs()).filter(|&id| self.cb_index(id) == cb) {
                let slot = by_place.get_mut(self.place[id].load(Relaxed) as usize);
                match slot {
                    Some(s) if *s == usize::MAX => *s = id,
                    _ => bad += 1,
                }
            }
            // From the last serialized back: the smallest ticket of the jobs serialized later.
            let mut min_later = u64::MAX;
            for &id in by_place.iter().rev().filter(|&&id| id != usize::MAX) {
                if min_later < self.start[id].load(Relaxed) {
                    bad += 1;
                }
                min_later = min_later.min(self.ticket[id].load(Relaxed));
            }
        }
        Ok(bad)
    }

    /// What the run saw: parallel and serial callbacks not run exactly once, jobs out of order,
    /// serial callbacks on another CPU than their callback CPU, callbacks with BHs enabled,
    /// refused submissions, submissions on another CPU than their submitter's, submissions from
    /// softirq context and parallel phases completed on another CPU than they ran on.
    fn seen(&self) -> Result<[u64; 9]> {
        let not_once =
            |runs: &KVVec<Atomic<u64>>| runs.iter().filter(|r| r.load(Relaxed) != 1).count() as u64;
        Ok([
            not_once(&self.parallel_runs),
            not_once(&self.serial_runs),
            self.out_of_order()?,
            self.wrong_cb_cpu.load(Relaxed),
            self.bh_enabled.load(Relaxed),
            self.refused.load(Relaxed),
            self.wrong_submitter_cpu.load(Relaxed),
            self.submitted_in_softirq.load(Relaxed),
            self.completed_elsewhere.load(Relaxed),
        ])
    }
}

struct CrowdJob {
    crowd: Arc<Crowd>,
    id: usize,
    cb_cpu: u32,
    /// The CPU its parallel phase ran on.
    parallel_cpu: u32,
}

impl Job for CrowdJob {
    fn parallel(mut job: Pending<Self>) {
        let crowd = job.crowd.clone();
        crowd.parallel_runs[job.id].add(1, Relaxed);
        if !sys::bh_disabled() {
            crowd.bh_enabled.add(1, Relaxed);
        }
        if !crowd.later {
            return;
        }
        let cpu = CpuId::current().as_u32();
        job.parallel_cpu = cpu;
        // The next CPU's completer ends the parallel phase. Pushing cannot fail (room was made
        // for every job); if it did, the job would be serialized here, on this CPU.
        let here = crowd.cpus.iter().position(|&c| c == cpu).unwrap_or(0);
        let next = (here + 1) % crowd.cpus.len();
        let _ = crowd.pending[next].lock().push(job, GFP_ATOMIC);
    }

    fn serial(job: JobBox<Self>) {
        let crowd = &job.crowd;
        crowd.serial_runs[job.id].add(1, Relaxed);
        if !sys::bh_disabled() {
            crowd.bh_enabled.add(1, Relaxed);
        }
        if CpuId::current().as_u32() != job.cb_cpu {
            crowd.wrong_cb_cpu.add(1, Relaxed);
        }
        // Serial callbacks of one callback CPU run one at a time.
        let place = crowd.serialized[crowd.cb_index(job.id)].fetch_add(1, Relaxed);
        crowd.place[job.id].store(place, Relaxed);
    }
}

/// One submitter's share of one round: [`BATCH`] jobs from `first` on, submitted on the CPU it
/// was queued on.
#[pin_data]
struct Submitter {
    #[pin]
    work: Work<Submitter>,
    crowd: Arc<Crowd>,
    shell: Arc<Shell>,
    /// The index in `crowd.cpus` of its CPU.
    at: usize,
    first: usize,
}

impl_has_work! {
    impl HasWork<Self> for Submitter { self.work }
}

impl Submitter {
    fn new(
        crowd: Arc<Crowd>,
        shell: Arc<Shell>,
        context: Context,
        at: usize,
        first: usize,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            // One lockdep class per context: the same work run from a worker and from softirq
            // would look to lockdep like one lock taken with softirqs on and in softirq.
            work <- match context {
                Context::Worker => new_work!("rpadata_test_submitter"),
                Context::Softirq => new_work!("rpadata_test_bh_submitter"),
            },
            crowd,
            shell,
            at,
            first,
        })
    }
}

impl WorkItem for Submitter {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        let crowd = &this.crowd;
        for id in this.first..this.first + BATCH {
            if CpuId::current().as_u32() != crowd.cpus[this.at] {
                crowd.wrong_submitter_cpu.add(1, Relaxed);
            }
            if sys::in_serving_softirq() {
                crowd.submitted_in_softirq.add(1, Relaxed);
            }
            let cb_cpu = crowd.cpus[crowd.cb_index(id)];
            let data = CrowdJob {
                crowd: crowd.clone(),
                id,
                cb_cpu,
                parallel_cpu: u32::MAX,
            };
            let Ok(job) = JobBox::new(data, GFP_ATOMIC) else {
                crowd.refused.add(1, Relaxed);
                continue;
            };
            crowd.start[id].store(crowd.returned.load(Acquire), Relaxed);
            match this.shell.do_parallel(job, cb_cpu as i32) {
                Ok(cpu) if cpu == cb_cpu => {}
                Ok(_) => crowd.wrong_cb_cpu.add(1, Relaxed),
                Err(_) => crowd.refused.add(1, Relaxed),
            }
            let ticket = crowd.returned.fetch_add(1, Release);
            crowd.ticket[id].store(ticket, Relaxed);
        }
        crowd.finished.fetch_add(1, Release);
    }
}

/// Ends, on its CPU, the parallel phases left to it, newest first, a few microseconds apart:
/// every other one with BHs disabled (as from a softirq), the rest from its worker. Returns when
/// told to stop and nothing is left.
#[pin_data]
struct Completer {
    #[pin]
    work: Work<Completer>,
    crowd: Arc<Crowd>,
    at: usize,
}

impl_has_work! {
    impl HasWork<Self> for Completer { self.work }
}

impl Completer {
    fn new(crowd: Arc<Crowd>, at: usize) -> impl PinInit<Self> {
        pin_init!(Self {
            work <- new_work!("rpadata_test_completer"),
            crowd,
            at,
        })
    }
}

impl WorkItem for Completer {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        let crowd = &this.crowd;
        let mut done = 0u64;
        loop {
            let job = {
                let _bh = BhGuard::new();
                // A local, dropped before `_bh`: a temporary of the tail expression would
                // outlive it and hold the lock with BHs enabled again.
                let mut pending = crowd.pending[this.at].lock();
                pending.pop()
            };
            let Some(job) = job else {
                if crowd.stop.load(Acquire) {
                    return;
                }
                fsleep(Delta::from_micros(100));
                continue;
            };
            done += 1;
            udelay(Delta::from_micros((done % 5) as i64));
            if job.parallel_cpu != CpuId::current().as_u32() {
                crowd.completed_elsewhere.add(1, Relaxed);
            }
            if done % 2 == 0 {
                let _bh = BhGuard::new();
                drop(job);
            } else {
                drop(job);
            }
            // Let the other work of this CPU run now and then.
            if done % 8 == 0 {
                fsleep(Delta::from_micros(100));
            }
        }
    }
}

/// Runs [`ROUNDS`] rounds of one submitter per online CPU on one shell of a fresh instance
/// `name`, each round once the previous one has returned; returns what [`Crowd::seen`] saw and
/// what it must see.
fn run(
    name: &'static CStr,
    context: Context,
    later: bool,
    parallel_local: bool,
) -> Result<([u64; 9], [u64; 9])> {
    let cpus = online_cpus();
    let ncpus = cpus.len();
    let crowd = Crowd::new(cpus, later)?;
    let n = crowd.jobs() as u64;
    let opts = InstanceOptions {
        parallel_local,
        ..Default::default()
    };
    let inst = Instance::new_with(name, opts)?;
    let shell = Arc::new(inst.new_shell()?, GFP_KERNEL)?;
    let completers = Workqueue::new(name, c"_completers", WqFlags::PERCPU, 0)?;
    for at in 0..ncpus {
        let completer = KBox::pin_init(Completer::new(crowd.clone(), at), GFP_KERNEL)?;
        completers.enqueue_on(crowd.cpus[at], completer);
    }
    let flags = match context {
        Context::Worker => WqFlags::PERCPU,
        Context::Softirq => WqFlags::PERCPU | WqFlags::BH,
    };
    let submitters = Workqueue::new(name, c"_submitters", flags, 0)?;
    for round in 0..ROUNDS {
        for at in 0..ncpus {
            let first = (round * ncpus + at) * BATCH;
            let submitter = Submitter::new(crowd.clone(), shell.clone(), context, at, first);
            let submitter = KBox::pin_init(submitter, GFP_KERNEL)?;
            submitters.enqueue_on(crowd.cpus[at], submitter);
        }
        let finished = ((round + 1) * ncpus) as u64;
        wait_until(|| crowd.finished.load(Acquire) == finished);
    }
    // Waits for every submitter to return and drop its reference to the shell.
    drop(submitters);
    // The last reference: sleeps until every job is serialized, the completers still running.
    drop(shell);
    crowd.stop.store(true, Release);
    drop(completers);
    let in_softirq = if context == Context::Softirq { n } else { 0 };
    let elsewhere = if later && ncpus > 1 { n } else { 0 };
    Ok((crowd.seen()?, [0, 0, 0, 0, 0, 0, 0, in_softirq, elsewhere]))
}
