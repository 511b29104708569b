#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in the benchmark guest (tools/testing/bench/run): loads rpadata with
# $RPADATA_ARGS and the benchmark module with the arguments given (its init
# does the runs), then measures the memory footprint of instances and shells:
# the kernel's memory counters around each write to the module's mem_alloc
# parameter, C padata and rpadata alternately.

set -e
insmod /lib/modules/rpadata.ko $RPADATA_ARGS
insmod /lib/modules/rpadata_bench.ko "$@"

# Kernel memory that instances and shells can take, in KiB: slab, kernel
# stacks (rescuer and worker threads), per-CPU memory, vmalloc. The per-CPU
# counter deltas are folded first, so the figures are exact.
used() {
	echo 1 > /proc/sys/vm/stat_refresh 2>/dev/null || true
	awk '/^(Slab|KernelStack|Percpu|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo
}

p=/sys/module/rpadata_bench/parameters
# A quick run (only=empty, work or latency) measures nothing else.
[ -n "$(cat $p/only)" ] && exit 0
n=$(cat $p/mem_instances) s=$(cat $p/mem_shells)
for r in 0 1 2 3 4 5; do
	for k in 0 1; do
		impl=$(( (r + k) % 2 ))
		name=c
		[ $impl = 1 ] && name=rpadata
		# Let RCU-deferred frees of the previous round finish first.
		sleep 1
		a=$(used)
		echo $impl > $p/mem_alloc
		sleep 1
		b=$(used)
		echo -1 > $p/mem_alloc
		echo "bench: mem impl=$name round=$r instances=$n shells=$s kib=$((b - a))" > /dev/kmsg
	done
done
