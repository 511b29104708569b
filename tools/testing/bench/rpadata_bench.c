// SPDX-License-Identifier: GPL-2.0
/*
 * rpadata benchmark: the same workloads through kernel padata (kernel/padata.c)
 * and through rpadata's C ABI, alternating A/B, in one boot.
 *
 * Prints one line per measurement, "bench: <key>=<value> ...", which
 * tools/testing/bench/report turns into medians, spreads and ratios.
 *
 * Serialized (submitted from a thread bound to CPU 0, after an unreported
 * warm-up run): N jobs (an empty parallel callback that calls do_serial at once,
 * and one hashing 1 KiB), jobs/s; submit-to-serial latency at a moderate rate,
 * also for an rpadata instance whose serial callbacks run from softirq context
 * (RPADATA_SERIAL_SOFTIRQ).
 * A round's N jobs of each implementation run interleaved, in segments of N /
 * segments jobs alternating C, rpadata, rpadata, C, ...: a slow change in the
 * host's speed (which moves the figures by 30% between boots here) then
 * weighs on both alike.
 * Multithreaded (rpadata only; C padata's is __init): a CPU-bound and a
 * memory-bound (fill/checksum) job with 1, 2 and all threads, the CPU-bound
 * job split by hand over the caller and one kthread (the host's ceiling for
 * two threads), and a tiny job (size < min_chunk) against a direct call of its
 * thread function.
 *
 * With only=empty, only=work or only=latency (tools/testing/bench/run --only
 * WHAT) it runs only the serialized rounds of that figure: quick runs for
 * comparing two builds of rpadata over many boots (tools/testing/bench/ab).
 * With only_impl=c or only_impl=rpadata the throughput segments (and the
 * warm-up) run for that implementation alone: for profiles, without ratios.
 *
 * Memory: after the runs, the module stays loaded, and writing 0 (C padata) or
 * 1 (rpadata) to its mem_alloc parameter allocates mem_instances instances
 * of mem_shells shells each through that implementation (-1 frees them).
 * tools/testing/bench/guest.sh reads the kernel's memory counters around each
 * write.
 */

#define pr_fmt(fmt) "bench: " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/hardirq.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/padata.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/vmalloc.h>
#include <rpadata.h>

static unsigned long jobs = 1000000;
module_param(jobs, ulong, 0444);
MODULE_PARM_DESC(jobs, "Jobs per serialized throughput run (default 1000000)");

static unsigned int rounds = 3;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "A/B rounds (default 3)");

static unsigned int segments = 10;
module_param(segments, uint, 0444);
MODULE_PARM_DESC(segments, "Interleaved segments per throughput run (default 10)");

static unsigned long lat_jobs = 20000;
module_param(lat_jobs, ulong, 0444);
MODULE_PARM_DESC(lat_jobs, "Jobs per latency run (default 20000)");

static unsigned int mt_mib = 256;
module_param(mt_mib, uint, 0444);
MODULE_PARM_DESC(mt_mib, "Buffer of the memory-bound job, MiB (default 256)");

static unsigned int mt_rounds = 9;
module_param(mt_rounds, uint, 0444);
MODULE_PARM_DESC(mt_rounds, "Rounds of the multithreaded runs (default 9)");

static char *only = "";
module_param(only, charp, 0444);
MODULE_PARM_DESC(only,
		 "Run only the rounds of one figure: empty, work (throughput) or latency; default all");

/* The values of only, other than "" (all). */
static const char * const only_parts[] = { "empty", "work", "latency" };

static bool run_part(const char *part)
{
	return !*only || !strcmp(only, part);
}

static unsigned int mem_instances = 32;
module_param(mem_instances, uint, 0444);
MODULE_PARM_DESC(mem_instances, "Instances allocated by a write to mem_alloc (default 32)");

static unsigned int mem_shells = 4;
module_param(mem_shells, uint, 0444);
MODULE_PARM_DESC(mem_shells, "Shells per instance allocated by mem_alloc (default 4)");

/* IMPL_RS: rpadata with serial callbacks from softirq (latency runs only). */
enum impl { IMPL_C, IMPL_R, IMPL_RS };
static const char *const impl_name[] = { "c", "rpadata", "rpadata_softirq" };

static char *only_impl = "";
module_param(only_impl, charp, 0444);
MODULE_PARM_DESC(only_impl,
		 "Run the throughput segments of one implementation only, c or rpadata, for profiles (no ratios then); default both");

/* The implementation only_impl names, or -1 for both. */
static int only_impl_id = -1;

static bool run_impl(enum impl impl)
{
	return only_impl_id < 0 || impl == only_impl_id;
}

struct bjob {
	struct padata_priv c;
	struct rpadata_priv r;
	u64 t0;
	u32 seed;
	bool work;
};

static struct kmem_cache *job_cache;
static atomic_long_t done_count;
static unsigned long done_target;
static DECLARE_COMPLETION(all_done);
static u64 *lat;
static atomic_long_t lat_n;
/* Parallel callbacks that ran on the submitting CPU (0), e.g. inline. */
static atomic_long_t par_local;
static u8 payload[1024];

/*
 * The job callbacks of both implementations and the work they share: one
 * out-of-line copy of each, on a cache line boundary. Under TCG the speed of
 * a loop depends on where its code lies (translated blocks are chained
 * directly only within a page): with hash_1k() inlined into both parallel
 * callbacks, the copy in C padata's happened to straddle a page in one build
 * and ran its 1 KiB hash about half as fast as rpadata's copy did. Check the
 * module's disassembly after changing this file: none of these should cross a
 * 4 KiB boundary.
 */
static noinline __aligned(64) u32 hash_1k(u32 seed)
{
	u32 h = 2166136261u ^ seed;
	int i;

	for (i = 0; i < sizeof(payload); i++)
		h = (h ^ payload[i]) * 16777619u;
	return h;
}

static noinline __aligned(64) void job_done(struct bjob *j)
{
	if (lat) {
		long i = atomic_long_fetch_inc(&lat_n);

		if (i < lat_jobs)
			lat[i] = ktime_get_ns() - j->t0;
	}
	kmem_cache_free(job_cache, j);
	if (atomic_long_inc_return(&done_count) == done_target)
		complete(&all_done);
}

static noinline __aligned(64) void c_parallel(struct padata_priv *p)
{
	struct bjob *j = container_of(p, struct bjob, c);

	if (raw_smp_processor_id() == 0)
		atomic_long_inc(&par_local);
	if (j->work)
		j->seed = hash_1k(j->seed);
	padata_do_serial(p);
}

static noinline __aligned(64) void c_serial(struct padata_priv *p)
{
	job_done(container_of(p, struct bjob, c));
}

static noinline __aligned(64) void r_parallel(struct rpadata_priv *p)
{
	struct bjob *j = container_of(p, struct bjob, r);

	if (raw_smp_processor_id() == 0)
		atomic_long_inc(&par_local);
	if (j->work)
		j->seed = hash_1k(j->seed);
	rpadata_do_serial(p);
}

static noinline __aligned(64) void r_serial(struct rpadata_priv *p)
{
	job_done(container_of(p, struct bjob, r));
}

struct target {
	struct padata_instance *c_inst;
	struct padata_shell *c_shell;
	struct rpadata_instance *r_inst;
	struct rpadata_shell *r_shell;
	struct rpadata_instance *rs_inst;
	struct rpadata_shell *rs_shell;
};

static struct target tgt;

static int submit(enum impl impl, bool work, unsigned long i)
{
	struct bjob *j = kmem_cache_zalloc(job_cache, GFP_KERNEL);
	int cpu = i % num_online_cpus(), err;

	if (!j)
		return -ENOMEM;
	j->seed = i;
	j->work = work;
	j->t0 = ktime_get_ns();
	if (impl == IMPL_C) {
		j->c.parallel = c_parallel;
		j->c.serial = c_serial;
		err = padata_do_parallel(tgt.c_shell, &j->c, &cpu);
	} else {
		j->r.parallel = r_parallel;
		j->r.serial = r_serial;
		err = rpadata_do_parallel(impl == IMPL_R ? tgt.r_shell : tgt.rs_shell,
					  &j->r, &cpu);
	}
	if (err)
		kmem_cache_free(job_cache, j);
	return err;
}

/*
 * Wake-up IPIs (reschedule and function-call) received by all CPUs so far: the
 * cost that dominates cross-CPU hand-offs under TCG. x86 only; 0 elsewhere.
 */
static u64 wakeup_ipis(void)
{
	u64 n = 0;
#ifdef CONFIG_X86
	int cpu;

	for_each_online_cpu(cpu)
		n += per_cpu(irq_stat, cpu).counts[IRQ_COUNT_RESCHEDULE] +
		     per_cpu(irq_stat, cpu).counts[IRQ_COUNT_CALL_FUNCTION];
#endif
	return n;
}

/*
 * Runs n jobs; returns the time from the first submission to the last serial
 * callback. *local: how many parallel callbacks ran on the submitting CPU.
 */
static s64 run_jobs(enum impl impl, bool work, unsigned long n, unsigned int gap_us,
		    unsigned long *refused, u64 *ipis, unsigned long *local)
{
	unsigned long i;
	u64 t0, ipi0 = wakeup_ipis();

	atomic_long_set(&done_count, 0);
	atomic_long_set(&par_local, 0);
	done_target = n;
	reinit_completion(&all_done);
	*refused = 0;
	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		while (submit(impl, work, i)) {
			(*refused)++;
			cond_resched();
		}
		if (gap_us)
			udelay(gap_us);
		if (!(i & 1023))
			cond_resched();
	}
	if (!wait_for_completion_timeout(&all_done, 600 * HZ))
		return -ETIMEDOUT;
	t0 = ktime_get_ns() - t0;
	*ipis = wakeup_ipis() - ipi0;
	*local = atomic_long_read(&par_local);
	return t0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Submit-to-serial latency of lat_jobs jobs, one every 50 us. */
static void bench_latency(enum impl impl, unsigned int r)
{
	unsigned long refused, local;
	u64 ipis, *l;
	s64 ns;

	atomic_long_set(&lat_n, 0);
	lat = kvmalloc_array(lat_jobs, sizeof(*lat), GFP_KERNEL);
	if (!lat)
		return;
	ns = run_jobs(impl, false, lat_jobs, 50, &refused, &ipis, &local);
	l = lat;
	lat = NULL;
	sort(l, lat_jobs, sizeof(*l), cmp_u64, NULL);
	pr_info("serial_latency impl=%s round=%u jobs=%lu ns=%lld p50_ns=%llu p99_ns=%llu\n",
		impl_name[impl], r, lat_jobs, ns, l[lat_jobs / 2], l[lat_jobs * 99 / 100]);
	kvfree(l);
}

/*
 * Throughput: jobs of each implementation, interleaved in segments (C, R, R,
 * C, C, R, ...; rounds start alternately), so that a change in the host's
 * speed during the round weighs on both alike.
 */
static void bench_throughput(bool work, unsigned int r)
{
	unsigned long refused[2] = {}, local[2] = {}, seg_n = jobs / segments;
	u64 ipis[2] = {};
	s64 ns[2] = {};
	unsigned int s, k;

	for (s = 0; s < segments; s++) {
		for (k = 0; k < 2; k++) {
			enum impl impl = (r + s + k) % 2 ? IMPL_R : IMPL_C;
			unsigned long n = s == segments - 1 ? jobs - seg_n * s : seg_n;
			unsigned long seg_refused, seg_local;
			u64 seg_ipis;
			s64 t;

			if (!run_impl(impl))
				continue;
			t = run_jobs(impl, work, n, 0, &seg_refused, &seg_ipis, &seg_local);
			if (t < 0) {
				ns[impl] = t;
			} else if (ns[impl] >= 0) {
				ns[impl] += t;
				refused[impl] += seg_refused;
				ipis[impl] += seg_ipis;
				local[impl] += seg_local;
			}
		}
	}
	for (k = 0; k < 2; k++) {
		u64 rate = ns[k] > 0 ? div64_u64((u64)jobs * NSEC_PER_SEC, ns[k]) : 0;

		if (!run_impl(k))
			continue;
		pr_info("serial_throughput impl=%s workload=%s round=%u jobs=%lu segments=%u ns=%lld refused=%lu jobs_per_s=%llu ipis=%llu parallel_on_submitter=%lu\n",
			impl_name[k], work ? "work" : "empty", r, jobs, segments, ns[k],
			refused[k], rate, ipis[k], local[k]);
	}
}

static void bench_serialized(void)
{
	unsigned long refused, local;
	unsigned int r;
	u64 ipis;

	/*
	 * Warm-up, not reported: the first run of each pays for creating
	 * workers and warming the slab caches.
	 */
	if (run_impl(IMPL_C))
		run_jobs(IMPL_C, true, jobs / 10 ?: 1, 0, &refused, &ipis, &local);
	if (run_impl(IMPL_R))
		run_jobs(IMPL_R, true, jobs / 10 ?: 1, 0, &refused, &ipis, &local);

	for (r = 0; r < rounds; r++) {
		if (run_part("empty"))
			bench_throughput(false, r);
		if (run_part("work"))
			bench_throughput(true, r);
		if (run_part("latency")) {
			/* Rotate which implementation goes first. */
			bench_latency((r + 0) % 3, r);
			bench_latency((r + 1) % 3, r);
			bench_latency((r + 2) % 3, r);
		}
	}
}

/* Multithreaded jobs. */

struct mt_arg {
	u64 *buf;
	atomic64_t sum;
};

/*
 * Not inlined: every run must execute the same machine code. Under TCG the
 * speed of a loop depends on where its code lies (QEMU, for one, chains
 * translated blocks directly only within a page): a copy inlined into the hand
 * split's kthread once ran 4-8x slower than the copy rpadata calls.
 */
static noinline int cpu_fn(unsigned long s, unsigned long e, void *a)
{
	struct mt_arg *arg = a;
	u64 acc = 0;

	for (; s < e; s++) {
		u32 h = s;
		int k;

		for (k = 0; k < 64; k++)
			h = (h ^ (h >> 13)) * 0x5bd1e995;
		acc += h;
	}
	atomic64_add(acc, &arg->sum);
	return 0;
}

/* Not inlined, as cpu_fn(). */
static noinline int fill_fn(unsigned long s, unsigned long e, void *a)
{
	struct mt_arg *arg = a;
	u64 acc = 0;

	for (; s < e; s++) {
		arg->buf[s] = s * 0x9e3779b97f4a7c15ULL;
		acc += arg->buf[s];
	}
	atomic64_add(acc, &arg->sum);
	return 0;
}

static s64 time_mt(int (*fn)(unsigned long, unsigned long, void *), struct mt_arg *arg,
		   unsigned long size, int threads)
{
	struct rpadata_mt_job job = {
		.thread_fn = fn,
		.fn_arg = arg,
		.size = size,
		.align = 64,
		.min_chunk = 4096,
		.max_threads = threads,
	};
	u64 t0 = ktime_get_ns();
	int err = rpadata_do_multithreaded(&job);

	return err ? err : ktime_get_ns() - t0;
}

struct bare_half {
	struct mt_arg *arg;
	unsigned long start, end;
	struct completion done;
};

static int bare_thread(void *p)
{
	struct bare_half *h = p;

	cpu_fn(h->start, h->end, h->arg);
	complete(&h->done);
	return 0;
}

/*
 * What two threads can do on this host, the anchor of the 2-thread figure:
 * the caller and a kthread bound to the other CPU each run half the range at
 * once, without chunks, workqueues or a thread to find. The kthread is created
 * before the clock starts.
 */
static s64 time_bare2(struct mt_arg *arg, unsigned long size)
{
	struct bare_half h = { .arg = arg, .start = size / 2, .end = size };
	struct task_struct *t;
	u64 t0;

	init_completion(&h.done);
	t = kthread_create(bare_thread, &h, "rpadata_bench_bare");
	if (IS_ERR(t))
		return PTR_ERR(t);
	/* The caller is bound to CPU 0; bench_mt() checked for a second CPU. */
	kthread_bind(t, cpumask_any_but(cpu_online_mask, 0));
	t0 = ktime_get_ns();
	wake_up_process(t);
	cpu_fn(0, size / 2, arg);
	wait_for_completion(&h.done);
	return ktime_get_ns() - t0;
}

enum { MT_1, MT_2, MT_BARE2, MT_ALL, MT_RUNS };

/* One measurement of round r: run k of the CPU-bound and memory-bound jobs. */
static void bench_mt_run(struct mt_arg *arg, unsigned long words, unsigned int r, int k)
{
	int threads = k == MT_1 ? 1 : k == MT_ALL ? num_online_cpus() : 2;
	s64 ns;

	if (k == MT_BARE2) {
		ns = time_bare2(arg, 1 << 22);
		pr_info("mt impl=bare workload=cpu round=%u threads=2 ns=%lld\n", r, ns);
		return;
	}
	ns = time_mt(cpu_fn, arg, 1 << 22, threads);
	pr_info("mt impl=rpadata workload=cpu round=%u threads=%d ns=%lld\n", r, threads, ns);
	if (arg->buf) {
		ns = time_mt(fill_fn, arg, words, threads);
		pr_info("mt impl=rpadata workload=mem round=%u threads=%d ns=%lld\n", r, threads,
			ns);
	}
}

/* The tiny job's calls are timed in this many blocks of each kind. */
#define TINY_BLOCKS 10

/*
 * Tiny job of round r: size < min_chunk, so rpadata runs it in the caller,
 * against direct calls of the thread function. The direct calls go through an
 * opaque pointer and vary their range, as rpadata's do: the compiler must not
 * fold them away. The two kinds run in alternate blocks, each block's pair in
 * the other order from the previous one, so that neither always runs first or
 * in a slower stretch of the host.
 */
static void bench_tiny(struct mt_arg *arg, unsigned int r)
{
	int (*fn)(unsigned long, unsigned long, void *) = cpu_fn;
	struct rpadata_mt_job job = {
		.thread_fn = cpu_fn, .fn_arg = arg, .size = 16,
		.min_chunk = 1024, .max_threads = num_online_cpus(),
	};
	unsigned long i, first, n = 100000, block = n / TINY_BLOCKS;
	u64 t0, direct = 0, via = 0;
	unsigned int b, k;

	OPTIMIZER_HIDE_VAR(fn);
	for (b = 0; b < TINY_BLOCKS; b++) {
		first = b * block;
		for (k = 0; k < 2; k++) {
			t0 = ktime_get_ns();
			if ((r + b + k) % 2) {
				for (i = first; i < first + block; i++) {
					job.start = i;
					rpadata_do_multithreaded(&job);
				}
				via += ktime_get_ns() - t0;
			} else {
				for (i = first; i < first + block; i++)
					fn(i, i + 16, arg);
				direct += ktime_get_ns() - t0;
			}
		}
	}
	pr_info("mt_tiny impl=rpadata round=%u calls=%lu direct_ns=%llu rpadata_ns=%llu\n",
		r, n, direct, via);
}

/*
 * Runs from a thread bound to CPU 0. Each round runs every thread count once,
 * in reverse order every other round, so that speedups can be taken per round
 * (t1 / tN of the same round) and a drift of the host's speed weighs on both.
 */
static void bench_mt(void)
{
	unsigned long words = (unsigned long)mt_mib << 17;
	struct mt_arg arg = {};
	unsigned int r;
	int k;

	arg.buf = vmalloc(words * sizeof(u64));
	/* Touch every page first: the rounds measure work, not page faults. */
	if (arg.buf)
		memset(arg.buf, 0, words * sizeof(u64));
	for (r = 0; r < mt_rounds; r++) {
		for (k = 0; k < MT_RUNS; k++) {
			int run = r % 2 ? MT_RUNS - 1 - k : k;

			/* "All" threads is 2 at smp 2: measured once. */
			if (run == MT_ALL && num_online_cpus() <= 2)
				continue;
			if (run == MT_BARE2 && num_online_cpus() < 2)
				continue;
			bench_mt_run(&arg, words, r, run);
		}
		bench_tiny(&arg, r);
	}
	vfree(arg.buf);
}

/*
 * Memory footprint: instances and shells held between writes to mem_alloc.
 * Only the allocations are measured (by the caller, from the kernel's
 * counters), so both implementations are driven the same way.
 */
static DEFINE_MUTEX(mem_lock);
static int mem_impl = -1;
static void **mem_inst, **mem_shell;

static void mem_free(void)
{
	unsigned int i, k;

	/* Both arrays exist before any instance is allocated. */
	for (i = 0; mem_inst && mem_shell && i < mem_instances; i++) {
		for (k = 0; k < mem_shells; k++) {
			void *s = mem_shell[i * mem_shells + k];

			if (!s)
				continue;
			if (mem_impl == IMPL_C)
				padata_free_shell(s);
			else
				rpadata_free_shell(s);
		}
		if (!mem_inst[i])
			continue;
		if (mem_impl == IMPL_C)
			padata_free(mem_inst[i]);
		else
			rpadata_free(mem_inst[i]);
	}
	kfree(mem_inst);
	kfree(mem_shell);
	mem_inst = NULL;
	mem_shell = NULL;
	mem_impl = -1;
}

static int mem_alloc(int impl)
{
	unsigned int i, k;
	char name[32];

	mem_inst = kcalloc(mem_instances, sizeof(*mem_inst), GFP_KERNEL);
	mem_shell = kcalloc(mem_instances * mem_shells, sizeof(*mem_shell), GFP_KERNEL);
	mem_impl = impl;
	if (!mem_inst || !mem_shell)
		goto nomem;
	for (i = 0; i < mem_instances; i++) {
		snprintf(name, sizeof(name), "bench_mem%u", i);
		if (impl == IMPL_C)
			mem_inst[i] = padata_alloc(name);
		else
			mem_inst[i] = rpadata_alloc(name);
		if (!mem_inst[i])
			goto nomem;
		for (k = 0; k < mem_shells; k++) {
			void *s;

			if (impl == IMPL_C)
				s = padata_alloc_shell(mem_inst[i]);
			else
				s = rpadata_alloc_shell(mem_inst[i]);
			if (!s)
				goto nomem;
			mem_shell[i * mem_shells + k] = s;
		}
	}
	return 0;
nomem:
	mem_free();
	return -ENOMEM;
}

/* "0": C padata, "1": rpadata, "-1": free what is held. */
static int mem_alloc_set(const char *val, const struct kernel_param *kp)
{
	int impl, err;

	err = kstrtoint(val, 0, &impl);
	if (err)
		return err;
	if (impl != -1 && impl != IMPL_C && impl != IMPL_R)
		return -EINVAL;
	if (!mem_instances || mem_instances > 1024 || mem_shells > 64)
		return -EINVAL;
	mutex_lock(&mem_lock);
	mem_free();
	err = impl < 0 ? 0 : mem_alloc(impl);
	mutex_unlock(&mem_lock);
	return err;
}

static int mem_alloc_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(mem_impl));
}

static const struct kernel_param_ops mem_alloc_ops = {
	.set = mem_alloc_set,
	.get = mem_alloc_get,
};
module_param_cb(mem_alloc, &mem_alloc_ops, NULL, 0644);
MODULE_PARM_DESC(mem_alloc, "Write 0 (C padata) or 1 (rpadata) to allocate instances, -1 to free");

struct on_cpu0 {
	void (*fn)(void);
	struct completion done;
};

static int on_cpu0_thread(void *p)
{
	struct on_cpu0 *w = p;

	w->fn();
	complete(&w->done);
	return 0;
}

/*
 * Runs fn() in a kthread bound to CPU 0 and waits for it, so every run starts
 * alike (whichever CPU insmod ran on moved the figures by 2x).
 */
static int run_on_cpu0(void (*fn)(void), const char *name)
{
	struct on_cpu0 w = { .fn = fn };
	struct task_struct *t;

	init_completion(&w.done);
	t = kthread_create(on_cpu0_thread, &w, "%s", name);
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, 0);
	wake_up_process(t);
	wait_for_completion(&w.done);
	return 0;
}

static int __init bench_init(void)
{
	int err = -ENOMEM;

	if (!jobs || !rounds || !segments || segments > jobs || !lat_jobs || !mt_mib ||
	    mt_mib > 4096 || !mt_rounds)
		return -EINVAL;
	if (*only && match_string(only_parts, ARRAY_SIZE(only_parts), only) < 0)
		return -EINVAL;
	if (*only_impl) {
		/* c or rpadata: the first two names of impl_name. */
		only_impl_id = match_string(impl_name, IMPL_RS, only_impl);
		if (only_impl_id < 0)
			return -EINVAL;
	}
	get_random_bytes(payload, sizeof(payload));
	job_cache = KMEM_CACHE(bjob, 0);
	if (!job_cache)
		return -ENOMEM;
	tgt.c_inst = padata_alloc("bench_c");
	tgt.r_inst = rpadata_alloc("bench_r");
	tgt.rs_inst = rpadata_alloc_flags("bench_rs", RPADATA_SERIAL_SOFTIRQ);
	if (!tgt.c_inst || !tgt.r_inst || !tgt.rs_inst)
		goto out;
	tgt.c_shell = padata_alloc_shell(tgt.c_inst);
	tgt.r_shell = rpadata_alloc_shell(tgt.r_inst);
	tgt.rs_shell = rpadata_alloc_shell(tgt.rs_inst);
	if (!tgt.c_shell || !tgt.r_shell || !tgt.rs_shell)
		goto out;

	pr_info("start cpus=%u jobs=%lu rounds=%u segments=%u lat_jobs=%lu mt_mib=%u mt_rounds=%u only=%s only_impl=%s\n",
		num_online_cpus(), jobs, rounds, segments, lat_jobs, mt_mib, mt_rounds,
		*only ? only : "all", *only_impl ? only_impl : "both");
	/* The submitter and the multithreaded runs' caller (the hand split uses another CPU). */
	err = run_on_cpu0(bench_serialized, "rpadata_bench");
	if (!err)
		err = *only ? 0 : run_on_cpu0(bench_mt, "rpadata_bench_mt");
	if (err)
		goto out;
	pr_info("end\n");
out:
	if (tgt.c_shell)
		padata_free_shell(tgt.c_shell);
	if (tgt.c_inst)
		padata_free(tgt.c_inst);
	rpadata_free_shell(tgt.r_shell);
	rpadata_free(tgt.r_inst);
	rpadata_free_shell(tgt.rs_shell);
	rpadata_free(tgt.rs_inst);
	kmem_cache_destroy(job_cache);
	return err;
}

static void __exit bench_exit(void)
{
	mutex_lock(&mem_lock);
	mem_free();
	mutex_unlock(&mem_lock);
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_DESCRIPTION("rpadata vs padata benchmark");
MODULE_LICENSE("GPL");
