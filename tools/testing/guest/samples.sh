# SPDX-License-Identifier: GPL-2.0
#
# The sample modules (Rust, over rpadata's client API); need rpadata loaded.

t_sample_mt_parameters_validated() {
	expect_fail_with "Invalid argument" insmod $MOD/rpadata_sample_mt.ko size_mib=0
	expect_fail_with "Invalid argument" insmod $MOD/rpadata_sample_mt.ko size_mib=1025
	expect_fail_with "Invalid argument" insmod $MOD/rpadata_sample_mt.ko threads=65
	dmesg | grep -q "rpadata_sample_mt: threads=65 is out of range" || fail "no message for threads=65"
	[ ! -e /sys/module/rpadata_sample_mt ] || fail "sample loaded with bad parameters"
}

t_sample_mt_checksums_match_and_report_speedup() {
	n=$(online_cpus | wc -l)
	insmod $MOD/rpadata_sample_mt.ko size_mib=16 threads=$n || fail "sample failed: $(dmesg | tail -n 2)"
	line=$(dmesg | grep "rpadata_sample_mt: size=16 MiB threads=$n checksum=" | tail -n1)
	case "$line" in
	*speedup=*) ;;
	*) fail "no speedup line: $line" ;;
	esac
	rmmod rpadata_sample_mt
}

t_sample_serial_digest_matches() {
	expect_fail_with "Invalid argument" insmod $MOD/rpadata_sample_serial.ko jobs=0
	insmod $MOD/rpadata_sample_serial.ko jobs=20000 || fail "sample failed: $(dmesg | tail -n 2)"
	dmesg | grep -q "rpadata_sample_serial: jobs=20000 serialized=20000 out_of_order=0 .*(matches the serial digest)" ||
		fail "$(dmesg | grep rpadata_sample_serial | tail -n1)"
	rmmod rpadata_sample_serial
}

SAMPLE_CHECKS="sample_mt_parameters_validated
sample_mt_checksums_match_and_report_speedup
sample_serial_digest_matches"
