# SPDX-License-Identifier: GPL-2.0
#
# Module lifecycle: parameters, the sysfs root, unloading.

t_insmod_refuses_out_of_range_max_in_flight() {
	for v in 0 1048577 4294967295; do
		expect_fail_with "Invalid argument" insmod $MOD/rpadata.ko max_in_flight=$v
		dmesg | grep -q "max_in_flight=$v is out of range" ||
			fail "no message naming max_in_flight=$v"
		[ ! -e /sys/kernel/rpadata ] || fail "/sys/kernel/rpadata left behind"
		[ ! -e /sys/module/rpadata ] || fail "module loaded despite max_in_flight=$v"
	done
}

t_insmod_refuses_out_of_range_poll_us() {
	for v in 1001 4294967295; do
		expect_fail_with "Invalid argument" insmod $MOD/rpadata.ko poll_us=$v
		dmesg | grep -q "poll_us=$v is out of range" ||
			fail "no message naming poll_us=$v"
		[ ! -e /sys/module/rpadata ] || fail "module loaded despite poll_us=$v"
	done
}

t_insmod_refuses_non_numeric_max_in_flight() {
	expect_fail_with "Invalid argument" insmod $MOD/rpadata.ko max_in_flight=lots
	[ ! -e /sys/module/rpadata ] || fail "module loaded with max_in_flight=lots"
}

# This load also runs the KUnit suites (the KTAP make check parses). Later
# loads do not: a glob that matches no suite keeps them from running again (on
# the debug kernel they take minutes). A kernel without KUnit (Debian's) runs
# none.
t_insmod_creates_sysfs_root() {
	insmod $MOD/rpadata.ko
	[ ! -d /sys/module/kunit ] || echo "rpadata_no_suite" > /sys/module/kunit/parameters/filter_glob
	[ -d /sys/kernel/rpadata ] || fail "no /sys/kernel/rpadata after insmod"
	[ "$(cat /sys/module/rpadata/initstate)" = live ] || fail "module not live"
}

t_rmmod_removes_sysfs_root() {
	rmmod rpadata
	[ ! -e /sys/kernel/rpadata ] || fail "/sys/kernel/rpadata still there after rmmod"
	insmod $MOD/rpadata.ko >/dev/null
	[ -d /sys/kernel/rpadata ] || fail "no /sys/kernel/rpadata after reload"
}

# 100 loads and unloads of rpadata itself: each must create and remove the
# sysfs root (on the debug kernel kmemleak then scans for leaks). The KUnit
# suites do not run again (t_insmod_creates_sysfs_root).
t_rpadata_load_unload_100_times() {
	rmmod rpadata
	i=0
	while [ $i -lt 100 ]; do
		insmod $MOD/rpadata.ko max_in_flight=$((i + 1)) poll_us=$((i * 10)) ||
			fail "load $i failed"
		[ -d /sys/kernel/rpadata ] || fail "no /sys/kernel/rpadata at load $i"
		dmesg | tail -n 3 | grep -q "loaded (max_in_flight=$((i + 1)), poll_us=$((i * 10)))" ||
			fail "load $i did not take max_in_flight=$((i + 1)) poll_us=$((i * 10))"
		rmmod rpadata || fail "unload $i failed"
		[ ! -e /sys/kernel/rpadata ] || fail "/sys/kernel/rpadata left after unload $i"
		i=$((i + 1))
	done
	insmod $MOD/rpadata.ko
}

# The modules DKMS installed for this kernel (make check KERNEL=debian puts
# them under updates/dkms): modprobe resolves rpcrypt's dependency on rpadata
# through modules.dep, as on a user's machine.
t_modprobe_loads_the_dkms_modules() {
	dir=/lib/modules/$(uname -r)/updates/dkms
	[ -f $dir/rpadata.ko ] || skip "no DKMS-installed rpadata for $(uname -r) (KERNEL=debian only)"
	modprobe rpcrypt || fail "modprobe rpcrypt failed"
	[ "$(cat /sys/module/rpadata/initstate)" = live ] || fail "rpadata not loaded as rpcrypt's dependency"
	[ -d /sys/kernel/rpadata ] || fail "no /sys/kernel/rpadata"
	rmmod rpcrypt
	rmmod rpadata
	[ ! -e /sys/module/rpadata ] || fail "rpadata still loaded"
}

MODULE_CHECKS="modprobe_loads_the_dkms_modules
insmod_refuses_out_of_range_max_in_flight
insmod_refuses_out_of_range_poll_us
insmod_refuses_non_numeric_max_in_flight
insmod_creates_sysfs_root
rmmod_removes_sysfs_root
rpadata_load_unload_100_times"
