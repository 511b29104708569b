# SPDX-License-Identifier: GPL-2.0
#
# Minimal KTAP producer for guest-side checks (busybox sh). A check is a shell
# function that fails (non-zero) when the behaviour it pins down is wrong; its
# output is shown as KTAP diagnostics only when it fails. The document it
# prints is parsed on the host by tools/testing/kunit/kunit.py parse.

MOD=/lib/modules

# fail MESSAGE: print why a check failed and fail it.
fail() {
	echo "$*"
	return 1
}

# expect_fail_with ERRNAME COMMAND...: COMMAND must fail and say ERRNAME.
expect_fail_with() {
	want=$1
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded, expected $want"
		return 1
	fi
	case "$out" in
	*"$want"*) return 0 ;;
	esac
	fail "'$*' failed without $want: $out"
}

# online_cpus: the online CPUs' numbers, one per line.
online_cpus() {
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		n=${c##*cpu}
		if [ ! -e "$c/online" ] || [ "$(cat "$c/online")" = 1 ]; then
			echo "$n"
		fi
	done | sort -n
}

# skip REASON: end the current check as not applicable here; it reports
# "# SKIP REASON", which counts neither as passed nor as failed.
skip() {
	echo "$*" > /tmp/ktap.skip
	exit 0
}

# ktap_cleanup: run after a check that failed, so that what it left behind
# (a module it did not get to unload) does not fail the checks after it too.
# Checks that pass clean up after themselves. A suite may redefine it.
ktap_cleanup() {
	:
}

# ktap_run NAME...: run the checks t_NAME in order, print one KTAP document.
ktap_run() {
	echo "KTAP version 1"
	echo "1..$#"
	i=0
	for t in "$@"; do
		i=$((i + 1))
		# Not in an `if`: a shell ignores `set -e` in everything run as a
		# condition, subshells included, and a check would then pass
		# whenever its last command did.
		rm -f /tmp/ktap.skip
		(set -e; "t_$t") >/tmp/ktap.out 2>&1
		rc=$?
		if [ $rc = 0 ] && [ -f /tmp/ktap.skip ]; then
			echo "ok $i $t # SKIP $(cat /tmp/ktap.skip)"
		elif [ $rc = 0 ]; then
			echo "ok $i $t"
		else
			sed 's/^/# /' /tmp/ktap.out
			echo "not ok $i $t"
			ktap_cleanup
		fi
	done
}
