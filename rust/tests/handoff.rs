// SPDX-License-Identifier: GPL-2.0

//! KUnit suite for the softirq work serial callbacks leave behind when their stream moves to
//! another callback CPU, as ESP's encryption callbacks hand each packet to their CPU's network
//! stack (a softirq): when the jobs after the move are held, that work must still come first,
//! also once the kernel has put it off to ksoftirqd, or the new CPU's packets overtake it.
//!
//! Each job's serial callback queues one BH work item on its CPU, which spins a while (so that
//! a batch of them outlasts the kernel's softirq time, a jiffy or more, and the rest goes to
//! ksoftirqd) and then logs the job's index. The log must be in submission order.

use super::wait_until;
use crate::{
    cpumask::{
        mask_of,
        online_cpus, //
    },
    instance::{
        Instance,
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
    },
    types::MaskType, //
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
            Atomic,
            Relaxed, //
        },
        Arc,
        SpinLock, //
    },
    time::{
        delay::udelay,
        Delta, //
    },
    workqueue::{
        Work,
        WorkItem, //
    }, //
};

/// Rounds of one move each.
const ROUNDS: u64 = 10;
/// Jobs on each side of a move. The serial queue serves at most `HANDOFF_SOFTIRQ_ROUNDS` (16)
/// slices of softirq time, each at least one BH work item long: a batch fits.
const BATCH: u64 = 16;
/// How long each BH work item spins: a batch takes far more than the softirq time.
const SPIN_US: i64 = 1000;
/// How long the first serial callback of a batch spins: the jobs after the move have been
/// passed on, and held, by then (the test thread passes them right after the batch).
const FIRST_SPIN_MS: u32 = 20;

/// What the BH work saw.
#[pin_data]
struct Seen {
    /// The index the next BH work item should log, if all is in order.
    #[pin]
    next: SpinLock<u64>,
    logged: Atomic<u64>,
    out_of_order: Atomic<u64>,
}

/// The test's state, shared with its jobs (not with their BH work: the last reference must not
/// go in softirq context, where the workqueue cannot be destroyed).
#[pin_data]
struct Log {
    /// The BH workqueue the serial callbacks queue on.
    wq: Workqueue,
    seen: Arc<Seen>,
    wrong_cpu: Atomic<u64>,
    /// Work items that could not be allocated (the job's index is then never logged).
    no_memory: Atomic<u64>,
    /// Parallel phases held back by the test, released by it all at once.
    #[pin]
    parked: SpinLock<KVec<Pending<HandoffJob>>>,
}

impl Log {
    fn new() -> Result<Arc<Self>> {
        let wq = Workqueue::new(c"kunit_handoff", c"_bh", WqFlags::PERCPU | WqFlags::BH, 0)?;
        let seen = Arc::pin_init(
            try_pin_init!(Seen {
                next <- new_spinlock!(0, "rpadata_test_handoff_next"),
                logged: Atomic::new(0),
                out_of_order: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        Arc::pin_init(
            try_pin_init!(Self {
                wq,
                seen,
                wrong_cpu: Atomic::new(0),
                no_memory: Atomic::new(0),
                parked <- new_spinlock!(KVec::new(), "rpadata_test_handoff_parked"),
            }),
            GFP_KERNEL,
        )
    }

    /// Hands every parked job to `do_serial`, in the order they were parked.
    fn release_parked(&self) {
        let jobs = {
            let _bh = BhGuard::new();
            let mut parked = self.parked.lock();
            core::mem::take(&mut *parked)
        };
        drop(jobs);
    }

    fn parked_len(&self) -> usize {
        let _bh = BhGuard::new();
        // A local, dropped before `_bh` (a tail temporary would outlive it).
        let parked = self.parked.lock();
        parked.len()
    }
}

struct HandoffJob {
    log: Arc<Log>,
    index: u64,
    cb_cpu: u32,
    /// Park the parallel phase (instead of `do_serial` at once).
    park: bool,
    /// Spin [`FIRST_SPIN_MS`] in the serial callback first.
    slow: bool,
}

impl Job for HandoffJob {
    fn parallel(job: Pending<Self>) {
        if job.park {
            let log = job.log.clone();
            let mut parked = log.parked.lock();
            // On allocation failure the job is dropped, i.e. serialized at once.
            let _ = parked.push(job, GFP_ATOMIC);
        }
    }

    fn serial(job: JobBox<Self>) {
        if job.slow {
            // `udelay` takes at most 5 ms.
            for _ in 0..FIRST_SPIN_MS {
                udelay(Delta::from_millis(1));
            }
        }
        let cpu = CpuId::current().as_u32();
        if cpu != job.cb_cpu {
            job.log.wrong_cpu.add(1, Relaxed);
        }
        let work = LogWork::new(job.log.seen.clone(), job.index);
        match KBox::pin_init(work, GFP_ATOMIC) {
            Ok(work) => {
                job.log.wq.enqueue_on(cpu, work);
            }
            Err(_) => job.log.no_memory.add(1, Relaxed),
        }
    }
}

/// The softirq work of one serial callback.
#[pin_data]
struct LogWork {
    #[pin]
    work: Work<LogWork>,
    seen: Arc<Seen>,
    index: u64,
}

impl_has_work! {
    impl HasWork<Self> for LogWork { self.work }
}

impl LogWork {
    fn new(seen: Arc<Seen>, index: u64) -> impl PinInit<Self> {
        pin_init!(Self {
            work <- new_work!("rpadata_test_handoff_work"),
            seen,
            index,
        })
    }
}

impl WorkItem for LogWork {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        udelay(Delta::from_micros(SPIN_US));
        let seen = &this.seen;
        // Taken in softirq context only (BH work).
        let mut next = seen.next.lock();
        if this.index != *next {
            seen.out_of_order.add(1, Relaxed);
        }
        *next = this.index + 1;
        seen.logged.add(1, Relaxed);
    }
}

#[kunit_tests(rpadata_handoff)]
mod suite {
    use super::*;

    #[test]
    fn softirq_work_of_the_old_callback_cpu_comes_before_held_jobs() -> Result {
        if let Some(seen) = run()? {
            assert_eq!(seen, CLEAN);
        }
        Ok(())
    }
}

/// What [`run`] sees when all is well: every item logged, in order.
const CLEAN: [u64; 4] = [ROUNDS * 2 * BATCH, 0, 0, 0];

/// Runs [`ROUNDS`] moves; returns what was seen: items logged, logged out of order, serial
/// callbacks on the wrong CPU, items not allocated. `None`: skipped (one CPU). The test function
/// asserts: an assertion here would be `core`'s (a panic), not KUnit's.
fn run() -> Result<Option<[u64; 4]>> {
    let cpus = online_cpus();
    if cpus.len() < 2 {
        sys::kunit_skip(c"needs two online CPUs");
        return Ok(None);
    }
    // The jobs ask for callback CPU `x`; while `x` is out of the serial mask they get `y`.
    let (x, y) = (cpus[cpus.len() - 1], cpus[0]);
    let inst = Instance::new(c"kunit_handoff")?;
    let both = mask_of(&[x, y])?;
    let only_y = mask_of(&[y])?;
    // Dropped in reverse: parked jobs are released before the shell waits for them, and the last
    // reference to `log` (and its workqueue) goes after the shell's last job.
    let log = Log::new()?;
    let shell = inst.new_shell()?;
    let _release = ReleaseParked(&log);
    let mut n = 0;
    for _ in 0..ROUNDS {
        inst.set_cpumask(MaskType::Serial, &both)?;
        // A batch for `x`, parked in their parallel phase, so that it reaches `x`'s serial queue
        // at once: one run of callbacks, whose BH work outlasts the softirq time.
        for i in 0..BATCH {
            let park = if i == 0 { Park::Slow } else { Park::Yes };
            submit(&shell, &log, n, x, x, park)?;
            n += 1;
        }
        wait_until(|| log.parked_len() == BATCH as usize);
        // Then the stream moves: these are held until `x` has run the batch's callbacks. The
        // test thread passes them on right after the batch, while its first callback spins.
        inst.set_cpumask(MaskType::Serial, &only_y)?;
        for _ in 0..BATCH {
            submit(&shell, &log, n, x, y, Park::No)?;
            n += 1;
        }
        log.release_parked();
        wait_until(|| log.seen.logged.load(Relaxed) == n);
    }
    drop(shell);
    Ok(Some([
        log.seen.logged.load(Relaxed),
        log.seen.out_of_order.load(Relaxed),
        log.wrong_cpu.load(Relaxed),
        log.no_memory.load(Relaxed),
    ]))
}

/// Releases the parked jobs when the test returns, early ones included.
struct ReleaseParked<'a>(&'a Log);

impl Drop for ReleaseParked<'_> {
    fn drop(&mut self) {
        self.0.release_parked();
    }
}

/// Whether a job's parallel phase is parked, and its serial callback slow.
#[derive(PartialEq)]
enum Park {
    No,
    Yes,
    Slow,
}

/// Submits job `index`, which asks for callback CPU `ask` and must get `expect`.
fn submit(shell: &Shell, log: &Arc<Log>, index: u64, ask: u32, expect: u32, park: Park) -> Result {
    let job = JobBox::new(
        HandoffJob {
            log: log.clone(),
            index,
            cb_cpu: expect,
            park: park != Park::No,
            slow: park == Park::Slow,
        },
        GFP_KERNEL,
    )?;
    match shell.do_parallel(job, ask as i32) {
        Ok(cpu) if cpu == expect => {}
        Ok(_) => log.wrong_cpu.add(1, Relaxed),
        Err((e, _)) => return Err(e),
    }
    Ok(())
}
