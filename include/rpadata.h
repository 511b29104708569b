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

/**
 * define RPADATA_CPU_SERIAL - rpadata_set_cpumask(): the serial mask, the
 * CPUs allowed as callback CPUs.
 */
#define RPADATA_CPU_SERIAL	0x01
/**
 * define RPADATA_CPU_PARALLEL - rpadata_set_cpumask(): the parallel mask, the
 * CPUs that run parallel callbacks.
 */
#define RPADATA_CPU_PARALLEL	0x02

/**
 * define RPADATA_SERIAL_SOFTIRQ - rpadata_alloc_flags(): serial callbacks run
 * from softirq context.
 *
 * The instance's serial workqueue is a BH workqueue (WQ_BH): a serial callback
 * runs as soon as its CPU leaves the interrupt or BH-disabled section it is in,
 * instead of when a worker gets the CPU. The callbacks' rules do not change.
 */
#define RPADATA_SERIAL_SOFTIRQ	0x01
/**
 * define RPADATA_PARALLEL_LOCAL - rpadata_alloc_flags(): the submitting CPU
 * takes its own turns of parallel callbacks.
 *
 * By default the turns that fall on the submitting CPU are handed to the other
 * CPUs of the parallel mask. With this flag they are queued on the submitting
 * CPU and run once the submitter waits, returns or is preempted, for
 * submitters that submit a few jobs and then wait or return (crypto, network
 * softirqs). See Documentation/rpadata.rst, "Jobs in flight".
 */
#define RPADATA_PARALLEL_LOCAL	0x02

struct rpadata_instance;
struct rpadata_shell;

/**
 * struct rpadata_priv - One serialized job, embedded in the caller's per-job
 * structure.
 * @parallel: Called once, with BHs disabled, on a CPU of the usable parallel
 *            mask. It (or whoever it hands the job to) calls
 *            rpadata_do_serial().
 * @serial: Called once, with BHs disabled, on the job's callback CPU, after
 *          the serial callbacks of every job submitted earlier to the shell
 *          with the same callback CPU, or asking for the same one.
 *
 * The caller zeroes the structure before its first submission and sets
 * @parallel and @serial; the other fields belong to rpadata. Once its serial
 * callback has started, a job is idle again and may be freed or resubmitted.
 */
struct rpadata_priv {
	/* private: */
	/* Link in the shell's reorder list. */
	struct rpadata_priv *next;
	/* Link in a parallel or serial queue. */
	struct rpadata_priv *qnext;
	/* What the job was submitted to (its shell). */
	const void *owner;
	/* Sequence number of the job in its shell. */
	unsigned int seq;
	/* Callback CPU of the job. */
	int cb_cpu;
	/* Idle, parallel phase, or on its way to serialization. */
	unsigned int state;
	/* The callback CPU asked for, modulo nr_cpu_ids: the job's stream. */
	unsigned int stream;
	/* public: */
	void (*parallel)(struct rpadata_priv *padata);
	void (*serial)(struct rpadata_priv *padata);
};

/**
 * rpadata_alloc() - Allocate an rpadata instance.
 * @name: Identifies the instance: 1 to 22 characters from [A-Za-z0-9_.-], not
 *        starting with a dot, unique among rpadata instances. It names the
 *        instance's workqueues, <name>_parallel and <name>_serial, and its
 *        sysfs directory, /sys/kernel/rpadata/<name>.
 *
 * Both cpumasks start as all possible CPUs.
 *
 * Context: Process context; sleeps.
 * Return: The new instance, or NULL on any error (bad or duplicate name, no
 * memory).
 */
struct rpadata_instance *rpadata_alloc(const char *name);

/**
 * rpadata_alloc_flags() - Allocate an rpadata instance with options.
 * @name: As for rpadata_alloc().
 * @flags: RPADATA_SERIAL_SOFTIRQ, RPADATA_PARALLEL_LOCAL, both or 0.
 *
 * Context: Process context; sleeps.
 * Return: The new instance, or NULL on any error, an unknown flag included.
 */
struct rpadata_instance *rpadata_alloc_flags(const char *name,
					     unsigned int flags);

/**
 * rpadata_free() - Free an rpadata instance.
 * @pinst: The instance, or NULL (ignored).
 *
 * Frees any shell still attached, with a warning, each after its jobs have
 * been serialized; then waits for every job of the instance and destroys its
 * workqueues and sysfs directory. Nothing may use @pinst or its shells
 * concurrently or afterwards.
 *
 * Context: Process context, not from a job callback; sleeps.
 */
void rpadata_free(struct rpadata_instance *pinst);

/**
 * rpadata_alloc_shell() - Allocate a shell of an instance.
 * @pinst: The instance.
 *
 * A shell is an independent ordered stream of jobs: a job submitted to one
 * shell never waits for a job of another.
 *
 * Context: Process context; sleeps.
 * Return: The new shell, or NULL on error (NULL @pinst, instance being freed,
 * no memory).
 */
struct rpadata_shell *rpadata_alloc_shell(struct rpadata_instance *pinst);

/**
 * rpadata_free_shell() - Free a shell.
 * @ps: The shell, or NULL (ignored).
 *
 * Waits until every job submitted to @ps has had its serial callback, then
 * frees it. Its instance must still be live; nothing may use @ps concurrently
 * or afterwards.
 *
 * Context: Process context, not from a job callback; sleeps.
 */
void rpadata_free_shell(struct rpadata_shell *ps);

/**
 * rpadata_do_parallel() - Submit a serialized job.
 * @ps: The shell whose order the job takes its place in.
 * @padata: The job, zeroed before its first submission, with both callbacks
 *          set. It must stay valid, and untouched but for its callbacks,
 *          until its serial callback is called.
 * @cb_cpu: In: the preferred callback CPU. Out, written before the job can
 *          run: that CPU if it is in the usable serial mask, otherwise the
 *          (@cb_cpu % n)-th of its n CPUs (the first for a negative
 *          @cb_cpu). Read once and, on success, written once, as
 *          READ_ONCE() and WRITE_ONCE() do: concurrent submissions may
 *          share it (a transform's, as in crypto/rpcrypt.c), which may be
 *          freed once the job has completed, even before this returns.
 *
 * The parallel callback runs once, with BHs disabled, on a CPU of the usable
 * parallel mask: in a worker, or in the caller when the shell's in-flight
 * limit is reached or (without RPADATA_PARALLEL_LOCAL) when the caller's CPU
 * is the only usable parallel CPU. Submissions racing with a cpumask change or
 * CPU hotplug succeed; there is no -EBUSY.
 *
 * Context: Process or softirq context.
 * Return: 0 if the job is in flight; -EINVAL if the instance is invalid (a
 * usable mask is empty) or being freed, an argument is NULL, a callback is
 * missing, or @padata is already in flight.
 */
int rpadata_do_parallel(struct rpadata_shell *ps, struct rpadata_priv *padata,
			int *cb_cpu);

/**
 * rpadata_do_serial() - End a job's parallel phase.
 * @padata: The job, in its parallel phase and owned by the caller (its
 *          parallel callback, or whoever that handed the job to).
 *
 * The job's serial callback will run on its callback CPU once every job
 * submitted earlier to the shell has been passed on to its serial queue. A job
 * not in its parallel phase (never submitted, or already passed to this
 * function) is refused with a warning and left unchanged.
 *
 * Context: Process or softirq context; does not sleep.
 */
void rpadata_do_serial(struct rpadata_priv *padata);

/**
 * rpadata_set_cpumask() - Replace one of an instance's user cpumasks.
 * @pinst: The instance.
 * @cpumask_type: RPADATA_CPU_PARALLEL or RPADATA_CPU_SERIAL.
 * @cpumask: The new mask. It may name offline CPUs; the instance uses the
 *           online ones (the usable mask) and is invalid while there are
 *           none.
 *
 * Jobs in flight are neither lost nor reordered, also when the change gives
 * their stream another callback CPU.
 *
 * Context: Process context; sleeps. Takes the CPU hotplug lock.
 * Return: 0; -EINVAL for an unknown @cpumask_type, a NULL argument or an empty
 * mask, which change nothing; -ENOMEM.
 */
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

/**
 * rpadata_do_multithreaded() - Run a multithreaded job.
 * @job: Description of the job; not modified.
 *
 * Runs @job->thread_fn over every chunk of [start, start + size), in the
 * caller and in up to max_threads - 1 helpers on system_dfl_wq, and returns
 * when every chunk is done. Unlike padata_do_multithreaded() it may be called
 * at any time, and a thread function may itself run a multithreaded job.
 *
 * Context: Process context; may sleep.
 * Return: 0; the first negative value a thread function returned (no chunk is
 * handed out after it); -EINTR if the caller got a fatal signal; -EINVAL,
 * before any work, for a NULL @job or thread function, max_threads < 1, an
 * align that is not a power of two, or start + size overflowing. A job of
 * size 0 returns 0 without calling anything.
 */
int rpadata_do_multithreaded(const struct rpadata_mt_job *job);

#endif /* _RPADATA_H */
