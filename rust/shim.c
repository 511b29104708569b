// SPDX-License-Identifier: GPL-2.0
/*
 * rpadata C shim: helpers for static inline kernel functions that have no
 * Rust binding, the layout of the C ABI's structures as the C compiler sees
 * it, and the EXPORT_SYMBOL_GPL() lines of the C ABI (the functions
 * themselves are written in Rust, see rust/capi.rs).
 */

#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/bitmap.h>
#include <linux/bottom_half.h>
#include <linux/cpuhotplug.h>
#include <linux/interrupt.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/topology.h>
#include <linux/preempt.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>
#include <rpadata.h>

#include "shim.h"

/*
 * Also returns the CPU, which stays the caller's until it enables softirqs
 * again (the submission path needs both, as get_cpu() gives both).
 */
unsigned int rpadata_shim_bh_disable(void)
{
	local_bh_disable();
	return smp_processor_id();
}

void rpadata_shim_bh_enable(void)
{
	local_bh_enable();
}

/*
 * Whether the local_bh_enable() matching the caller's local_bh_disable() will
 * serve softirqs: some are pending on this CPU (raised meanwhile, or left to
 * ksoftirqd by an earlier local_bh_enable() that ran out of time), interrupts
 * are on, and that disable is all the preempt count holds (not a softirq
 * handler, an interrupt or a nested disable). Never on PREEMPT_RT, whose
 * softirq accounting differs.
 */
bool rpadata_shim_softirq_serve_on_enable(void)
{
	return !IS_ENABLED(CONFIG_PREEMPT_RT) && !irqs_disabled() &&
	       preempt_count() == SOFTIRQ_DISABLE_OFFSET &&
	       local_softirq_pending();
}

void rpadata_shim_cond_resched(void)
{
	cond_resched();
}

bool rpadata_shim_in_softirq_or_bh_off(void)
{
	return in_softirq();
}

bool rpadata_shim_in_serving_softirq(void)
{
	return in_serving_softirq();
}

#if IS_ENABLED(CONFIG_KUNIT)
/* Marks the KUnit test case in progress, if any, as skipped (tests only). */
void rpadata_shim_kunit_skip(const char *reason)
{
	struct kunit *test = kunit_get_current_test();

	if (test)
		kunit_mark_skipped(test, "%s", reason);
}
#endif

/* Compared with the Rust definition (JobHeader) when the module loads. */
const size_t rpadata_priv_layout[] = {
	offsetof(struct rpadata_priv, next),
	offsetof(struct rpadata_priv, qnext),
	offsetof(struct rpadata_priv, owner),
	offsetof(struct rpadata_priv, seq),
	offsetof(struct rpadata_priv, cb_cpu),
	offsetof(struct rpadata_priv, state),
	offsetof(struct rpadata_priv, stream),
	offsetof(struct rpadata_priv, parallel),
	offsetof(struct rpadata_priv, serial),
	sizeof(struct rpadata_priv),
};

EXPORT_SYMBOL_GPL(rpadata_alloc);
EXPORT_SYMBOL_GPL(rpadata_alloc_flags);
EXPORT_SYMBOL_GPL(rpadata_free);
EXPORT_SYMBOL_GPL(rpadata_alloc_shell);
EXPORT_SYMBOL_GPL(rpadata_free_shell);
EXPORT_SYMBOL_GPL(rpadata_do_parallel);
EXPORT_SYMBOL_GPL(rpadata_do_serial);
EXPORT_SYMBOL_GPL(rpadata_set_cpumask);
EXPORT_SYMBOL_GPL(rpadata_do_multithreaded);

/*
 * sysfs: the attribute tables of instance and shell directories. show and
 * store pass the attribute's name to Rust (rust/sysfs.rs), which finds the
 * instance or shell by its directory names, so no file ever points into
 * memory that an instance or shell owns.
 */
static ssize_t rpadata_attr_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return rpadata_sysfs_show(kobj, attr->attr.name, buf);
}

static ssize_t rpadata_attr_store(struct kobject *kobj,
				  struct kobj_attribute *attr, const char *buf,
				  size_t count)
{
	return rpadata_sysfs_store(kobj, attr->attr.name, buf, count);
}

#define RPADATA_RW(_name)						\
	static struct kobj_attribute rpadata_attr_##_name =		\
		__ATTR(_name, 0644, rpadata_attr_show, rpadata_attr_store)
#define RPADATA_RO(_name)						\
	static struct kobj_attribute rpadata_attr_##_name =		\
		__ATTR(_name, 0444, rpadata_attr_show, NULL)

RPADATA_RW(parallel_cpumask);
RPADATA_RW(serial_cpumask);
RPADATA_RO(usable_parallel_cpumask);
RPADATA_RO(usable_serial_cpumask);
RPADATA_RO(state);
RPADATA_RO(max_in_flight);
RPADATA_RO(in_flight);

static struct attribute *rpadata_instance_attrs[] = {
	&rpadata_attr_parallel_cpumask.attr,
	&rpadata_attr_serial_cpumask.attr,
	&rpadata_attr_usable_parallel_cpumask.attr,
	&rpadata_attr_usable_serial_cpumask.attr,
	&rpadata_attr_state.attr,
	&rpadata_attr_max_in_flight.attr,
	&rpadata_attr_in_flight.attr,
	NULL,
};

static const struct attribute_group rpadata_instance_group = {
	.attrs = rpadata_instance_attrs,
};

RPADATA_RO(submitted);
RPADATA_RO(serialized);
RPADATA_RO(reorder_pending);
RPADATA_RO(next_seq);

static struct attribute *rpadata_shell_attrs[] = {
	&rpadata_attr_submitted.attr,
	&rpadata_attr_serialized.attr,
	&rpadata_attr_in_flight.attr,
	&rpadata_attr_reorder_pending.attr,
	&rpadata_attr_next_seq.attr,
	NULL,
};

static const struct attribute_group rpadata_shell_group = {
	.attrs = rpadata_shell_attrs,
};

int rpadata_shim_add_files(struct kobject *kobj, bool shell)
{
	return sysfs_create_group(kobj, shell ? &rpadata_shell_group :
					       &rpadata_instance_group);
}

const char *rpadata_shim_kobj_name(const struct kobject *kobj)
{
	return kobject_name(kobj);
}

struct kobject *rpadata_shim_kobj_parent(const struct kobject *kobj)
{
	return kobj->parent;
}

/* The kernel's own cpumask format, as C padata's sysfs files print it. */
int rpadata_shim_emit_cpumask(char *buf, const struct cpumask *mask)
{
	return sysfs_emit(buf, "%*pb\n", cpumask_pr_args(mask));
}

/* The kernel's own parser; bits at or above nr_cpu_ids are an error. */
int rpadata_shim_parse_cpumask(const char *buf, size_t count,
			       struct cpumask *mask)
{
	if (count > UINT_MAX)
		return -EINVAL;
	return bitmap_parse(buf, count, cpumask_bits(mask), nr_cpu_ids);
}

/* cpuhp_setup_state_multi() casts its callbacks; so does this. */
int rpadata_shim_hotplug_setup(int (*online)(unsigned int, struct hlist_node *),
			       int (*offline)(unsigned int, struct hlist_node *))
{
	return cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "rpadata:online",
				       online, offline);
}

bool rpadata_shim_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

/*
 * Whether a worker may keep polling for jobs: nothing else wants this CPU
 * (the test of vhost's busy polling and KVM's halt polling).
 */
bool rpadata_shim_cpu_uncontended(void)
{
	return single_task_running() && !need_resched();
}

/* The next node with CPUs after @node, wrapping (next_node_in()). */
int rpadata_shim_next_node_with_cpus(int node)
{
	return next_node_in(node, node_states[N_CPU]);
}

/*
 * The CPU a multithreaded job's next helper starts on: the first online CPU of
 * @node (of any node for NUMA_NO_NODE, an invalid node or one without online
 * CPUs) after @cursor (after @here for a negative @cursor), wrapping around,
 * and not @here, the caller's CPU, unless no other CPU qualifies.
 */
unsigned int rpadata_shim_helper_cpu(int node, int cursor, unsigned int here)
{
	const struct cpumask *mask = cpu_online_mask;
	unsigned int cpu;

	if (node >= 0 && node < MAX_NUMNODES && node_online(node) &&
	    cpumask_intersects(cpumask_of_node(node), cpu_online_mask))
		mask = cpumask_of_node(node);
	cpu = cpumask_next_and_wrap(cursor < 0 ? here : cursor, mask, cpu_online_mask);
	if (cpu == here)
		cpu = cpumask_next_and_wrap(here, mask, cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : here;
}

/*
 * Queues a multithreaded job's helper on the unbound workqueue @wq, to start on
 * rpadata_shim_helper_cpu(@node, *@cursor, caller's CPU); *@cursor becomes
 * that CPU.
 *
 * queue_work_node() would start every helper in the caller's own pod (its CPU
 * for a node of its own or NUMA_NO_NODE), where the scheduler finds no idle CPU
 * if the pod is one CPU (no cache shared with the others): the helper then
 * shares the caller's CPU until a load balance moves one of them. Preemption
 * stays disabled from the choice to the queueing, so the chosen CPU is still
 * online when the work is queued (as in queue_work_node()).
 */
bool rpadata_shim_queue_helper(struct workqueue_struct *wq, struct work_struct *work,
			       int node, int *cursor)
{
	bool queued;

	preempt_disable();
	*cursor = rpadata_shim_helper_cpu(node, *cursor, smp_processor_id());
	queued = queue_work_on(*cursor, wq, work);
	preempt_enable();
	return queued;
}

int rpadata_shim_numa_node_id(void)
{
	return numa_node_id();
}

unsigned int rpadata_shim_nodes_with_cpus(void)
{
	return num_node_state(N_CPU);
}
