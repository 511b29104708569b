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
