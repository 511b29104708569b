# SPDX-License-Identifier: GPL-2.0
#
# `make stress`: the stress of sysfs.sh (flood, hotplug, cpumask writes,
# instances and multithreaded jobs in the background), for STRESS_ROUNDS
# rounds with STRESS_SEED, both from the environment.

. /root/guest/ktap.sh
. /root/guest/capi.sh
. /root/guest/sysfs.sh

insmod $MOD/rpadata.ko
ktap_run hotplug_and_mask_stress_loses_and_reorders_nothing
