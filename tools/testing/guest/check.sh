# SPDX-License-Identifier: GPL-2.0
#
# Guest-side checks run by `make check` (tools/testing/kunit/check), in order.
# Loading rpadata.ko also runs its KUnit suites; their KTAP goes to the kernel
# console and is parsed separately.

. /root/guest/ktap.sh
. /root/guest/module.sh
. /root/guest/capi.sh
. /root/guest/sysfs.sh
. /root/guest/samples.sh

ktap_run $MODULE_CHECKS $CAPI_CHECKS $SAMPLE_CHECKS $SYSFS_CHECKS

# On the debug kernel: unload everything, then let kmemleak scan twice and
# print what it finds (make check fails on "unreferenced object").
if [ -e /sys/kernel/debug/kmemleak ]; then
	rmmod rpadata_test_consumer rpadata_sample_mt rpadata_sample_serial 2>/dev/null
	rmmod rpadata 2>/dev/null
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	# Only leaks whose backtrace involves rpadata's modules.
	awk '/^unreferenced object/ { if (rec ~ /rpadata/) print rec; rec = $0; next }
	     { rec = rec "\n" $0 }
	     END { if (rec ~ /rpadata/) print rec }' /sys/kernel/debug/kmemleak
fi
