# SPDX-License-Identifier: GPL-2.0
#
# The C ABI end to end: the pcrypt-like C test consumer (needs rpadata loaded).

CONSUMER=$MOD/rpadata_test_consumer.ko
PARAMS=/sys/module/rpadata_test_consumer/parameters

# consumer_result NAME: a result parameter of the loaded consumer.
consumer_result() {
	cat $PARAMS/$1
}

# consumer_clean N [COUNTER...]: the loaded consumer delivered N packets, and
# every failure counter (refused, out_of_order, wrong_cpu, bh_enabled and the
# COUNTERs) is 0.
consumer_clean() {
	n=$1
	shift
	[ "$(consumer_result delivered)" = $n ] || fail "delivered $(consumer_result delivered) of $n"
	for r in refused out_of_order wrong_cpu bh_enabled "$@"; do
		[ "$(consumer_result $r)" = 0 ] || fail "$r = $(consumer_result $r)"
	done
}

t_c_consumer_delivers_every_packet_in_order() {
	insmod $CONSUMER packets=30000 shells=3 || fail "consumer reported a failure: $(dmesg | grep rpadata_test_consumer | tail -n1)"
	consumer_clean 30000 serial_in_softirq
	[ ! -e /sys/kernel/rpadata/rpadata_test ] || fail "instance directory left behind"
	rmmod rpadata_test_consumer
}

# An instance whose serial callbacks run from softirq context
# (RPADATA_SERIAL_SOFTIRQ): same order, CPU and BH guarantees, and every
# serial callback ran from a BH work item.
t_c_consumer_in_order_with_softirq_serial_callbacks() {
	insmod $CONSUMER packets=30000 shells=3 name=bh softirq=1 ||
		fail "consumer reported a failure: $(dmesg | grep rpadata_test_consumer | tail -n1)"
	consumer_clean 30000
	[ "$(consumer_result serial_in_softirq)" = 30000 ] ||
		fail "serial_in_softirq = $(consumer_result serial_in_softirq) of 30000"
	rmmod rpadata_test_consumer
}

# Parallel workers that poll for jobs before they sleep (poll_us, off by
# default): the same guarantees on that path.
t_c_consumer_in_order_with_polling() {
	rmmod rpadata
	insmod $MOD/rpadata.ko poll_us=50 || fail "rpadata did not load with poll_us=50"
	insmod $CONSUMER packets=30000 shells=3 name=poll ||
		fail "consumer reported a failure: $(dmesg | grep rpadata_test_consumer | tail -n1)"
	consumer_clean 30000
	rmmod rpadata_test_consumer
	rmmod rpadata
	insmod $MOD/rpadata.ko
}

t_c_consumer_with_one_shell_and_small_runs() {
	for n in 1 2 17; do
		insmod $CONSUMER packets=$n shells=1 name=small || fail "consumer failed with packets=$n"
		consumer_clean $n
		rmmod rpadata_test_consumer
	done
}

t_c_consumer_bad_parameters_refused() {
	expect_fail_with "Invalid argument" insmod $CONSUMER shells=0
	expect_fail_with "Invalid argument" insmod $CONSUMER shells=9
	[ ! -e /sys/module/rpadata_test_consumer ] || fail "consumer loaded with bad parameters"
}

t_rpadata_cannot_unload_while_consumer_holds_it() {
	insmod $CONSUMER packets=10 name=holder
	if rmmod rpadata 2>/dev/null; then fail "rmmod rpadata succeeded while in use"; fi
	grep -q "^rpadata_test_consumer" /proc/modules || fail "consumer gone"
	[ -d /sys/kernel/rpadata ] || fail "rpadata went away under its user"
	rmmod rpadata_test_consumer
}

# Bad arguments from C: each call fails with its error (most with a
# warning, which make check expects exactly between the consumer's markers).
t_c_abi_misuse_fails_cleanly() {
	insmod $CONSUMER misuse=1 || fail "misuse checks failed: $(dmesg | grep 'check:' | tail -n 3)"
	dmesg | grep -q "misuse end expected_warnings=[0-9]* failures=0" || fail "no misuse summary"
	rmmod rpadata_test_consumer
}

# Multithreaded jobs from C: small, one-thread, empty and split jobs each cover
# their range exactly once, split chunks end on the alignment, and a thread
# function's error comes back (the consumer refuses to load on a failure).
t_c_abi_multithreaded_job_covers_its_range_once() {
	insmod $CONSUMER mt=1 || fail "multithreaded checks failed: $(dmesg | grep 'check:' | tail -n 3)"
	dmesg | grep -q "mt end failures=0" || fail "no multithreaded summary"
	rmmod rpadata_test_consumer
}

t_instance_lifecycle_100_times() {
	i=0
	while [ $i -lt 100 ]; do
		insmod $CONSUMER packets=50 shells=2 name=loop || fail "round $i failed"
		rmmod rpadata_test_consumer
		i=$((i + 1))
	done
	[ -z "$(ls /sys/kernel/rpadata)" ] || fail "stale entries: $(ls /sys/kernel/rpadata)"
}

CAPI_CHECKS="c_abi_misuse_fails_cleanly
c_abi_multithreaded_job_covers_its_range_once
instance_lifecycle_100_times
c_consumer_delivers_every_packet_in_order
c_consumer_in_order_with_softirq_serial_callbacks
c_consumer_in_order_with_polling
c_consumer_with_one_shell_and_small_runs
c_consumer_bad_parameters_refused
rpadata_cannot_unload_while_consumer_holds_it"
