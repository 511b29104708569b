// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for serialized jobs, through the safe Rust API; the concurrent submitters of a
//! crypto consumer are in [`submitters`], the softirq work left behind by a moving stream in
//! [`handoff`].
//!
//! Callbacks run on workqueue workers, where a failed `assert!` would only be logged: they record
//! what they see in a shared [`Recorder`], and the test thread asserts on it once the shell has
//! drained (dropping a shell sleeps until all its jobs are serialized).

use crate::{
    cpumask::{
        mask_of,
        online_cpus, //
    },
    instance::{
        Instance,
        InstanceOptions,
        Job,
        JobBox,
        Pending,
        Shell, //
    },
    sys,
    types::MaskType, //
};
use kernel::{
    cpu::CpuId,
    new_spinlock,
    prelude::*,
    str::CString,
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
        delay::udelay,
        Delta, //
    },
    workqueue, //
};

mod handoff;
mod submitters;

/// Sleeps until `cond` holds, for at most 10 s (the caller then asserts it).
fn wait_until(cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        kernel::time::delay::fsleep(Delta::from_millis(1));
    }
}

#[kunit_tests(rpadata_serialized)]
mod serialized {
    use super::*;

    /// What the callbacks of one test saw.
    #[pin_data]
    struct Recorder {
        /// With one callback CPU: the index the next serial callback must have.
        next: Atomic<u64>,
        /// Per callback CPU (ids below 64): one more than the last index serialized there.
        last: [Atomic<u64>; 64],
        parallel_runs: Atomic<u64>,
        serial_runs: Atomic<u64>,
        out_of_order: Atomic<u64>,
        wrong_cb_cpu: Atomic<u64>,
        wrong_parallel_cpu: Atomic<u64>,
        bh_enabled: Atomic<u64>,
        /// Serial callbacks that ran from softirq context (a BH work item).
        serial_in_softirq: Atomic<u64>,
        inline_runs: Atomic<u64>,
        /// Allowed parallel CPUs as a bit mask (CPU ids < 64); 0: any.
        parallel_cpus: Atomic<u64>,
        /// While non-zero, the serial callback of job 0 spins (BHs off) until it is cleared.
        hold_serial: Atomic<u32>,
        /// [`Mode::Gate`] jobs spin in their parallel phase until this is non-zero.
        gate_open: Atomic<u32>,
        /// [`Mode::Gate`] jobs that reached the gate.
        at_gate: Atomic<u64>,
        /// Parallel phases parked by the test, released by it later.
        #[pin]
        parked: SpinLock<KVec<Pending<TestJob>>>,
    }

    impl Recorder {
        fn new() -> Result<Arc<Self>> {
            Arc::pin_init(
                try_pin_init!(Self {
                    next: Atomic::new(0),
                    last: [const { Atomic::new(0) }; 64],
                    parallel_runs: Atomic::new(0),
                    serial_runs: Atomic::new(0),
                    out_of_order: Atomic::new(0),
                    wrong_cb_cpu: Atomic::new(0),
                    wrong_parallel_cpu: Atomic::new(0),
                    bh_enabled: Atomic::new(0),
                    serial_in_softirq: Atomic::new(0),
                    inline_runs: Atomic::new(0),
                    parallel_cpus: Atomic::new(0),
                    hold_serial: Atomic::new(0),
                    gate_open: Atomic::new(0),
                    at_gate: Atomic::new(0),
                    parked <- new_spinlock!(KVec::new(), "rpadata_test_parked"),
                }),
                GFP_KERNEL,
            )
        }

        fn parked_len(&self) -> usize {
            let _bh = sys::BhGuard::new();
            // A local, dropped before `_bh` (a tail temporary would outlive it).
            let parked = self.parked.lock();
            parked.len()
        }

        /// Hands every parked job to `do_serial`, last parked first (out of order on purpose).
        fn release_parked(&self) {
            loop {
                let job = {
                    let _bh = sys::BhGuard::new();
                    let mut parked = self.parked.lock();
                    parked.pop()
                };
                match job {
                    Some(j) => drop(j),
                    None => break,
                }
            }
        }
    }

    /// How a test job behaves in its parallel phase.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mode {
        /// Busy for a pseudo-random few microseconds, then `do_serial`; every seventh job finishes
        /// later, from a workqueue (out-of-order completion).
        Random,
        /// Park the job in the recorder; the test releases it.
        Park,
        /// `do_serial` at once.
        Now,
        /// Wait (BHs off, at most 200 ms) until the test opens the gate, then `do_serial`: jobs
        /// waiting on several CPUs call it at the same moment.
        Gate,
    }

    struct TestJob {
        rec: Arc<Recorder>,
        single_cb_cpu: bool,
        index: u64,
        cb_cpu: u32,
        mode: Mode,
        /// The CPU that submitted the job, where a test knows it: its parallel callback must not
        /// run there. `u32::MAX` otherwise.
        submitter_cpu: u32,
        /// The CPU its parallel callback must run on, where a test knows it. `u32::MAX` otherwise.
        parallel_cpu: u32,
    }

    impl Job for TestJob {
        fn parallel(job: Pending<Self>) {
            let rec = job.rec.clone();
            rec.parallel_runs.add(1, Relaxed);
            if !sys::bh_disabled() {
                rec.bh_enabled.add(1, Relaxed);
            }
            if !sys::in_workqueue_worker() {
                rec.inline_runs.add(1, Relaxed);
            }
            // Workers and submitters alike (without `parallel_local`, a job whose submitter's CPU
            // is the only parallel CPU runs there at once): tests that set a mask never reach the
            // in-flight limit.
            let allowed = rec.parallel_cpus.load(Relaxed);
            let cpu = CpuId::current().as_u32();
            if allowed != 0 && (cpu >= 64 || allowed & (1 << cpu) == 0) {
                rec.wrong_parallel_cpu.add(1, Relaxed);
            }
            if cpu == job.submitter_cpu || (job.parallel_cpu != u32::MAX && cpu != job.parallel_cpu)
            {
                rec.wrong_parallel_cpu.add(1, Relaxed);
            }
            match job.mode {
                Mode::Now => {}
                Mode::Park => {
                    let mut parked = rec.parked.lock();
                    // On allocation failure the job is dropped, i.e. serialized at once.
                    let _ = parked.push(job, GFP_ATOMIC);
                }
                Mode::Gate => {
                    rec.at_gate.add(1, Relaxed);
                    let mut spins = 0;
                    while rec.gate_open.load(Relaxed) == 0 && spins < 20_000 {
                        udelay(Delta::from_micros(10));
                        spins += 1;
                    }
                }
                Mode::Random => {
                    let r = job.index.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60;
                    udelay(Delta::from_micros((r % 4) as i64));
                    if r % 7 == 3 {
                        let _ = sys::system_dfl().try_spawn(GFP_ATOMIC, move || drop(job));
                    }
                }
            }
        }

        fn serial(job: JobBox<Self>) {
            let rec = &job.rec;
            if job.index == 0 {
                // Bounded at 5 s: the test clears it long before.
                let mut spins = 0;
                while rec.hold_serial.load(Relaxed) != 0 && spins < 500_000 {
                    udelay(Delta::from_micros(10));
                    spins += 1;
                }
            }
            rec.serial_runs.add(1, Relaxed);
            if !sys::bh_disabled() {
                rec.bh_enabled.add(1, Relaxed);
            }
            if sys::in_serving_softirq() {
                rec.serial_in_softirq.add(1, Relaxed);
            }
            if CpuId::current().as_u32() != job.cb_cpu {
                rec.wrong_cb_cpu.add(1, Relaxed);
            }
            // Callbacks that share a CPU run in submission order (across CPUs they may overlap).
            let cpu = CpuId::current().as_u32() as usize;
            if let Some(last) = rec.last.get(cpu) {
                if last.load(Relaxed) > job.index {
                    rec.out_of_order.add(1, Relaxed);
                }
                last.store(job.index + 1, Relaxed);
            }
            // With a single callback CPU, that is the global order.
            if job.single_cb_cpu {
                if rec.next.load(Relaxed) != job.index {
                    rec.out_of_order.add(1, Relaxed);
                }
                rec.next.store(job.index + 1, Relaxed);
            }
        }
    }

    /// A test job for `rec`.
    fn test_job(
        rec: &Arc<Recorder>,
        index: u64,
        cb_cpu: u32,
        mode: Mode,
        single_cb_cpu: bool,
    ) -> Result<JobBox<TestJob>> {
        JobBox::new(
            TestJob {
                rec: rec.clone(),
                single_cb_cpu,
                index,
                cb_cpu,
                mode,
                submitter_cpu: u32::MAX,
                parallel_cpu: u32::MAX,
            },
            GFP_KERNEL,
        )
    }

    /// Submits `n` jobs numbered `first..first + n` with callback CPUs cycling over `cb_cpus`, and
    /// checks that each goes to the callback CPU asked for.
    fn submit(
        shell: &Shell,
        rec: &Arc<Recorder>,
        first: u64,
        n: u64,
        cb_cpus: &[u32],
        mode: Mode,
    ) -> Result<u64> {
        let mut refused = 0;
        for index in first..first + n {
            let i = index.checked_rem(cb_cpus.len() as u64).unwrap_or(0) as usize;
            let cb_cpu = cb_cpus.get(i).copied().unwrap_or(0);
            let job = test_job(rec, index, cb_cpu, mode, cb_cpus.len() == 1)?;
            match shell.do_parallel(job, cb_cpu as i32) {
                Ok(cpu) if cpu == cb_cpu => {}
                Ok(_) => rec.wrong_cb_cpu.add(1, Relaxed),
                Err(_) => refused += 1,
            }
        }
        Ok(refused)
    }

    /// The online CPUs, if at least `n` are online; otherwise `None`, and the test is marked
    /// skipped (it does not apply).
    fn online_at_least(n: usize) -> Option<KVec<u32>> {
        let cpus = online_cpus();
        if cpus.len() >= n {
            return Some(cpus);
        }
        let reason = CString::try_from_fmt(fmt!("needs {n} online CPUs, {} online", cpus.len()));
        sys::kunit_skip(reason.as_deref().unwrap_or(c"needs more online CPUs"));
        None
    }

    /// What the recorder saw: parallel runs, serial runs, serial callbacks out of order, on the
    /// wrong callback CPU or on a wrong parallel CPU, callbacks with BHs enabled, and serial
    /// callbacks from softirq context. The tests compare it with [`clean`] themselves: an assertion
    /// here, outside a test function, would be `core`'s (a panic), not KUnit's.
    fn seen(rec: &Recorder) -> [u64; 7] {
        [
            rec.parallel_runs.load(Relaxed),
            rec.serial_runs.load(Relaxed),
            rec.out_of_order.load(Relaxed),
            rec.wrong_cb_cpu.load(Relaxed),
            rec.wrong_parallel_cpu.load(Relaxed),
            rec.bh_enabled.load(Relaxed),
            rec.serial_in_softirq.load(Relaxed),
        ]
    }

    /// What [`seen`] shows after `n` jobs ran to completion, `in_softirq` of their serial
    /// callbacks from softirq context: each callback once, in order, on the right CPU, with BHs
    /// disabled.
    fn clean(n: u64, in_softirq: u64) -> [u64; 7] {
        [n, n, 0, 0, 0, 0, in_softirq]
    }

    /// Instance options with serial callbacks from softirq context.
    fn softirq_options() -> InstanceOptions {
        InstanceOptions {
            serial_softirq: true,
            ..Default::default()
        }
    }

    /// Submits `n` [`Mode::Now`] jobs with callback CPUs cycling over `cpus`, each with softirqs
    /// off across its submission so that the CPU seen is the one that submits; `on_cpu` gets the
    /// job, its index and that CPU just before. Sleeps now and then so that the test thread
    /// moves between CPUs. Returns the submissions refused plus those where the CPU seen was not
    /// the current one (both 0 when all is well).
    fn submit_on_seen_cpus(
        shell: &Shell,
        rec: &Arc<Recorder>,
        n: u64,
        cpus: &[u32],
        mut on_cpu: impl FnMut(&mut TestJob, u64, u32),
    ) -> Result<u64> {
        let mut bad = 0;
        for index in 0..n {
            let cb_cpu = cpus[(index % cpus.len() as u64) as usize];
            let mut job = test_job(rec, index, cb_cpu, Mode::Now, false)?;
            let bh = sys::BhGuard::new();
            if bh.cpu() != CpuId::current().as_u32() {
                bad += 1;
            }
            on_cpu(&mut job, index, bh.cpu());
            if shell.do_parallel(job, cb_cpu as i32).is_err() {
                bad += 1;
            }
            drop(bh);
            if index % 256 == 0 {
                kernel::time::delay::fsleep(Delta::from_micros(100));
            }
        }
        Ok(bad)
    }

    #[test]
    fn order_and_exactly_once_under_random_delays() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_order")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let n = 100_000;
        // One callback CPU: every serial callback must come in exact submission order.
        let last = [cpus[cpus.len() - 1]];
        assert_eq!(submit(&shell, &rec, 0, n, &last, Mode::Random)?, 0);
        assert_eq!(shell.stats().submitted, n);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        assert_eq!(rec.next.load(Relaxed), n);
        Ok(())
    }

    #[test]
    fn order_per_callback_cpu_with_every_cpu_as_callback_cpu() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_order_cpus")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let n = 20_000;
        assert_eq!(submit(&shell, &rec, 0, n, &cpus, Mode::Random)?, 0);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        Ok(())
    }

    #[test]
    fn softirq_serial_callbacks_run_in_order_from_softirq_on_their_cpu() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new_with(c"kunit_bh_order", softirq_options())?;
        let rec = Recorder::new()?;
        let n = 20_000;
        // Every CPU a callback CPU: per-CPU order; then one callback CPU: the global order.
        let shell = inst.new_shell()?;
        assert_eq!(submit(&shell, &rec, 0, n, &cpus, Mode::Random)?, 0);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, n));
        let rec = Recorder::new()?;
        let shell = inst.new_shell()?;
        let last = [cpus[cpus.len() - 1]];
        assert_eq!(submit(&shell, &rec, 0, n, &last, Mode::Random)?, 0);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, n));
        assert_eq!(rec.next.load(Relaxed), n);
        Ok(())
    }

    #[test]
    fn jobs_parked_while_another_cpu_releases_are_not_left_behind() -> Result {
        // A `do_serial` that finds the release lock taken leaves its job to the holder. Each round
        // has jobs wait at a gate in their parallel phase on two CPUs or more, then opens it, so
        // that their `do_serial` calls meet. A job left behind at the end of a round would never
        // be released (no later job comes to release it): each round must drain on its own.
        let Some(cpus) = online_at_least(3) else {
            return Ok(());
        };
        let inst = Instance::new(c"kunit_handoff")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        // One job per CPU but one: the CPUs other than the submitter's get one each, or, when the
        // submitter's turn falls in the burst, one of them gets two (and runs them one by one).
        let burst = cpus.len() as u64 - 1;
        let mut n = 0;
        for _ in 0..200 {
            rec.gate_open.store(0, Relaxed);
            assert_eq!(submit(&shell, &rec, n, burst, &cpus, Mode::Gate)?, 0);
            let at_gate = n + 2;
            n += burst;
            wait_until(|| rec.at_gate.load(Relaxed) >= at_gate);
            rec.gate_open.store(1, Relaxed);
            // The holder counts the jobs it released after passing them on: it may still be
            // counting when their serial callbacks have already run.
            let counts = || {
                let s = shell.stats();
                (s.serialized, s.released, s.reorder_pending)
            };
            wait_until(|| counts() == (n, n, 0));
            assert_eq!(counts(), (n, n, 0));
        }
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        Ok(())
    }

    #[test]
    fn counters_balance_when_idle() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_stats")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        assert_eq!(submit(&shell, &rec, 0, 500, &cpus, Mode::Park)?, 0);
        while rec.parked_len() < 500 {
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        let s = shell.stats();
        assert_eq!((s.submitted, s.serialized, s.in_flight), (500, 0, 500));
        rec.release_parked();
        drop(shell);
        assert_eq!(seen(&rec), clean(500, 0));
        Ok(())
    }

    #[test]
    fn parallel_runs_on_parallel_mask_and_serial_on_cb_cpu() -> Result {
        let Some(cpus) = online_at_least(3) else {
            return Ok(());
        };
        // A limit the test never reaches: parallel callbacks run on the mask only (in the
        // submitter when its CPU is the one picked, in a worker otherwise).
        let inst = Instance::new_with(
            c"kunit_masks",
            InstanceOptions {
                max_in_flight: 4096,
                ..Default::default()
            },
        )?;
        let pmask = mask_of(&cpus[1..3])?;
        inst.set_cpumask(MaskType::Parallel, &pmask)?;
        let rec = Recorder::new()?;
        rec.parallel_cpus
            .store((1u64 << cpus[1]) | (1u64 << cpus[2]), Release);
        let shell = inst.new_shell()?;
        assert_eq!(submit(&shell, &rec, 0, 2000, &cpus, Mode::Random)?, 0);
        drop(shell);
        // Jobs alternate between the two CPUs; the submitter is on at most one at a time.
        assert!(rec.inline_runs.load(Relaxed) < 2000);
        assert_eq!(seen(&rec), clean(2000, 0));
        Ok(())
    }

    #[test]
    fn parallel_callbacks_leave_the_submitting_cpu_alone() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        // A limit the test never reaches: every job goes to a worker, on another CPU than the
        // one that submitted it, although every online CPU is in the parallel mask.
        let inst = Instance::new_with(
            c"kunit_not_here",
            InstanceOptions {
                max_in_flight: 1 << 20,
                ..Default::default()
            },
        )?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let n = 4000;
        let bad = submit_on_seen_cpus(&shell, &rec, n, &cpus, |job, _, cpu| {
            job.submitter_cpu = cpu;
        })?;
        assert_eq!(bad, 0);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        assert_eq!(rec.inline_runs.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn parallel_local_queues_the_submitters_turns_on_its_cpu() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new_with(
            c"kunit_local",
            InstanceOptions {
                max_in_flight: 1 << 20,
                parallel_local: true,
                ..Default::default()
            },
        )?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let n = 4000;
        let bad = submit_on_seen_cpus(&shell, &rec, n, &cpus, |job, index, _| {
            // The shell's sequence numbers start at 0: job `index` has the turn of the
            // `index`-th parallel CPU in round-robin order, its submitter's CPU included.
            job.parallel_cpu = cpus[(index % cpus.len() as u64) as usize];
        })?;
        assert_eq!(bad, 0);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        // The submitter's turns too ran in a worker, once it had left `do_parallel`.
        assert_eq!(rec.inline_runs.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn limit_reached_runs_parallel_inline_with_bh_off_in_order() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new_with(
            c"kunit_limit",
            InstanceOptions {
                max_in_flight: 2,
                ..Default::default()
            },
        )?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        // Two jobs fill the limit and stay in their parallel phase.
        assert_eq!(submit(&shell, &rec, 0, 2, &cpus, Mode::Park)?, 0);
        while rec.parked_len() < 2 {
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        // The next ones run in the submitter, BHs off, and still wait for the parked ones.
        assert_eq!(submit(&shell, &rec, 2, 10, &cpus, Mode::Random)?, 0);
        // Every one of them: the two parked jobs keep the shell at its limit.
        assert_eq!(rec.inline_runs.load(Relaxed), 10);
        assert_eq!(rec.serial_runs.load(Relaxed), 0);
        // All ten are parked in the reorder list behind the first two (a few call `do_serial`
        // from a workqueue a little later).
        wait_until(|| shell.stats().reorder_pending == 10);
        assert_eq!(shell.stats().reorder_pending, 10);
        rec.release_parked();
        drop(shell);
        assert_eq!(seen(&rec), clean(12, 0));
        Ok(())
    }

    #[test]
    fn jobs_waiting_for_their_callback_cpu_do_not_count_toward_the_limit() -> Result {
        let Some(cpus) = online_at_least(3) else {
            return Ok(());
        };
        // Parallel callbacks on two CPUs (so never in the submitter below the limit), serial
        // callbacks on a third, held busy by job 0's serial callback.
        let inst = Instance::new_with(
            c"kunit_backlog",
            InstanceOptions {
                max_in_flight: 2,
                ..Default::default()
            },
        )?;
        let pmask = mask_of(&cpus[..2])?;
        inst.set_cpumask(MaskType::Parallel, &pmask)?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        rec.hold_serial.store(1, Relaxed);
        let cb = [cpus[cpus.len() - 1]];
        let n = 20;
        for i in 0..n {
            assert_eq!(submit(&shell, &rec, i, 1, &cb, Mode::Now)?, 0);
            wait_until(|| shell.stats().released == i + 1);
            assert_eq!(shell.stats().released, i + 1);
        }
        // Ten times the limit in flight, all waiting for their callback CPU: none of them was
        // run in the submitter, which only the limit does here.
        assert_eq!(shell.stats().in_flight, n);
        assert_eq!(rec.inline_runs.load(Relaxed), 0);
        rec.hold_serial.store(0, Relaxed);
        drop(shell);
        assert_eq!(seen(&rec), clean(n, 0));
        Ok(())
    }

    #[test]
    fn a_streams_serial_callbacks_stay_in_order_when_its_callback_cpu_moves() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        // The jobs ask for callback CPU `x`; while `x` is out of the serial mask they get `y`.
        // Each change of the mask moves the stream while jobs sent to the other CPU may still
        // be queued there.
        let (x, y) = (cpus[cpus.len() - 1], cpus[0]);
        let inst = Instance::new(c"kunit_move")?;
        let both = mask_of(&[x, y])?;
        let only_y = mask_of(&[y])?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let mut n = 0;
        let mut wrong_cb = 0;
        for round in 0..400 {
            let cb = if round % 2 == 0 { x } else { y };
            inst.set_cpumask(MaskType::Serial, if cb == x { &both } else { &only_y })?;
            for _ in 0..50 {
                let job = test_job(&rec, n, cb, Mode::Random, true)?;
                if shell.do_parallel(job, x as i32).ok() != Some(cb) {
                    wrong_cb += 1;
                }
                n += 1;
            }
        }
        drop(shell);
        assert_eq!(wrong_cb, 0);
        assert_eq!(seen(&rec), clean(n, 0));
        assert_eq!(rec.next.load(Relaxed), n);
        Ok(())
    }

    #[test]
    fn a_blocked_shell_does_not_stall_another() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_shells")?;
        let blocked = inst.new_shell()?;
        let free = inst.new_shell()?;
        let rec_blocked = Recorder::new()?;
        let rec = Recorder::new()?;
        assert_eq!(submit(&blocked, &rec_blocked, 0, 1, &cpus, Mode::Park)?, 0);
        assert_eq!(submit(&free, &rec, 0, 1000, &cpus, Mode::Random)?, 0);
        // Returns only when the free shell is drained, with the other still blocked.
        drop(free);
        assert_eq!(seen(&rec), clean(1000, 0));
        assert_eq!(rec_blocked.serial_runs.load(Relaxed), 0);
        while rec_blocked.parked_len() < 1 {
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        rec_blocked.release_parked();
        drop(blocked);
        assert_eq!(seen(&rec_blocked), clean(1, 0));
        Ok(())
    }

    #[test]
    fn cb_cpu_fallback_for_out_of_mask_negative_and_huge() -> Result {
        let Some(cpus) = online_at_least(4) else {
            return Ok(());
        };
        let inst = Instance::new(c"kunit_cbcpu")?;
        let smask = mask_of(&[cpus[1], cpus[3]])?;
        inst.set_cpumask(MaskType::Serial, &smask)?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let cases: [(i32, u32); 6] = [
            (cpus[3] as i32, cpus[3]),
            (cpus[0] as i32, cpus[1]),
            (cpus[2] as i32, cpus[1]),
            (-7, cpus[1]),
            (i32::MAX, cpus[3]),
            (4096, cpus[1]),
        ];
        for (i, &(asked, want)) in cases.iter().enumerate() {
            let job = test_job(&rec, i as u64, want, Mode::Random, false)?;
            assert_eq!(shell.do_parallel(job, asked).ok(), Some(want));
        }
        drop(shell);
        assert_eq!(seen(&rec), clean(cases.len() as u64, 0));
        Ok(())
    }

    #[test]
    fn seq_wraps_near_u32_max_on_three_cpus() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_wrap")?;
        let use_cpus = &cpus[..cpus.len().min(3)];
        let pmask = mask_of(use_cpus)?;
        inst.set_cpumask(MaskType::Parallel, &pmask)?;
        let shell = inst.new_shell()?;
        shell.core().set_next_seq(u32::MAX - 100);
        let rec = Recorder::new()?;
        assert_eq!(submit(&shell, &rec, 0, 1000, &cpus, Mode::Random)?, 0);
        assert_eq!(shell.stats().next_seq, 899);
        drop(shell);
        assert_eq!(seen(&rec), clean(1000, 0));
        Ok(())
    }

    #[test]
    fn set_cpumask_during_a_flood_loses_and_reorders_nothing() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        let inst = Arc::new(Instance::new(c"kunit_flood")?, GFP_KERNEL)?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let stop = Arc::new(Atomic::new(false), GFP_KERNEL)?;
        let changes = Arc::new(Atomic::new(0u64), GFP_KERNEL)?;
        let done = Arc::new(Atomic::new(false), GFP_KERNEL)?;
        let (inst2, stop2, changes2, done2) =
            (inst.clone(), stop.clone(), changes.clone(), done.clone());
        let mut all = KVec::new();
        all.extend_from_slice(&cpus, GFP_KERNEL)?;
        workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            let mut i = 0usize;
            while !stop2.load(Relaxed) {
                let a = all.get(i.checked_rem(all.len()).unwrap_or(0));
                let b = all.get((i + 1).checked_rem(all.len()).unwrap_or(0));
                if let Ok(m) = mask_of(&[a.copied().unwrap_or(0), b.copied().unwrap_or(0)]) {
                    let which = if i % 2 == 0 {
                        MaskType::Parallel
                    } else {
                        MaskType::Serial
                    };
                    if inst2.set_cpumask(which, &m).is_ok() {
                        changes2.add(1, Relaxed);
                    }
                }
                i += 1;
            }
            drop(inst2);
            done2.store(true, Release);
        })?;
        // Callback CPUs move with the serial mask, so only order and counts are checked here.
        let n = 25_000;
        let mut refused = 0;
        for index in 0..n {
            let job = test_job(&rec, index, 0, Mode::Random, false)?;
            match shell.do_parallel(job, 0) {
                Ok(_) => {}
                Err(_) => refused += 1,
            }
        }
        // However loaded the host, let the changer do at least one change before stopping it.
        wait_until(|| changes.load(Relaxed) > 0);
        stop.store(true, Release);
        drop(shell);
        assert_eq!(refused, 0);
        assert!(changes.load(Relaxed) > 0);
        assert_eq!(rec.parallel_runs.load(Relaxed), n);
        assert_eq!(rec.serial_runs.load(Relaxed), n);
        assert_eq!(rec.out_of_order.load(Relaxed), 0);
        assert_eq!(rec.bh_enabled.load(Relaxed), 0);
        // Wait for the mask changer to stop, so that the instance goes with the test.
        while !done.load(Relaxed) {
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        Ok(())
    }

    #[test]
    fn empty_mask_is_refused_and_changes_nothing() -> Result {
        let inst = Instance::new(c"kunit_empty")?;
        let before = inst.core().user_mask(MaskType::Serial)?;
        let empty = mask_of(&[])?;
        assert_eq!(inst.set_cpumask(MaskType::Serial, &empty), Err(EINVAL));
        assert_eq!(inst.set_cpumask(MaskType::Parallel, &empty), Err(EINVAL));
        let after = inst.core().user_mask(MaskType::Serial)?;
        assert_eq!(
            crate::cpumask::cpus(&before).count(),
            crate::cpumask::cpus(&after).count()
        );
        assert!(inst.is_valid());
        Ok(())
    }

    #[test]
    fn mask_without_online_cpu_makes_instance_invalid() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        let last = cpus[cpus.len() - 1];
        let inst = Instance::new(c"kunit_invalid")?;
        let shell = inst.new_shell()?;
        let only_last = mask_of(&[last])?;
        inst.set_cpumask(MaskType::Parallel, &only_last)?;
        let rec = Recorder::new()?;
        let job = test_job(&rec, 0, cpus[0], Mode::Random, false)?;
        // The hotplug callback makes the instance invalid while the CPU is away.
        sys::test_remove_cpu(last)?;
        let valid_offline = inst.is_valid();
        let submitted = shell.do_parallel(job, cpus[0] as i32);
        sys::test_add_cpu(last)?;
        let valid_online = inst.is_valid();
        assert!(!valid_offline);
        assert!(valid_online);
        let (err, job) = match submitted {
            Err(e) => e,
            Ok(_) => return Err(EINVAL),
        };
        assert_eq!(err, EINVAL);
        assert_eq!(job.index, 0);
        assert!(shell.do_parallel(job, cpus[0] as i32).is_ok());
        drop(shell);
        assert_eq!(seen(&rec), clean(1, 0));
        Ok(())
    }

    #[test]
    fn offline_shrinks_usable_masks_and_online_restores_them() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        let last = CpuId::from_u32(cpus[cpus.len() - 1]).ok_or(EINVAL)?;
        let inst = Instance::new(c"kunit_hp_masks")?;
        sys::test_remove_cpu(last.as_u32())?;
        let par_off = inst.core().usable_mask(MaskType::Parallel)?;
        let ser_off = inst.core().usable_mask(MaskType::Serial)?;
        let user_off = inst.core().user_mask(MaskType::Parallel)?;
        sys::test_add_cpu(last.as_u32())?;
        let par_on = inst.core().usable_mask(MaskType::Parallel)?;
        let ser_on = inst.core().usable_mask(MaskType::Serial)?;
        assert!(!par_off.test(last));
        assert!(!ser_off.test(last));
        // The user mask is what the user asked for, whatever is online.
        assert!(user_off.test(last));
        assert!(par_on.test(last));
        assert!(ser_on.test(last));
        assert!(inst.is_valid());
        Ok(())
    }

    /// A background loop that takes CPUs other than the first online one down and up again,
    /// counting the cycles, until stopped.
    struct CpuCycler {
        stop: Arc<Atomic<bool>>,
        done: Arc<Atomic<bool>>,
        cycles: Arc<Atomic<u64>>,
    }

    impl CpuCycler {
        fn start(cpus: &[u32]) -> Result<Self> {
            let this = Self {
                stop: Arc::new(Atomic::new(false), GFP_KERNEL)?,
                done: Arc::new(Atomic::new(false), GFP_KERNEL)?,
                cycles: Arc::new(Atomic::new(0u64), GFP_KERNEL)?,
            };
            let (stop, done, cycles) = (this.stop.clone(), this.done.clone(), this.cycles.clone());
            let mut others = KVec::new();
            others.extend_from_slice(&cpus[1..], GFP_KERNEL)?;
            workqueue::system_long().try_spawn(GFP_KERNEL, move || {
                let mut i = 0usize;
                while !stop.load(Relaxed) {
                    let cpu = others.get(i % others.len().max(1)).copied().unwrap_or(0);
                    if sys::test_remove_cpu(cpu).is_ok() {
                        let _ = sys::test_add_cpu(cpu);
                        cycles.add(1, Relaxed);
                    }
                    i += 1;
                }
                done.store(true, Release);
            })?;
            Ok(this)
        }

        /// Offline/online cycles completed so far.
        fn cycles(&self) -> u64 {
            self.cycles.load(Relaxed)
        }

        /// Stops the loop and waits for it to return; returns the cycles completed.
        fn stop(self) -> u64 {
            self.stop.store(true, Release);
            while !self.done.load(Relaxed) {
                kernel::time::delay::fsleep(Delta::from_millis(1));
            }
            self.cycles()
        }
    }

    #[test]
    fn jobs_stay_ordered_and_exactly_once_while_cpus_go_and_come() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        let inst = Instance::new(c"kunit_hp_flow")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let cycler = CpuCycler::start(&cpus)?;
        // Callback CPU 0 stays online: the global order of serial callbacks is checked.
        let n = 20_000;
        let refused = submit(&shell, &rec, 0, n, &cpus[..1], Mode::Random)?;
        wait_until(|| cycler.cycles() > 0);
        let cycles = cycler.stop();
        drop(shell);
        assert_eq!(refused, 0);
        assert!(cycles > 0);
        assert_eq!(rec.parallel_runs.load(Relaxed), n);
        assert_eq!(rec.serial_runs.load(Relaxed), n);
        assert_eq!(rec.next.load(Relaxed), n);
        assert_eq!(rec.out_of_order.load(Relaxed), 0);
        assert_eq!(rec.bh_enabled.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn softirq_serial_queue_of_an_offline_cpu_runs_elsewhere_in_order() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        // Jobs whose callback CPU goes offline while they are in their parallel phase: released
        // afterwards, their BH work cannot be raised there and must run on an online CPU, still in
        // order (one work item per serial queue).
        let inst = Instance::new_with(c"kunit_bh_off", softirq_options())?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let x = cpus[cpus.len() - 1];
        let n = 200;
        let refused = submit(&shell, &rec, 0, n, &[x], Mode::Park)?;
        wait_until(|| rec.parked_len() == n as usize);
        // No early return until the parked jobs are released: the shell would wait for them.
        let removed = sys::test_remove_cpu(x);
        // Last parked first: the order is restored by the reorder list.
        rec.release_parked();
        wait_until(|| rec.serial_runs.load(Relaxed) == n);
        let back = if removed.is_ok() {
            sys::test_add_cpu(x)
        } else {
            Ok(())
        };
        drop(shell);
        assert_eq!(refused, 0);
        assert_eq!(removed, Ok(()));
        assert_eq!(back, Ok(()));
        assert_eq!(rec.serial_runs.load(Relaxed), n);
        assert_eq!(rec.next.load(Relaxed), n);
        assert_eq!(rec.out_of_order.load(Relaxed), 0);
        assert_eq!(rec.serial_in_softirq.load(Relaxed), n);
        // Every callback ran away from its (offline) callback CPU.
        assert_eq!(rec.wrong_cb_cpu.load(Relaxed), n);
        assert_eq!(rec.bh_enabled.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn softirq_serial_jobs_of_cpus_going_offline_run_exactly_once() -> Result {
        let Some(cpus) = online_at_least(2) else {
            return Ok(());
        };
        // Serial queues of CPUs that go offline must move their BH work to an online CPU (an
        // `irq_work` cannot reach an offline one); none of their jobs may be lost. Which CPU runs a
        // callback whose CPU went offline is not fixed, so only exactly-once is checked here.
        let inst = Instance::new_with(c"kunit_bh_hp", softirq_options())?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        let cycler = CpuCycler::start(&cpus)?;
        let n = 20_000;
        let mut refused = 0;
        let mut index = 0;
        // At least one full offline/online cycle while jobs flow to every CPU (bounded, in case
        // CPUs cannot be taken down: asserted below).
        while index < n || (cycler.cycles() == 0 && index < 50 * n) {
            let cb_cpu = cpus[(index % cpus.len() as u64) as usize];
            let job = test_job(&rec, index, cb_cpu, Mode::Random, false)?;
            if shell.do_parallel(job, cb_cpu as i32).is_err() {
                refused += 1;
            }
            index += 1;
        }
        let cycles = cycler.stop();
        drop(shell);
        assert_eq!(refused, 0);
        assert!(cycles > 0);
        assert_eq!(rec.parallel_runs.load(Relaxed), index);
        assert_eq!(rec.serial_runs.load(Relaxed), index);
        assert_eq!(rec.serial_in_softirq.load(Relaxed), index);
        assert_eq!(rec.bh_enabled.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn free_sleeps_until_jobs_in_flight_are_serialized() -> Result {
        let cpus = online_cpus();
        let inst = Instance::new(c"kunit_free")?;
        let shell = inst.new_shell()?;
        let rec = Recorder::new()?;
        assert_eq!(submit(&shell, &rec, 0, 50, &cpus, Mode::Park)?, 0);
        while rec.parked_len() < 50 {
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        let rec2 = rec.clone();
        workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            kernel::time::delay::fsleep(Delta::from_millis(50));
            rec2.release_parked();
        })?;
        drop(shell);
        // Dropping the shell returned only after every serial callback.
        assert_eq!(seen(&rec), clean(50, 0));
        drop(inst);
        Ok(())
    }

    #[test]
    fn shell_outliving_its_instance_refuses_jobs() -> Result {
        let inst = Instance::new(c"kunit_orphan")?;
        let shell = inst.new_shell()?;
        drop(inst);
        let rec = Recorder::new()?;
        let job = test_job(&rec, 0, 0, Mode::Random, false)?;
        assert_eq!(
            shell.do_parallel(job, 0).err().map(|(e, _)| e),
            Some(EINVAL)
        );
        assert_eq!(rec.parallel_runs.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn instance_names_are_checked_and_unique() -> Result {
        let a = Instance::new(c"kunit_dup")?;
        assert_eq!(Instance::new(c"kunit_dup").err(), Some(EEXIST));
        assert_eq!(Instance::new(c"").err(), Some(EINVAL));
        assert_eq!(Instance::new(c"a/b").err(), Some(EINVAL));
        assert_eq!(Instance::new(c".hidden").err(), Some(EINVAL));
        assert_eq!(
            Instance::new(c"name_longer_than_22_chars").err(),
            Some(EINVAL)
        );
        assert_eq!(
            Instance::new_with(
                c"kunit_lim0",
                InstanceOptions {
                    max_in_flight: 0,
                    ..Default::default()
                }
            )
            .err(),
            Some(EINVAL)
        );
        drop(a);
        // The name is free again once the instance is gone.
        let b = Instance::new(c"kunit_dup")?;
        assert_eq!(b.name(), c"kunit_dup");
        Ok(())
    }

    #[test]
    fn a_name_stays_taken_until_its_instance_is_gone() -> Result {
        // A worker allocates and frees `kunit_reuse` over and over while this thread does the
        // same: each allocation gets the name or finds it taken, never the sysfs directory of an
        // instance still being freed (which failed, with a duplicate-filename warning).
        let stop = Arc::new(Atomic::new(false), GFP_KERNEL)?;
        let done = Arc::new(Atomic::new(false), GFP_KERNEL)?;
        let failed = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let (stop2, done2, failed2) = (stop.clone(), done.clone(), failed.clone());
        let churn = |failed: &Atomic<u32>| match Instance::new(c"kunit_reuse") {
            Ok(inst) => drop(inst),
            Err(e) if e == EEXIST => {}
            Err(_) => failed.add(1, Relaxed),
        };
        workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            while !stop2.load(Relaxed) {
                churn(&failed2);
            }
            done2.store(true, Release);
        })?;
        for _ in 0..200 {
            churn(&failed);
        }
        stop.store(true, Relaxed);
        wait_until(|| done.load(Acquire));
        assert_eq!(failed.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn hotplug_node_added_twice_is_ebusy() -> Result {
        // A second add would link the node into the state's list twice.
        let inst = Instance::new(c"kunit_node")?;
        assert_eq!(inst.core().hotplug_node().add(), Err(EBUSY));
        // The instance still follows hotplug and frees cleanly.
        assert!(inst.is_valid());
        Ok(())
    }

    #[test]
    fn a_c_layout_that_differs_is_refused() {
        assert_eq!(crate::job::check_layout(&crate::job::LAYOUT), Ok(()));
        for i in 0..crate::job::LAYOUT.len() {
            let mut c = crate::job::LAYOUT;
            c[i] += 8;
            assert_eq!(crate::job::check_layout(&c), Err(EINVAL));
        }
    }
}
