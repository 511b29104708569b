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
. /root/guest/crypto.sh
. /root/guest/ipsec.sh
. /root/guest/tls.sh

# The modules built on rpadata that a check may load; rpadata itself is left
# as the checks left it (some unload and reload it on purpose). One rmmod per
# module: busybox's stops at the first one that is not loaded.
unload_clients() {
	for m in rpadata_test_consumer rpadata_sample_mt rpadata_sample_serial rpcrypt; do
		rmmod $m 2>/dev/null
	done
	return 0
}

ktap_cleanup() {
	esp_down
	unload_clients
	af_alg_reset
}

ktap_run $MODULE_CHECKS $CAPI_CHECKS $SAMPLE_CHECKS $SYSFS_CHECKS $CRYPTO_CHECKS $IPSEC_CHECKS \
	$TLS_CHECKS $PCRYPT_CHECKS

# On the debug kernel: unload everything, then let kmemleak scan twice and
# print what it finds (make check fails on "unreferenced object"). Only our
# modules are loaded in this guest, and once they are gone their frames show
# as bare addresses: a report is ours if a frame names rpadata (a module of an
# earlier load still symbolised at the same address) or is not symbolised.
if [ -e /sys/kernel/debug/kmemleak ]; then
	unload_clients
	rmmod rpadata 2>/dev/null
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	awk 'function flush() { if (rec ~ /rpadata/ || (rec "\n") ~ /\n +0x[0-9a-f]+\n/) print rec }
	     /^unreferenced object/ { flush(); rec = $0; next }
	     { rec = rec "\n" $0 }
	     END { flush() }' /sys/kernel/debug/kmemleak
fi
