// SPDX-License-Identifier: GPL-2.0

//! Multithreaded jobs: a range split into chunks, run by the caller and workqueue helpers.
//!
//! Replaces `padata_do_multithreaded()` of kernel/padata.c, which is `__init`-only in 7.2 and whose
//! thread function cannot fail. Here a job can run at any time from any module, and:
//!
//! - the thread function returns a `Result`; the first error stops handing out chunks and is
//!   returned once every running chunk has finished;
//! - a [`Cancel`] token, or a fatal signal to the caller, stops handing out chunks;
//! - [`run_reduce`] gives each thread its own accumulator and combines them at the end (map-reduce
//!   without shared atomics);
//! - no lock is taken per chunk (a compare-and-exchange on the cursor) nor per job (helpers are
//!   allocated per job, not taken from a locked pool), and nested jobs cannot deadlock: the caller
//!   waits only for helpers that actually started, never for queued ones.
//!
//! # Chunking rule
//!
//! As in C padata, with its two bugs fixed (`min_chunk` 0 divided by zero; the fix then ignored
//! `align`): `threads = clamp(size / max(min_chunk, align), 1, max_threads)`; with one thread the
//! caller runs the whole range at once. Otherwise `chunk = size / (threads × 4)`, at least
//! `min_chunk`, at least 1, rounded up to `align` (a power of two; 0 means 1). Chunk boundaries are
//! multiples of `align`, except the job's own start and end.

use crate::{
    inflight::InFlight,
    sys,
    types::MtParams, //
};
use kernel::{
    impl_has_work,
    new_spinlock,
    new_work,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        Arc,
        SpinLock, //
    },
    workqueue::{
        Work,
        WorkItem, //
    }, //
};

/// `ECANCELED`, which `kernel::error::code` does not name in 7.2.
pub(crate) fn ecanceled() -> Error {
    Error::from_errno(-(kernel::bindings::ECANCELED as i32))
}

/// Load-balance factor: chunks per thread (as in C padata).
const LOAD_BALANCE: usize = 4;

impl MtParams {
    /// Whether a valid, non-empty job runs in one piece on the caller: one thread, because
    /// `size / unit < 2` (written without a division) or `max_threads == 1`. `unit` is
    /// `max(min_chunk, align)` with the effective alignment.
    fn is_one_piece(&self, unit: usize) -> bool {
        self.size / 2 < unit || self.max_threads == 1
    }
}

/// A cancellation token: set it from anywhere to stop a job handing out chunks.
pub struct Cancel(Atomic<bool>);

impl Cancel {
    /// A token that is not cancelled.
    pub const fn new() -> Self {
        Self(Atomic::new(false))
    }

    /// Cancels the jobs watching this token; they return `ECANCELED`.
    pub fn cancel(&self) {
        self.0.store(true, kernel::sync::atomic::Release);
    }

    fn is_cancelled(&self) -> bool {
        self.0.load(Relaxed)
    }
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

/// How a job's range is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) chunk: usize,
    first_end: usize,
    pub(crate) threads: u32,
}

/// Rounds `x` up to the power of two `align`; `None` on overflow.
fn align_up(x: usize, align: usize) -> Option<usize> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

impl Plan {
    /// Validates `p` and splits it; `Ok(None)` for an empty job.
    pub(crate) fn new(p: &MtParams) -> Result<Option<Self>> {
        let align = p.align.max(1);
        if p.max_threads < 1 || !align.is_power_of_two() {
            return Err(EINVAL);
        }
        let end = p.start.checked_add(p.size).ok_or(EINVAL)?;
        if p.size == 0 {
            return Ok(None);
        }
        let unit = p.min_chunk.max(align);
        if p.is_one_piece(unit) {
            // One thread: no division on the path of small jobs, which run inline.
            return Ok(Some(Self {
                start: p.start,
                end,
                chunk: p.size,
                first_end: end,
                threads: 1,
            }));
        }
        let threads = (p.size / unit).clamp(1, p.max_threads as usize);
        let chunk = (p.size / (threads * LOAD_BALANCE)).max(p.min_chunk).max(1);
        // Rounded up to `align`; a chunk too large to round is the whole job anyway.
        let chunk = align_up(chunk, align)
            .unwrap_or(usize::MAX & !(align - 1))
            .max(align);
        let first_end = p
            .start
            .checked_add(chunk)
            .and_then(|e| align_up(e, align))
            .map_or(end, |e| e.min(end));
        Ok(Some(Self {
            start: p.start,
            end,
            chunk,
            first_end,
            // `threads <= max_threads`, a `u32`.
            threads: threads as u32,
        }))
    }

    /// The end of the chunk that starts at `s` (a chunk boundary below `end`).
    pub(crate) fn chunk_end(&self, s: usize) -> usize {
        if s == self.start {
            self.first_end
        } else {
            s.checked_add(self.chunk)
                .map_or(self.end, |e| e.min(self.end))
        }
    }
}

/// A helper's entry into the caller's typed context; see [`Shared`].
type HelperFn = unsafe fn(*const (), &Shared);

/// The state shared by a job's caller and its helpers; helpers hold it by `Arc`, so one that
/// starts after the job ended finds a closed gate and an intact structure.
///
/// # Invariants
///
/// `ctx` points to the caller's typed context and `helper` is the function for its type. Both may
/// be used only by a user that entered `gate`: the caller closes the gate and waits for those users
/// before the context goes out of scope.
#[pin_data]
struct Shared {
    plan: Plan,
    cursor: Atomic<usize>,
    stop: Atomic<bool>,
    error: Atomic<i32>,
    #[pin]
    gate: InFlight,
    ctx: *const (),
    helper: HelperFn,
}

// SAFETY: `ctx` is only dereferenced by users of the gate (type invariant), on behalf of a caller
// whose context is `Sync` (required by `run_reduce`); the rest is atomics.
unsafe impl Send for Shared {}

// SAFETY: As for `Send`.
unsafe impl Sync for Shared {}

impl Shared {
    /// Claims the next chunk, unless the job is done or stopping.
    fn claim(&self) -> Option<(usize, usize)> {
        loop {
            if self.stop.load(Relaxed) {
                return None;
            }
            let s = self.cursor.load(Relaxed);
            if s >= self.plan.end {
                return None;
            }
            let e = self.plan.chunk_end(s);
            if self.cursor.cmpxchg(s, e, Relaxed).is_ok() {
                return Some((s, e));
            }
        }
    }

    /// Records the first error and stops handing out chunks.
    fn fail(&self, e: Error) {
        let _ = self.error.cmpxchg(0, e.to_errno(), Full);
        self.stop.store(true, kernel::sync::atomic::Release);
    }
}

/// The caller's typed context: the closures and the helpers' accumulators.
struct Ctx<'a, A, I, F> {
    init: &'a I,
    f: &'a F,
    cancel: Option<&'a Cancel>,
    /// Accumulators of helpers that finished; capacity for every helper, reserved up front.
    done: Pin<KBox<SpinLock<KVec<A>>>>,
}

/// Runs chunks until there are none left, the job stops, or `f` fails.
fn work<A, I, F>(sh: &Shared, ctx: &Ctx<'_, A, I, F>, acc: &mut A, caller: bool)
where
    F: Fn(&mut A, usize, usize) -> Result,
{
    while let Some((s, e)) = sh.claim() {
        if ctx.cancel.is_some_and(Cancel::is_cancelled) {
            sh.fail(ecanceled());
            break;
        }
        if caller && sys::fatal_signal_pending() {
            sh.fail(EINTR);
            break;
        }
        if let Err(err) = (ctx.f)(acc, s, e) {
            sh.fail(err);
            break;
        }
    }
}

/// A helper's body, for the caller's context type.
///
/// # Safety
///
/// `ctx` must be the `Ctx<A, I, F>` of `sh`, and the caller must have entered `sh.gate`.
unsafe fn helper<A, I, F>(ctx: *const (), sh: &Shared)
where
    A: Send,
    I: Fn() -> A + Sync,
    F: Fn(&mut A, usize, usize) -> Result + Sync,
{
    // SAFETY: Per the safety requirements, `ctx` is a live `Ctx<A, I, F>` (the job's caller waits
    // for us before it goes).
    let ctx = unsafe { &*ctx.cast::<Ctx<'_, A, I, F>>() };
    let mut acc = (ctx.init)();
    work(sh, ctx, &mut acc, false);
    // Capacity was reserved for every helper; if this one somehow does not fit, its result is
    // lost, so the job must fail rather than return a wrong reduction.
    if ctx.done.lock().push_within_capacity(acc).is_err() {
        sh.fail(ENOMEM);
    }
}

/// A queued helper.
#[pin_data]
struct Helper {
    shared: Arc<Shared>,
    #[pin]
    work: Work<Helper>,
}

impl_has_work! {
    impl HasWork<Self> for Helper { self.work }
}

impl WorkItem for Helper {
    type Pointer = Pin<KBox<Helper>>;

    fn run(this: Pin<KBox<Helper>>) {
        let sh = &this.shared;
        if sh.gate.enter().is_some() {
            // SAFETY: We entered the gate; `ctx` and `helper` belong together (type invariant).
            unsafe { (sh.helper)(sh.ctx, sh) };
            sh.gate.exit();
        }
    }
}

/// Closes the gate and waits for helpers inside it, on every way out of `run_reduce`.
struct WaitHelpers<'a>(&'a Shared);

impl Drop for WaitHelpers<'_> {
    fn drop(&mut self) {
        self.0.gate.close_and_wait();
    }
}

/// Runs a multithreaded job with a per-thread accumulator.
///
/// Each thread starts from `init()`, calls `f(&mut acc, start, end)` for the chunks it claims, and
/// the accumulators are combined with `combine` once every thread is done. Returns the first error
/// of `f`, `ECANCELED` if `cancel` was set, `EINTR` on a fatal signal to the caller, `EINVAL` for
/// bad parameters (before any work). An empty job returns `init()` without calling `f`.
pub fn run_reduce<A, I, F, C>(
    p: &MtParams,
    cancel: Option<&Cancel>,
    init: I,
    f: F,
    combine: C,
) -> Result<A>
where
    A: Send,
    I: Fn() -> A + Sync,
    F: Fn(&mut A, usize, usize) -> Result + Sync,
    C: Fn(A, A) -> A,
{
    let Some(plan) = Plan::new(p)? else {
        return Ok(init());
    };
    let mut acc = init();
    if plan.threads == 1 {
        // One thread: the caller runs the whole range at once, no workqueue traffic.
        if cancel.is_some_and(Cancel::is_cancelled) {
            return Err(ecanceled());
        }
        f(&mut acc, plan.start, plan.end)?;
        return Ok(acc);
    }
    run_threads(p.numa_aware, plan, cancel, &init, &f, combine, acc)
}

/// The node that received the last NUMA-aware helper, of any job (`last_used_nid` in C padata).
static LAST_NODE: Atomic<c_int> = Atomic::new(0);

/// The NUMA node for the next NUMA-aware helper: the nodes with CPUs, round-robin.
fn next_node() -> c_int {
    let mut old = LAST_NODE.load(Relaxed);
    loop {
        let next = sys::next_node_with_cpus(old);
        match LAST_NODE.cmpxchg(old, next, Relaxed) {
            Ok(_) => return next,
            Err(cur) => old = cur,
        }
    }
}

/// The part of [`run_reduce`] for more than one thread, out of line: the one-thread path (small
/// jobs) stays short.
#[inline(never)]
fn run_threads<A, I, F, C>(
    numa_aware: bool,
    plan: Plan,
    cancel: Option<&Cancel>,
    init: &I,
    f: &F,
    combine: C,
    mut acc: A,
) -> Result<A>
where
    A: Send,
    I: Fn() -> A + Sync,
    F: Fn(&mut A, usize, usize) -> Result + Sync,
    C: Fn(A, A) -> A,
{
    let helpers = plan.threads as usize - 1;
    let ctx = Ctx {
        init,
        f,
        cancel,
        done: KBox::pin_init(
            new_spinlock!(KVec::with_capacity(helpers, GFP_KERNEL)?, "rpadata_mt_done"),
            GFP_KERNEL,
        )?,
    };
    let ctx_ptr = core::ptr::from_ref(&ctx).cast::<()>();
    let shared = Arc::pin_init(
        // INVARIANT: `ctx` is a `Ctx<A, I, F>` and the helper function is the one for that type;
        // `WaitHelpers` below closes the gate before `ctx` goes out of scope.
        pin_init!(Shared {
            plan,
            cursor: Atomic::new(plan.start),
            stop: Atomic::new(false),
            error: Atomic::new(0),
            gate <- InFlight::new(),
            ctx: ctx_ptr,
            helper: helper::<A, I, F>,
        }),
        GFP_KERNEL,
    )?;
    let wait = WaitHelpers(&shared);
    let mut cpus = sys::HelperCpus::new();
    for _ in 0..helpers {
        let mine = shared.clone();
        let Ok(h) = KBox::pin_init(
            pin_init!(Helper {
                shared: mine,
                work <- new_work!("rpadata_mt_helper"),
            }),
            GFP_KERNEL,
        ) else {
            // Fewer helpers: the caller does more of the work.
            break;
        };
        let node = if numa_aware {
            next_node()
        } else {
            sys::NUMA_NO_NODE
        };
        sys::enqueue_unbound(h, node, &mut cpus);
    }

    // The caller participates, which saves starting a worker.
    work(&shared, &ctx, &mut acc, true);
    drop(wait);

    let err = shared.error.load(Relaxed);
    if err != 0 {
        return Err(Error::from_errno(err));
    }
    let mut done = ctx.done.lock();
    for a in done.drain_all() {
        acc = combine(acc, a);
    }
    Ok(acc)
}

/// Runs a multithreaded job: `f(start, end)` over every chunk of `p`.
///
/// See [`run_reduce`] for errors and cancellation.
pub fn run<F>(p: &MtParams, cancel: Option<&Cancel>, f: F) -> Result
where
    F: Fn(usize, usize) -> Result + Sync,
{
    run_reduce(p, cancel, || (), |(), s, e| f(s, e), |(), ()| ())
}

#[cfg(rpadata_kunit)]
#[kunit_tests(rpadata_mt)]
mod tests {
    use super::*;
    use crate::sys;
    use kernel::time::{
        delay::udelay,
        Delta, //
    };

    fn params(start: usize, size: usize, align: usize, min_chunk: usize, threads: u32) -> MtParams {
        MtParams {
            start,
            size,
            align,
            min_chunk,
            max_threads: threads,
            numa_aware: false,
        }
    }

    /// Runs `p`, counting how often each index is covered and whether every chunk boundary is
    /// aligned (but for the job's own start and end).
    fn coverage(p: &MtParams) -> Result<(KVec<u32>, usize)> {
        let mut seen = KVec::new();
        for _ in 0..p.size {
            seen.push(Atomic::new(0u32), GFP_KERNEL)?;
        }
        let misaligned = Atomic::new(0usize);
        let align = p.align.max(1);
        let end = p.start.wrapping_add(p.size);
        let mask = align - 1;
        run(p, None, |s, e| {
            if (s != p.start && s & mask != 0) || (e != end && e & mask != 0) || s >= e {
                misaligned.add(1, Relaxed);
            }
            for i in s..e {
                if let Some(c) = seen.get(i.wrapping_sub(p.start)) {
                    c.add(1, Relaxed);
                }
            }
            Ok(())
        })?;
        let mut counts = KVec::new();
        for c in seen.iter() {
            counts.push(c.load(Relaxed), GFP_KERNEL)?;
        }
        Ok((counts, misaligned.load(Relaxed)))
    }

    #[test]
    fn every_index_exactly_once_and_boundaries_aligned() -> Result {
        let mut jobs = 0;
        for &size in &[1usize, 2, 3, 7, 64, 1000, 4099] {
            for &align in &[0usize, 1, 2, 8, 64] {
                for &min_chunk in &[0usize, 1, 3, 100] {
                    for &threads in &[1u32, 2, 3, 4, 8] {
                        for &start in &[0usize, 5, 4096] {
                            let p = params(start, size, align, min_chunk, threads);
                            let (counts, misaligned) = coverage(&p)?;
                            assert!(counts.iter().all(|&c| c == 1));
                            assert_eq!(misaligned, 0);
                            jobs += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(jobs, 7 * 5 * 4 * 5 * 3);
        Ok(())
    }

    #[test]
    fn chunking_rule_and_input_errors() -> Result {
        // min_chunk 0 (a divide by zero in C padata once) still gives chunks of at least 1.
        let p = Plan::new(&params(0, 10, 0, 0, 4))?.ok_or(EINVAL)?;
        assert_eq!((p.threads, p.chunk), (4, 1));
        // align honoured after min_chunk (the fix for the above once ignored it).
        let p = Plan::new(&params(0, 1000, 64, 0, 4))?.ok_or(EINVAL)?;
        assert_eq!((p.threads, p.chunk), (4, 64));
        let p = Plan::new(&params(0, 100_000, 1, 10, 4))?.ok_or(EINVAL)?;
        assert_eq!((p.threads, p.chunk), (4, 6250));
        // size < min_chunk: one thread, the whole range.
        let p = Plan::new(&params(3, 10, 1, 100, 4))?.ok_or(EINVAL)?;
        assert_eq!((p.threads, p.chunk_end(3)), (1, 13));
        assert_eq!(Plan::new(&params(0, 0, 1, 1, 4)), Ok(None));
        assert_eq!(Plan::new(&params(0, 10, 1, 1, 0)), Err(EINVAL));
        assert_eq!(Plan::new(&params(0, 10, 3, 1, 4)), Err(EINVAL));
        assert_eq!(Plan::new(&params(usize::MAX - 5, 6, 1, 1, 4)), Err(EINVAL));
        let called = Atomic::new(0usize);
        let r = run(&params(usize::MAX, 2, 1, 1, 4), None, |_, _| {
            called.add(1, Relaxed);
            Ok(())
        });
        assert_eq!(r, Err(EINVAL));
        assert!(run(&params(7, 0, 1, 1, 4), None, |_, _| {
            called.add(1, Relaxed);
            Ok(())
        })
        .is_ok());
        assert_eq!(called.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn sizes_near_usize_max_are_covered_without_overflow() -> Result {
        for &(start, size, align, min_chunk) in &[
            (usize::MAX - 1000, 1000, 1, 1),
            (usize::MAX - 1000, 1000, 64, 3),
            (0, usize::MAX, 1 << 20, 1 << 58),
            (1, usize::MAX - 1, 1 << 40, 0),
            (usize::MAX / 2, usize::MAX / 2, 1 << 12, 1 << 50),
        ] {
            let p = params(start, size, align, min_chunk, 4);
            let bad = Atomic::new(0usize);
            let total = run_reduce(
                &p,
                None,
                || 0usize,
                |acc, s, e| {
                    let mask = align - 1;
                    if s >= e
                        || (s != start && s & mask != 0)
                        || (e != start.wrapping_add(size) && e & mask != 0)
                    {
                        bad.add(1, Relaxed);
                    }
                    *acc = acc.wrapping_add(e.wrapping_sub(s));
                    Ok(())
                },
                usize::wrapping_add,
            )?;
            assert_eq!(total, size);
            assert_eq!(bad.load(Relaxed), 0);
        }
        Ok(())
    }

    #[test]
    fn size_below_min_chunk_runs_once_in_the_caller() -> Result {
        let calls = Atomic::new(0usize);
        let in_worker = Atomic::new(false);
        let range = Atomic::new(0usize);
        run(&params(10, 50, 1, 100, 4), None, |s, e| {
            calls.add(1, Relaxed);
            if sys::in_workqueue_worker() {
                in_worker.store(true, Relaxed);
            }
            range.store(s * 1000 + e, Relaxed);
            Ok(())
        })?;
        assert_eq!(calls.load(Relaxed), 1);
        assert_eq!(range.load(Relaxed), 10 * 1000 + 60);
        assert!(!in_worker.load(Relaxed));
        Ok(())
    }

    #[test]
    fn first_error_stops_handing_out_chunks_and_is_returned() -> Result {
        let chunks = Atomic::new(0usize);
        // 64 threads, so 256 chunks: far more than the CPUs can run while the failing thread
        // is between its error and recording it (a vCPU can stall there for milliseconds).
        let p = params(0, 1 << 20, 1, 1 << 10, 64);
        let total = Plan::new(&p)?.ok_or(EINVAL)?;
        // The first chunk to start fails at once (whichever thread claimed it: a thread that claims
        // chunk 0 and is then descheduled must not make the test depend on timing).
        let r = run(&p, None, |_, _| {
            if chunks.fetch_add(1, Relaxed) == 0 {
                return Err(EIO);
            }
            udelay(Delta::from_micros(50));
            Ok(())
        });
        pr_info!(
            "first_error_stops_handing_out_chunks_and_is_returned: r={:?} chunks={}\n",
            r,
            chunks.load(Relaxed)
        );
        assert_eq!(r, Err(EIO));
        let n_chunks = p.size / total.chunk;
        // Threads already in a chunk finish it; no new chunk is handed out after the error.
        assert!(chunks.load(Relaxed) < n_chunks);
        Ok(())
    }

    #[test]
    fn cancel_token_stops_the_job() -> Result {
        let cancel = Cancel::new();
        let chunks = Atomic::new(0usize);
        let r = run(&params(0, 1 << 20, 1, 1 << 10, 4), Some(&cancel), |_, _| {
            match chunks.fetch_add(1, Relaxed) {
                2 => cancel.cancel(),
                // Later chunks wait (up to 1 s) for the cancellation, so a vCPU stalled between
                // claiming chunk 2 and cancelling cannot let the other threads run the job out.
                3.. => {
                    for _ in 0..1000 {
                        if cancel.is_cancelled() {
                            break;
                        }
                        udelay(Delta::from_micros(1000));
                    }
                }
                _ => udelay(Delta::from_micros(50)),
            }
            Ok(())
        });
        // Logged, because a KUnit assertion does not print the values it compares.
        pr_info!(
            "cancel_token_stops_the_job: r={:?} chunks={}\n",
            r,
            chunks.load(Relaxed)
        );
        assert_eq!(r, Err(ecanceled()));
        // Chunks 0-2, plus at most one chunk per thread claimed before the cancellation.
        assert!(chunks.load(Relaxed) <= 3 + 4);
        // A cancelled token refuses even a one-thread job.
        assert_eq!(
            run(&params(0, 5, 1, 100, 4), Some(&cancel), |_, _| Ok(())),
            Err(ecanceled())
        );
        Ok(())
    }

    #[test]
    fn reduction_equals_the_serial_result() -> Result {
        let n = 1_000_000usize;
        let serial = (0..n).fold(0usize, |a, i| a.wrapping_add(i.wrapping_mul(i) ^ (i >> 3)));
        for threads in [1u32, 2, 4, 7] {
            let got = run_reduce(
                &params(0, n, 8, 1000, threads),
                None,
                || 0usize,
                |acc, s, e| {
                    for i in s..e {
                        *acc = acc.wrapping_add(i.wrapping_mul(i) ^ (i >> 3));
                    }
                    Ok(())
                },
                usize::wrapping_add,
            )?;
            assert_eq!(got, serial);
        }
        Ok(())
    }

    #[test]
    fn nested_jobs_do_not_deadlock() -> Result {
        let inner_total = run_reduce(
            &params(0, 16, 1, 1, 4),
            None,
            || 0usize,
            |acc, s, e| {
                for _ in s..e {
                    *acc += run_reduce(
                        &params(0, 10_000, 1, 100, 4),
                        None,
                        || 0usize,
                        |a, s2, e2| {
                            *a += e2 - s2;
                            Ok(())
                        },
                        |a, b| a + b,
                    )?;
                }
                Ok(())
            },
            |a, b| a + b,
        )?;
        assert_eq!(inner_total, 16 * 10_000);
        Ok(())
    }

    /// The CPUs the helpers of a job started from `here` go to, one per step.
    fn helper_cpus(node: i32, here: u32, steps: usize) -> Result<KVec<u32>> {
        let mut v = KVec::with_capacity(steps, GFP_KERNEL)?;
        let mut cursor = -1;
        for _ in 0..steps {
            let cpu = sys::helper_cpu(node, cursor, here);
            v.push(cpu, GFP_KERNEL)?;
            cursor = cpu as i32;
        }
        Ok(v)
    }

    /// Checks that helpers started from each online CPU go to every other online CPU in turn.
    fn check_helper_cycle() -> Result {
        let online = crate::cpumask::online_cpus();
        let n = online.len();
        for (i, &here) in online.iter().enumerate() {
            let got = helper_cpus(sys::NUMA_NO_NODE, here, 2 * n)?;
            for (k, &cpu) in got.iter().enumerate() {
                // The online CPUs after `here` in increasing order, wrapping, `here` left out
                // (but for a lone CPU); then the same cycle again.
                let want = if n == 1 {
                    here
                } else {
                    online[(i + 1 + k % (n - 1)) % n]
                };
                assert_eq!(cpu, want);
            }
        }
        Ok(())
    }

    #[test]
    fn helpers_start_on_the_other_online_cpus_in_turn() -> Result {
        check_helper_cycle()?;
        // An invalid node means any online CPU, as `NUMA_NO_NODE` does.
        let online = crate::cpumask::online_cpus();
        let (&here, &last) = online.first().zip(online.last()).ok_or(EINVAL)?;
        let any = helper_cpus(sys::NUMA_NO_NODE, here, 4)?;
        assert_eq!(helper_cpus(1 << 20, here, 4)?, any);
        // An offline CPU gets no helper.
        if last != 0 && sys::test_remove_cpu(last).is_ok() {
            let r = check_helper_cycle();
            sys::test_add_cpu(last)?;
            r?;
        }
        // With two nodes (a `make check` boot), each node's helpers stay on its own CPUs: the
        // CPUs picked for node 0 and node 1 are disjoint.
        if sys::nodes_with_cpus() >= 2 {
            let a = helper_cpus(0, here, online.len())?;
            let b = helper_cpus(1, here, online.len())?;
            assert!(a.iter().all(|c| !b.contains(c)));
        }
        Ok(())
    }

    #[test]
    fn numa_aware_spreads_helpers_over_nodes() -> Result {
        let nodes = Atomic::new(0u64);
        let calls = Atomic::new(0usize);
        let want = sys::nodes_with_cpus().min(2);
        let mut p = params(0, 64, 1, 1, 4);
        p.numa_aware = true;
        run(&p, None, |_, _| {
            let n = sys::numa_node_id();
            if (0..64).contains(&n) {
                let mut cur = nodes.load(Relaxed);
                while let Err(c) = nodes.cmpxchg(cur, cur | (1 << n), Relaxed) {
                    cur = c;
                }
            }
            // Every chunk holds its thread (up to 2 s) until chunks have run on enough nodes:
            // the threads that start first cannot take all the work before a helper queued on
            // the other node has been scheduled (creating a worker there can take milliseconds
            // under TCG), so each helper that starts finds a chunk to run.
            calls.fetch_add(1, Relaxed);
            for _ in 0..2000 {
                if nodes.load(Relaxed).count_ones() >= want {
                    break;
                }
                udelay(Delta::from_micros(1000));
            }
            Ok(())
        })?;
        let seen = nodes.load(Relaxed).count_ones();
        pr_info!(
            "numa_aware_spreads_helpers_over_nodes: nodes={:#x} chunks={}\n",
            nodes.load(Relaxed),
            calls.load(Relaxed)
        );
        // With one node (the default boot) there is nothing to spread; `make check` also boots
        // with two nodes, where both must have run chunks.
        assert!(seen >= want);
        Ok(())
    }
}
