/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rpadata - padata's parallel execution mechanism, rebuilt in Rust.
 *
 * The C ABI of rpadata.ko. It mirrors <linux/padata.h> with an rpadata_
 * prefix: a module written against padata ports by renaming. Consumer
 * modules build against the same kernel with KBUILD_EXTRA_SYMBOLS pointing at
 * rpadata's Module.symvers; see Documentation/rpadata.rst.
 */
#ifndef _RPADATA_H
#define _RPADATA_H

#include <linux/cpumask.h>
#include <linux/types.h>

#define RPADATA_CPU_SERIAL	0x01
#define RPADATA_CPU_PARALLEL	0x02

/* rpadata_alloc_flags(): serial callbacks run from softirq context (WQ_BH). */
#define RPADATA_SERIAL_SOFTIRQ	0x01
/*
 * rpadata_alloc_flags(): parallel callbacks whose turn falls on the submitting
 * CPU run in rpadata_do_parallel() itself, for submitters that submit a few
 * jobs and then wait or return (crypto, network softirqs).
 */
#define RPADATA_PARALLEL_LOCAL	0x02

struct rpadata_instance;
struct rpadata_shell;

/**
 * struct rpadata_priv - Embedded in the caller's per-job structure.
 * @next: Private: link in the shell's reorder list.
 * @qnext: Private: link in a parallel or serial queue.
 * @shell: Private: the shell the job was submitted to.
 * @seq: Private: sequence number of the job in its shell.
 * @cb_cpu: Private: callback CPU of the job.
 * @state: Private: idle, parallel phase, or on its way to serialization.
 * @stream: Private: the callback CPU asked for, modulo nr_cpu_ids: the job's
 *          stream.
 * @parallel: Called once, with BHs disabled, on a CPU of the parallel mask.
 *            It (or whoever it hands the job to) calls rpadata_do_serial().
 * @serial: Called once, with BHs disabled, on the callback CPU, after the
 *          serial callbacks of every job submitted earlier to the shell
 *          with the same callback CPU, or asking for the same one.
 *
 * The caller zeroes the structure before its first submission and sets
 * @parallel and @serial. After its serial callback has started, a job is
 * idle again and may be resubmitted.
 */
struct rpadata_priv {
	struct rpadata_priv *next;
	struct rpadata_priv *qnext;
	void *shell;
	unsigned int seq;
	int cb_cpu;
	unsigned int state;
	unsigned int stream;
	void (*parallel)(struct rpadata_priv *padata);
	void (*serial)(struct rpadata_priv *padata);
};

struct rpadata_instance *rpadata_alloc(const char *name);
struct rpadata_instance *rpadata_alloc_flags(const char *name,
					     unsigned int flags);
void rpadata_free(struct rpadata_instance *pinst);
struct rpadata_shell *rpadata_alloc_shell(struct rpadata_instance *pinst);
void rpadata_free_shell(struct rpadata_shell *ps);
int rpadata_do_parallel(struct rpadata_shell *ps, struct rpadata_priv *padata,
			int *cb_cpu);
void rpadata_do_serial(struct rpadata_priv *padata);
int rpadata_set_cpumask(struct rpadata_instance *pinst, int cpumask_type,
			const struct cpumask *cpumask);

/**
 * struct rpadata_mt_job - A multithreaded job: a range split into chunks.
 * @thread_fn: Called for each chunk [start, end) with @fn_arg, concurrently
 *             from several threads; returns 0 or a negative errno, which
 *             stops the job.
 * @fn_arg: Shared by every call of @thread_fn.
 * @start: First index.
 * @size: Number of indices; @start + @size must not overflow.
 * @align: Chunk boundaries are multiples of it, but for the job's own start
 *         and end; a power of two, 0 means 1.
 * @min_chunk: Smallest chunk worth a thread.
 * @max_threads: Most threads to use, the caller included; at least 1.
 * @numa_aware: Spread helpers round-robin over the NUMA nodes with CPUs.
 *
 * Chunk size is @size / (threads * 4), at least @min_chunk, at least 1,
 * rounded up to @align, with threads = clamp(@size / max(@min_chunk, @align),
 * 1, @max_threads). One thread runs the whole range at once in the caller.
 */
struct rpadata_mt_job {
	int (*thread_fn)(unsigned long start, unsigned long end, void *arg);
	void *fn_arg;
	unsigned long start;
	unsigned long size;
	unsigned long align;
	unsigned long min_chunk;
	int max_threads;
	bool numa_aware;
};

int rpadata_do_multithreaded(const struct rpadata_mt_job *job);

#endif /* _RPADATA_H */
