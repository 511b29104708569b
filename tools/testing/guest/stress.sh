# SPDX-License-Identifier: GPL-2.0
#
# `make stress`: the hotplug/cpumask/traffic stress of sysfs.sh for longer,
# with multithreaded jobs (the sample, loaded and unloaded in a loop) running
# alongside. STRESS_ROUNDS and STRESS_SEED come from the environment.

. /root/guest/ktap.sh
. /root/guest/capi.sh
. /root/guest/sysfs.sh

insmod $MOD/rpadata.ko

t_multithreaded_jobs_alongside() {
	n=0
	while [ -e /tmp/stress.running ]; do
		insmod $MOD/rpadata_sample_mt.ko size_mib=4 threads=0 || fail "sample_mt failed"
		rmmod rpadata_sample_mt
		n=$((n + 1))
	done
	echo "$n multithreaded sample runs"
	[ $n -gt 0 ] || fail "no multithreaded run"
}

touch /tmp/stress.running
( ktap_run multithreaded_jobs_alongside > /tmp/mt.ktap ) &
mt=$!
ktap_run hotplug_and_mask_stress_loses_and_reorders_nothing
rm /tmp/stress.running
wait $mt
grep -q "^ok" /tmp/mt.ktap && echo "# multithreaded jobs alongside: ok" ||
	{ cat /tmp/mt.ktap; echo "not ok 2 multithreaded_jobs_alongside"; }
