# SPDX-License-Identifier: GPL-2.0
#
# sysfs files of instances and shells, and CPU hotplug, through the C test
# consumer (needs rpadata loaded and at least 2 CPUs). Masks are derived from
# the CPUs present: ALL (every CPU), REST (all but CPU 0), LAST (the highest
# CPU, LASTBIT its mask bit) and OVER (the first bit past the last CPU), in
# the files' format (%*pb: a hex digit per 4 CPUs).

INST=/sys/kernel/rpadata/rpadata_test
NCPU=$(($(cut -d- -f2 /sys/devices/system/cpu/possible) + 1))
LAST=$((NCPU - 1))
mask() { printf "%0$(((NCPU + 3) / 4))x" $1; }
ALL=$(mask $(((1 << NCPU) - 1)))
REST=$(mask $(((1 << NCPU) - 2)))
LASTBIT=$(mask $((1 << LAST)))
OVER=$(printf %x $((1 << NCPU)))

# write FILE VALUE: write like `echo VALUE > FILE`, failing with the error.
write() {
	echo "$2" > "$1"
}

# consumer_held: the consumer's idle instance with 3 shells of 1000 jobs
# each, loaded unless a check before left it loaded.
consumer_held() {
	[ -d $INST ] || insmod $CONSUMER packets=3000 shells=3 hold=1
}

t_sysfs_instance_files_show_defaults() {
	consumer_held
	for f in parallel_cpumask serial_cpumask usable_parallel_cpumask usable_serial_cpumask; do
		[ "$(cat $INST/$f)" = $ALL ] || fail "$f = $(cat $INST/$f), expected $ALL"
	done
	[ "$(cat $INST/state)" = running ] || fail "state = $(cat $INST/state)"
	[ "$(cat $INST/max_in_flight)" = 1000 ] || fail "max_in_flight = $(cat $INST/max_in_flight)"
	[ "$(cat $INST/in_flight)" = 0 ] || fail "in_flight = $(cat $INST/in_flight) when idle"
}

t_sysfs_shell_counters_balance_when_idle() {
	consumer_held
	[ "$(ls $INST/shells | wc -l)" = 3 ] || fail "shells: $(ls $INST/shells)"
	for s in $INST/shells/*; do
		[ "$(cat $s/submitted)" = 1000 ] || fail "$s/submitted = $(cat $s/submitted)"
		[ "$(cat $s/serialized)" = 1000 ] || fail "$s/serialized = $(cat $s/serialized)"
		[ "$(cat $s/in_flight)" = 0 ] || fail "$s/in_flight = $(cat $s/in_flight)"
		[ "$(cat $s/reorder_pending)" = 0 ] || fail "$s/reorder_pending = $(cat $s/reorder_pending)"
		[ "$(cat $s/next_seq)" = 1000 ] || fail "$s/next_seq = $(cat $s/next_seq)"
	done
}

t_sysfs_mask_writes_apply() {
	consumer_held
	write $INST/parallel_cpumask $REST
	[ "$(cat $INST/parallel_cpumask)" = $REST ] || fail "parallel_cpumask = $(cat $INST/parallel_cpumask)"
	[ "$(cat $INST/usable_parallel_cpumask)" = $REST ] || fail "usable = $(cat $INST/usable_parallel_cpumask)"
	# bitmap_parse() takes bare hex only, as C padata's files do.
	expect_fail_with "Invalid argument" write $INST/serial_cpumask 0x$LASTBIT
	[ "$(cat $INST/serial_cpumask)" = $ALL ] || fail "serial_cpumask = $(cat $INST/serial_cpumask) after 0x$LASTBIT"
	write $INST/serial_cpumask $LASTBIT
	[ "$(cat $INST/serial_cpumask)" = $LASTBIT ] || fail "serial_cpumask = $(cat $INST/serial_cpumask)"
	write $INST/parallel_cpumask $ALL
	write $INST/serial_cpumask $ALL
}

# Every malformed value fails with an error and leaves the mask as it was.
t_sysfs_bad_writes_fail_and_change_nothing() {
	consumer_held
	long=$(head -c 5000 /dev/zero | tr '\0' f)
	for f in parallel_cpumask serial_cpumask; do
		write $INST/$f $LASTBIT
		for v in "" "xyz" ",,," "," "$OVER" "0" "00000000" "$long" "1 zz" "1,zz" "-1" "1g"; do
			if write $INST/$f "$v" 2>/dev/null; then
				fail "$f: writing '$(echo "$v" | cut -c1-20)' succeeded"
			fi
			[ "$(cat $INST/$f)" = $LASTBIT ] || fail "$f changed to $(cat $INST/$f) by '$v'"
		done
		write $INST/$f $ALL
	done
	[ "$(cat $INST/state)" = running ] || fail "state = $(cat $INST/state)"
}

t_sysfs_offline_only_mask_is_accepted_and_invalid_until_online() {
	consumer_held
	echo 0 > /sys/devices/system/cpu/cpu$LAST/online
	write $INST/parallel_cpumask $LASTBIT || fail "mask of an offline CPU refused"
	[ "$(cat $INST/parallel_cpumask)" = $LASTBIT ] || fail "parallel_cpumask = $(cat $INST/parallel_cpumask)"
	[ "$(cat $INST/state)" = invalid ] || fail "state = $(cat $INST/state) with only CPU $LAST (offline)"
	[ "$(cat $INST/usable_parallel_cpumask)" = $(mask 0) ] || fail "usable = $(cat $INST/usable_parallel_cpumask)"
	echo 1 > /sys/devices/system/cpu/cpu$LAST/online
	[ "$(cat $INST/state)" = running ] || fail "state = $(cat $INST/state) after CPU $LAST came back"
	[ "$(cat $INST/usable_parallel_cpumask)" = $LASTBIT ] || fail "usable = $(cat $INST/usable_parallel_cpumask)"
	write $INST/parallel_cpumask $ALL
}

t_hotplug_offline_shrinks_usable_and_online_restores() {
	consumer_held
	left=$(mask $(((1 << NCPU) - 1 - (1 << LAST))))
	echo 0 > /sys/devices/system/cpu/cpu$LAST/online
	[ "$(cat $INST/usable_parallel_cpumask)" = $left ] || fail "usable parallel = $(cat $INST/usable_parallel_cpumask)"
	[ "$(cat $INST/usable_serial_cpumask)" = $left ] || fail "usable serial = $(cat $INST/usable_serial_cpumask)"
	[ "$(cat $INST/parallel_cpumask)" = $ALL ] || fail "user mask changed: $(cat $INST/parallel_cpumask)"
	echo 1 > /sys/devices/system/cpu/cpu$LAST/online
	[ "$(cat $INST/usable_parallel_cpumask)" = $ALL ] || fail "usable parallel = $(cat $INST/usable_parallel_cpumask)"
}

t_sysfs_files_go_with_the_instance() {
	consumer_held
	rmmod rpadata_test_consumer
	[ ! -e $INST ] || fail "$INST still there"
	[ -d /sys/kernel/rpadata ] || fail "root gone"
}

# all_online: CPUs 1 to LAST back online.
all_online() {
	cpu=1
	while [ $cpu -le $LAST ]; do
		echo 1 > /sys/devices/system/cpu/cpu$cpu/online
		cpu=$((cpu + 1))
	done
}

# Background load for the stress: instances with shells allocated, used and
# freed (the serialized sample) and multithreaded jobs (the multithreaded
# sample), in a loop until /tmp/stress.running goes; each run must succeed.
stress_background() {
	n=0
	while [ -e /tmp/stress.running ]; do
		insmod $MOD/rpadata_sample_serial.ko jobs=2000 || { echo "serial sample failed"; return 1; }
		rmmod rpadata_sample_serial
		insmod $MOD/rpadata_sample_mt.ko size_mib=4 || { echo "mt sample failed"; return 1; }
		rmmod rpadata_sample_mt
		n=$((n + 1))
	done
	echo "$n background rounds" > /tmp/stress.rounds
}

# The stress (short here, long in `make stress`): traffic through 4 shells
# while CPUs 1-3 go and come, random masks (some malformed) are written to
# both files, other instances come and go and multithreaded jobs run, and
# files are read while the instance is freed. Every packet must be delivered
# once, in order; every background run must succeed.
t_hotplug_and_mask_stress_loses_and_reorders_nothing() {
	RANDOM=${STRESS_SEED:-42}
	insmod $CONSUMER flood=1 shells=4
	# Reads fail while the instance goes away: expected, and not the reader's status.
	( while [ -e $INST ]; do cat $INST/*mask* $INST/state $INST/shells/*/* >/dev/null 2>&1 || true; done ) &
	reader=$!
	touch /tmp/stress.running
	rm -f /tmp/stress.rounds
	stress_background > /tmp/stress.bg 2>&1 &
	bg=$!
	i=0
	while [ $i -lt ${STRESS_ROUNDS:-60} ]; do
		cpu=$((RANDOM % LAST + 1))
		# A hotplug request may be refused (e.g. -EBUSY); the storm goes on.
		echo $((RANDOM % 2)) > /sys/devices/system/cpu/cpu$cpu/online 2>/dev/null || true
		for f in parallel_cpumask serial_cpumask; do
			good=$(mask $((RANDOM % ((1 << NCPU) - 1) + 1)))
			write $INST/$f $good || fail "valid mask $good refused on $f"
			[ "$(cat $INST/$f)" = "$good" ] || fail "$f = $(cat $INST/$f), wrote $good"
			bad=$(echo "zz 0 ,, $OVER 1g" | cut -d' ' -f$((RANDOM % 5 + 1)))
			if write $INST/$f "$bad" 2>/dev/null; then fail "bad mask '$bad' accepted on $f"; fi
			[ "$(cat $INST/$f)" = "$good" ] || fail "$f changed by bad write '$bad'"
		done
		i=$((i + 1))
	done
	rm /tmp/stress.running
	wait $bg || fail "background load failed: $(cat /tmp/stress.bg)"
	[ -s /tmp/stress.rounds ] || fail "background load did not finish a round: $(cat /tmp/stress.bg)"
	cat /tmp/stress.rounds
	all_online
	write $INST/parallel_cpumask $ALL
	write $INST/serial_cpumask $ALL
	sleep 1
	rmmod rpadata_test_consumer
	wait $reader
	line=$(dmesg | grep "flood done" | tail -n1)
	echo "$line"
	case "$line" in
	*" ok") ;;
	*) fail "flood failed: $line" ;;
	esac
	[ "$(cat /sys/devices/system/cpu/online)" = 0-$LAST ] || fail "CPUs online: $(cat /sys/devices/system/cpu/online)"
}

# Serial callbacks from softirq context (RPADATA_SERIAL_SOFTIRQ) while CPUs
# 1-3 go and come: the BH work of a serial queue whose CPU is offline must run
# elsewhere, and no packet may be lost or reordered within its callback CPU's
# stream.
t_hotplug_with_softirq_serial_callbacks_loses_and_reorders_nothing() {
	RANDOM=${STRESS_SEED:-42}
	insmod $CONSUMER flood=1 shells=4 softirq=1 name=bh_flood
	i=0
	while [ $i -lt 40 ]; do
		cpu=$((RANDOM % LAST + 1))
		echo $((RANDOM % 2)) > /sys/devices/system/cpu/cpu$cpu/online 2>/dev/null || true
		i=$((i + 1))
	done
	all_online
	rmmod rpadata_test_consumer
	line=$(dmesg | grep "flood done" | tail -n1)
	echo "$line"
	case "$line" in
	*" ok") ;;
	*) fail "flood failed: $line" ;;
	esac
	[ "$(cat /sys/devices/system/cpu/online)" = 0-$LAST ] || fail "CPUs online: $(cat /sys/devices/system/cpu/online)"
}

SYSFS_CHECKS="sysfs_instance_files_show_defaults
sysfs_shell_counters_balance_when_idle
sysfs_mask_writes_apply
sysfs_bad_writes_fail_and_change_nothing
sysfs_offline_only_mask_is_accepted_and_invalid_until_online
hotplug_offline_shrinks_usable_and_online_restores
sysfs_files_go_with_the_instance
hotplug_and_mask_stress_loses_and_reorders_nothing
hotplug_with_softirq_serial_callbacks_loses_and_reorders_nothing"
