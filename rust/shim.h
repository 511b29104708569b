/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between rust/shim.c and the Rust side of rpadata: the C
 * helpers Rust calls (declared again in rust/ffi.rs) and the Rust functions
 * the C attribute tables call.
 */
#ifndef _RPADATA_SHIM_H
#define _RPADATA_SHIM_H

#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/types.h>

unsigned int rpadata_shim_bh_disable(void);
void rpadata_shim_bh_enable(void);
bool rpadata_shim_softirq_serve_on_enable(void);
void rpadata_shim_cond_resched(void);
bool rpadata_shim_in_softirq_or_bh_off(void);
bool rpadata_shim_in_serving_softirq(void);
void rpadata_shim_kunit_skip(const char *reason);
extern const size_t rpadata_priv_layout[10];

int rpadata_shim_add_files(struct kobject *kobj, bool shell);
const char *rpadata_shim_kobj_name(const struct kobject *kobj);
struct kobject *rpadata_shim_kobj_parent(const struct kobject *kobj);
int rpadata_shim_emit_cpumask(char *buf, const struct cpumask *mask);
int rpadata_shim_parse_cpumask(const char *buf, size_t count,
			       struct cpumask *mask);
bool rpadata_shim_fatal_signal_pending(void);
bool rpadata_shim_cpu_uncontended(void);
int rpadata_shim_next_node_with_cpus(int node);
unsigned int rpadata_shim_helper_cpu(int node, int cursor, unsigned int here);
bool rpadata_shim_queue_helper(struct workqueue_struct *wq, struct work_struct *work,
			       int node, int *cursor);
int rpadata_shim_numa_node_id(void);
unsigned int rpadata_shim_nodes_with_cpus(void);
int rpadata_shim_hotplug_setup(int (*online)(unsigned int, struct hlist_node *),
			       int (*offline)(unsigned int, struct hlist_node *));

/* Written in Rust (rust/sysfs.rs). */
ssize_t rpadata_sysfs_show(struct kobject *kobj, const char *attr, char *buf);
ssize_t rpadata_sysfs_store(struct kobject *kobj, const char *attr,
			    const char *buf, size_t count);

#endif /* _RPADATA_SHIM_H */
