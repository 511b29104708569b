// SPDX-License-Identifier: GPL-2.0
/*
 * rpadata C test consumer: a pcrypt-like user of the C ABI.
 *
 * On load it allocates an instance with several shells and pushes "packets"
 * through them: each packet's parallel callback does a pseudo-random amount
 * of work and hands the packet to rpadata_do_serial(), some of them later
 * from a workqueue (out-of-order completion). The serial callback checks
 * in-order delivery per shell, the callback CPU and that BHs are off.
 *
 * Results are read-only module parameters under
 * /sys/module/rpadata_test_consumer/parameters/; loading fails with -EIO
 * when any check failed, so `make check` sees it either way.
 *
 * hold=1 keeps the instance and its shells (idle) until rmmod, for sysfs
 * checks. flood=1 instead keeps a thread submitting packets until rmmod (a
 * load for hotplug and cpumask stress); rmmod then waits for every packet,
 * checks them and prints "flood done: ... ok" or "... FAILED".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <rpadata.h>

#define MAX_SHELLS 8

static unsigned long packets = 20000;
module_param(packets, ulong, 0444);
MODULE_PARM_DESC(packets, "Packets to send (default 20000)");

static unsigned int shells = 2;
module_param(shells, uint, 0444);
MODULE_PARM_DESC(shells, "Shells (streams) to spread them over, 1..8 (default 2)");

static char *name = "rpadata_test";
module_param(name, charp, 0444);
MODULE_PARM_DESC(name, "Instance name");

static bool hold;
module_param(hold, bool, 0444);
MODULE_PARM_DESC(hold, "Keep the idle instance and shells until rmmod");

static bool flood;
module_param(flood, bool, 0444);
MODULE_PARM_DESC(flood, "Submit packets from a thread until rmmod");

static bool softirq;
module_param(softirq, bool, 0444);
MODULE_PARM_DESC(softirq, "Allocate the instance with RPADATA_SERIAL_SOFTIRQ");

static bool misuse;
module_param(misuse, bool, 0444);
MODULE_PARM_DESC(misuse, "Call the C ABI with bad arguments and check the errors");

static unsigned long delivered;
module_param(delivered, ulong, 0444);
MODULE_PARM_DESC(delivered, "Result: packets whose serial callback ran");

static unsigned long out_of_order;
module_param(out_of_order, ulong, 0444);
MODULE_PARM_DESC(out_of_order, "Result: packets delivered out of order within their shell");

static unsigned long wrong_cpu;
module_param(wrong_cpu, ulong, 0444);
MODULE_PARM_DESC(wrong_cpu, "Result: serial callbacks not on the reported callback CPU");

static unsigned long bh_enabled;
module_param(bh_enabled, ulong, 0444);
MODULE_PARM_DESC(bh_enabled, "Result: callbacks that ran with BHs enabled");

static unsigned long refused;
module_param(refused, ulong, 0444);
MODULE_PARM_DESC(refused, "Result: rpadata_do_parallel() errors");

static unsigned long serial_in_softirq;
module_param(serial_in_softirq, ulong, 0444);
MODULE_PARM_DESC(serial_in_softirq, "Result: serial callbacks run from softirq context");

static bool mt;
module_param(mt, bool, 0444);
MODULE_PARM_DESC(mt, "Check rpadata_do_multithreaded() through the C ABI, then exit");

struct stream {
	struct rpadata_shell *shell;
	unsigned long next;	/* only touched by serial callbacks, in order */
	unsigned long last_on_cpu[NR_CPUS];
};

struct packet {
	struct rpadata_priv padata;
	struct work_struct late;
	struct stream *stream;
	unsigned long seq;
	int cb_cpu;
	bool single_cb_cpu;
};

static struct stream streams[MAX_SHELLS];
static atomic_long_t n_delivered, n_out_of_order, n_wrong_cpu, n_bh_enabled;
static atomic_long_t n_serial_in_softirq;
static struct rpadata_instance *inst;
static struct task_struct *flooder;
static unsigned long flood_submitted, flood_invalid;

static u32 mix(unsigned long x)
{
	x *= 0x9e3779b97f4a7c15UL;
	return x >> 40;
}

static void late_serial(struct work_struct *w)
{
	struct packet *p = container_of(w, struct packet, late);

	rpadata_do_serial(&p->padata);
}

static void packet_parallel(struct rpadata_priv *padata)
{
	struct packet *p = container_of(padata, struct packet, padata);
	u32 r = mix(p->seq + (unsigned long)p->stream);

	if (!in_softirq())
		atomic_long_inc(&n_bh_enabled);
	ndelay(r % 2000);
	if (r % 11 == 5) {
		INIT_WORK(&p->late, late_serial);
		queue_work(system_dfl_wq, &p->late);
		return;
	}
	rpadata_do_serial(padata);
}

static void packet_serial(struct rpadata_priv *padata)
{
	struct packet *p = container_of(padata, struct packet, padata);
	struct stream *s = p->stream;
	int cpu = smp_processor_id();

	if (!in_softirq())
		atomic_long_inc(&n_bh_enabled);
	if (in_serving_softirq())
		atomic_long_inc(&n_serial_in_softirq);
	if (cpu != p->cb_cpu)
		atomic_long_inc(&n_wrong_cpu);
	/*
	 * Callbacks that share a callback CPU run in submission order. Keyed on
	 * the callback CPU, not the CPU running it: when the callback CPU went
	 * offline, its queue is run on another CPU (documented; counted in
	 * wrong_cpu), interleaved with that CPU's own queue.
	 */
	if (s->last_on_cpu[p->cb_cpu] > p->seq)
		atomic_long_inc(&n_out_of_order);
	s->last_on_cpu[p->cb_cpu] = p->seq + 1;
	atomic_long_inc(&n_delivered);
	kfree(p);
}

/* Submits packet number i; returns rpadata_do_parallel()'s result. */
static int send_packet(unsigned long i, gfp_t gfp)
{
	struct packet *p = kzalloc(sizeof(*p), gfp);
	int cb_cpu, err;

	if (!p)
		return -ENOMEM;
	p->stream = &streams[i % shells];
	p->seq = i / shells;
	p->padata.parallel = packet_parallel;
	p->padata.serial = packet_serial;
	cb_cpu = mix(i) % nr_cpu_ids;
	p->cb_cpu = cpu_online(cb_cpu) ? cb_cpu : -1;
	/* Written back before the job can run. */
	err = rpadata_do_parallel(p->stream->shell, &p->padata, &p->cb_cpu);
	if (err)
		kfree(p);
	return err;
}

static void free_all(void)
{
	unsigned int k;

	/* Freeing sleeps until every packet was delivered. */
	for (k = 0; k < shells; k++)
		rpadata_free_shell(streams[k].shell);
	rpadata_free(inst);
	inst = NULL;
	delivered = atomic_long_read(&n_delivered);
	out_of_order = atomic_long_read(&n_out_of_order);
	wrong_cpu = atomic_long_read(&n_wrong_cpu);
	bh_enabled = atomic_long_read(&n_bh_enabled);
	serial_in_softirq = atomic_long_read(&n_serial_in_softirq);
}

static int flood_fn(void *unused)
{
	unsigned long i = 0;

	while (!kthread_should_stop()) {
		int err = send_packet(i, GFP_KERNEL);

		if (!err) {
			i++;
		} else if (err == -EINVAL) {
			/* A mask without an online CPU: legitimately invalid. */
			flood_invalid++;
			usleep_range(1000, 2000);
		} else {
			usleep_range(1000, 2000);
		}
		cond_resched();
	}
	flood_submitted = i;
	return 0;
}

/* Misuse of the C ABI: each call must fail cleanly (most with a warning). */

static struct rpadata_priv twice;
static DECLARE_COMPLETION(twice_done);
static DECLARE_COMPLETION(twice_parallel_done);
static int twice_second_ok = -1;

static void twice_parallel(struct rpadata_priv *padata)
{
	rpadata_do_serial(padata);
	/* Second call: the job is no longer in its parallel phase. */
	rpadata_do_serial(padata);
	twice_second_ok = 1;
	/* The serial callback may have run on another CPU already. */
	complete(&twice_parallel_done);
}

static void twice_serial(struct rpadata_priv *padata)
{
	complete(&twice_done);
}

struct slow_packet {
	struct rpadata_priv padata;
	struct delayed_work dw;
};

static atomic_t slow_delivered;

static void slow_finish(struct work_struct *w)
{
	struct slow_packet *p = container_of(to_delayed_work(w), struct slow_packet, dw);

	rpadata_do_serial(&p->padata);
}

static void slow_parallel(struct rpadata_priv *padata)
{
	struct slow_packet *p = container_of(padata, struct slow_packet, padata);

	INIT_DELAYED_WORK(&p->dw, slow_finish);
	queue_delayed_work(system_dfl_wq, &p->dw, msecs_to_jiffies(100));
}

static void slow_serial(struct rpadata_priv *padata)
{
	atomic_inc(&slow_delivered);
	kfree(container_of(padata, struct slow_packet, padata));
}

static int nop_fn(unsigned long s, unsigned long e, void *a)
{
	return 0;
}

#define EXPECT(cond) do {						\
	if (!(cond)) {							\
		pr_err("check: %s failed (line %d)\n", #cond, __LINE__);	\
		bad++;							\
	}								\
} while (0)

static int run_misuse(void)
{
	struct rpadata_instance *mi;
	struct rpadata_shell *ms, *ms2;
	struct rpadata_priv zero = {}, nocb = {};
	struct rpadata_mt_job mt = { .thread_fn = NULL, .size = 10, .max_threads = 1 };
	int cpu = 0, warnings = 0, bad = 0, i;

	mi = rpadata_alloc("misuse");
	if (!mi)
		return -ENOMEM;
	ms = rpadata_alloc_shell(mi);
	ms2 = rpadata_alloc_shell(mi);
	if (!ms || !ms2) {
		rpadata_free(mi);
		return -ENOMEM;
	}
	pr_info("misuse begin\n");

	EXPECT(!rpadata_alloc(NULL));				warnings++;
	EXPECT(!rpadata_alloc("misuse"));	/* duplicate name: no warning */
	EXPECT(!rpadata_alloc("a/b"));
	EXPECT(!rpadata_alloc_flags(NULL, 0));			warnings++;
	EXPECT(!rpadata_alloc_flags("misuse_flags", 0x80));	/* unknown flag */
	EXPECT(!rpadata_alloc_shell(NULL));			warnings++;
	EXPECT(rpadata_do_parallel(NULL, &zero, &cpu) == -EINVAL);	warnings++;
	EXPECT(rpadata_do_parallel(ms, NULL, &cpu) == -EINVAL);	warnings++;
	EXPECT(rpadata_do_parallel(ms, &zero, NULL) == -EINVAL);	warnings++;
	EXPECT(rpadata_do_parallel(ms, &nocb, &cpu) == -EINVAL);	warnings++;
	rpadata_do_serial(NULL);				warnings++;
	rpadata_do_serial(&zero);	/* never submitted */	warnings++;
	EXPECT(rpadata_set_cpumask(mi, 0x7, cpu_possible_mask) == -EINVAL);
	EXPECT(rpadata_set_cpumask(mi, RPADATA_CPU_SERIAL, NULL) == -EINVAL);	warnings++;
	EXPECT(rpadata_set_cpumask(NULL, RPADATA_CPU_SERIAL, cpu_possible_mask) == -EINVAL);
	warnings++;
	EXPECT(rpadata_do_multithreaded(NULL) == -EINVAL);
	EXPECT(rpadata_do_multithreaded(&mt) == -EINVAL);
	mt.thread_fn = nop_fn;
	mt.max_threads = 0;
	EXPECT(rpadata_do_multithreaded(&mt) == -EINVAL);
	mt.max_threads = 1;
	mt.align = 3;
	EXPECT(rpadata_do_multithreaded(&mt) == -EINVAL);
	mt.align = 0;
	mt.start = ULONG_MAX - 2;
	EXPECT(rpadata_do_multithreaded(&mt) == -EINVAL);
	rpadata_free(NULL);
	rpadata_free_shell(NULL);

	/* do_serial twice on one job: the second is refused, nothing breaks. */
	twice.parallel = twice_parallel;
	twice.serial = twice_serial;
	EXPECT(rpadata_do_parallel(ms, &twice, &cpu) == 0);
	EXPECT(wait_for_completion_timeout(&twice_done, 10 * HZ));
	EXPECT(wait_for_completion_timeout(&twice_parallel_done, 10 * HZ));
	EXPECT(twice_second_ok == 1);				warnings++;

	/* Free an instance with shells attached and jobs in flight. */
	for (i = 0; i < 20; i++) {
		struct slow_packet *p = kzalloc(sizeof(*p), GFP_KERNEL);

		if (!p)
			break;
		p->padata.parallel = slow_parallel;
		p->padata.serial = slow_serial;
		if (i == 0) {
			EXPECT(rpadata_do_parallel(ms2, &p->padata, &cpu) == 0);
			/* Already in flight: refused. */
			EXPECT(rpadata_do_parallel(ms2, &p->padata, &cpu) == -EINVAL);
			warnings++;
			continue;
		}
		EXPECT(rpadata_do_parallel(i % 2 ? ms : ms2, &p->padata, &cpu) == 0);
	}
	rpadata_free(mi);	/* frees ms and ms2, waiting for their jobs */
	EXPECT(atomic_read(&slow_delivered) == i);
	pr_info("misuse end expected_warnings=%d failures=%d\n", warnings, bad);
	return bad ? -EIO : 0;
}

/* Multithreaded jobs through the C ABI: what a C caller depends on. */

#define MT_WORDS 100000

struct mt_check {
	atomic_t *hits;		/* per index: how often a thread function saw it */
	atomic_t calls;
	unsigned long first_start, first_end;
	unsigned long align;
	unsigned long fail_at;	/* the chunk holding this index fails, if < ULONG_MAX */
	atomic_t misaligned;
};

static int mt_fn(unsigned long s, unsigned long e, void *a)
{
	struct mt_check *c = a;
	unsigned long i;

	if (atomic_inc_return(&c->calls) == 1) {
		c->first_start = s;
		c->first_end = e;
	}
	if (c->align > 1 && e != MT_WORDS && e % c->align)
		atomic_inc(&c->misaligned);
	for (i = s; i < e; i++)
		atomic_inc(&c->hits[i]);
	return c->fail_at >= s && c->fail_at < e ? -EIO : 0;
}

/* Runs one job over [start, start + size) of the words; returns its result. */
static int mt_run(struct mt_check *c, unsigned long start, unsigned long size,
		  unsigned long align, unsigned long min_chunk, int threads, unsigned long fail_at)
{
	struct rpadata_mt_job job = {
		.thread_fn = mt_fn, .fn_arg = c, .start = start, .size = size,
		.align = align, .min_chunk = min_chunk, .max_threads = threads,
	};

	memset(c->hits, 0, MT_WORDS * sizeof(*c->hits));
	atomic_set(&c->calls, 0);
	atomic_set(&c->misaligned, 0);
	c->align = align;
	c->fail_at = fail_at;
	return rpadata_do_multithreaded(&job);
}

/* Whether every word in [start, end) was seen exactly once and no other one. */
static bool mt_exactly_once(struct mt_check *c, unsigned long start, unsigned long end)
{
	unsigned long i;

	for (i = 0; i < MT_WORDS; i++)
		if (atomic_read(&c->hits[i]) != (i >= start && i < end))
			return false;
	return true;
}

static int run_mt(void)
{
	struct mt_check c = {};
	int all = num_online_cpus(), bad = 0;

	c.hits = vcalloc(MT_WORDS, sizeof(*c.hits));
	if (!c.hits)
		return -ENOMEM;

	/* Smaller than min_chunk: one call on the caller, the exact range. */
	EXPECT(mt_run(&c, 100, 16, 0, 1024, all, ULONG_MAX) == 0);
	EXPECT(atomic_read(&c.calls) == 1);
	EXPECT(c.first_start == 100 && c.first_end == 116);
	EXPECT(mt_exactly_once(&c, 100, 116));
	/* Its error comes back as is. */
	EXPECT(mt_run(&c, 100, 16, 0, 1024, all, 105) == -EIO);
	/* One thread: one call over everything. */
	EXPECT(mt_run(&c, 0, MT_WORDS, 64, 64, 1, ULONG_MAX) == 0);
	EXPECT(atomic_read(&c.calls) == 1);
	EXPECT(mt_exactly_once(&c, 0, MT_WORDS));
	/* Empty: no call at all. */
	EXPECT(mt_run(&c, 5, 0, 0, 1, all, ULONG_MAX) == 0);
	EXPECT(atomic_read(&c.calls) == 0);
	/* Split over every CPU: each word once, chunks end on align. */
	EXPECT(mt_run(&c, 10, MT_WORDS - 10, 64, 128, all, ULONG_MAX) == 0);
	EXPECT(mt_exactly_once(&c, 10, MT_WORDS));
	EXPECT(atomic_read(&c.misaligned) == 0);
	EXPECT(all == 1 || atomic_read(&c.calls) > 1);
	/* A failing chunk: its error comes back. */
	EXPECT(mt_run(&c, 0, MT_WORDS, 64, 128, all, MT_WORDS / 2) == -EIO);

	vfree(c.hits);
	pr_info("mt end failures=%d\n", bad);
	return bad ? -EIO : 0;
}

static int __init consumer_init(void)
{
	unsigned long i;
	unsigned int k;
	int err = 0;

	if (misuse)
		return run_misuse();
	if (mt)
		return run_mt();
	if (!shells || shells > MAX_SHELLS || !packets) {
		pr_err("shells must be 1..%d and packets > 0\n", MAX_SHELLS);
		return -EINVAL;
	}
	inst = rpadata_alloc_flags(name, softirq ? RPADATA_SERIAL_SOFTIRQ : 0);
	if (!inst)
		return -ENOMEM;
	for (k = 0; k < shells; k++) {
		memset(&streams[k], 0, sizeof(streams[k]));
		streams[k].shell = rpadata_alloc_shell(inst);
		if (!streams[k].shell) {
			err = -ENOMEM;
			goto out;
		}
	}

	if (flood) {
		flooder = kthread_run(flood_fn, NULL, "rpadata_flood");
		if (IS_ERR(flooder)) {
			err = PTR_ERR(flooder);
			flooder = NULL;
			goto out;
		}
		return 0;
	}

	for (i = 0; i < packets; i++) {
		err = send_packet(i, GFP_KERNEL);
		if (err == -ENOMEM)
			break;
		if (err) {
			refused++;
			err = 0;
		}
		cond_resched();
	}
	if (hold && !err)
		return 0;

out:
	free_all();
	pr_info("packets=%lu shells=%u delivered=%lu refused=%lu out_of_order=%lu wrong_cpu=%lu bh_enabled=%lu\n",
		packets, shells, delivered, refused, out_of_order, wrong_cpu,
		bh_enabled);
	if (err)
		return err;
	if (delivered + refused != packets || refused || out_of_order ||
	    wrong_cpu || bh_enabled ||
	    serial_in_softirq != (softirq ? delivered : 0))
		return -EIO;
	return 0;
}

static void __exit consumer_exit(void)
{
	bool ok;

	if (!inst)
		return;
	if (flooder)
		kthread_stop(flooder);
	free_all();
	if (!flooder)
		return;
	ok = delivered == flood_submitted && !out_of_order && !bh_enabled &&
	     serial_in_softirq == (softirq ? delivered : 0);
	pr_info("flood done: submitted=%lu delivered=%lu invalid=%lu out_of_order=%lu wrong_cpu=%lu bh_enabled=%lu serial_in_softirq=%lu %s\n",
		flood_submitted, delivered, flood_invalid, out_of_order,
		wrong_cpu, bh_enabled, serial_in_softirq, ok ? "ok" : "FAILED");
}

module_init(consumer_init);
module_exit(consumer_exit);
MODULE_DESCRIPTION("rpadata C test consumer");
MODULE_LICENSE("GPL");
