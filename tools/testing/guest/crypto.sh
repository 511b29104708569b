# SPDX-License-Identifier: GPL-2.0
#
# rpcrypt's guest-side checks: the privilege rule, the kernel's crypto
# self-tests (their vectors include bad tags, so the inner AEAD's errors must
# reach the caller) and tcrypt's multibuffer AEAD test through rpcrypt
# instances, cpumask and hotplug churn under load, and unload safety. Needs
# /root/alg (tools/testing/crypto/alg.c) and /root/tcrypt.ko. AF_ALG only
# serves synchronous AEADs, so it never uses rpcrypt or pcrypt (both
# asynchronous), but a bind still instantiates them. From 7.3 on,
# crypto.af_alg_restrict (default 1) refuses, with ENOENT, every AEAD bind
# of a name off the kernel's short allow-list, root's included, before any
# lookup; the privilege checks assert that, then lift it (0, 7.2's
# behaviour) so that the templates' own rules are what they test. The check
# in PCRYPT_CHECKS instantiates C pcrypt for gcm(aes), which no later check
# can undo: it runs after all others.

ALG=/root/alg
WRAP=/sys/module/rpcrypt/parameters/wrap
ENC=/sys/kernel/rpadata/rpcrypt_enc
DEC=/sys/kernel/rpadata/rpcrypt_dec
RESTRICT=/proc/sys/crypto/af_alg_restrict
# The AEADs the self-test check wraps; ESP uses the first and the last.
AEADS="rfc4106(gcm(aes)) gcm(aes) rfc4543(gcm(aes)) authenc(hmac(sha256),cbc(aes))"

CRYPTO_CHECKS="rpcrypt_privilege rpcrypt_selftests rpcrypt_both_paths rpcrypt_wrap_at_load
	rpcrypt_tcrypt rpcrypt_waiting_caller_inline_on_any_cpu rpcrypt_tcrypt_churn rpcrypt_unload"
# After every other check (see above).
PCRYPT_CHECKS="pcrypt_unprivileged"

load_rpcrypt() {
	[ -d /sys/module/rpadata ] || insmod $MOD/rpadata.ko
	[ -d /sys/module/rpcrypt ] || insmod $MOD/rpcrypt.ko
}

# af_alg_lift TEMPLATE: where the kernel has crypto.af_alg_restrict, assert
# that it is at its default and keeps an unprivileged and a root bind of
# TEMPLATE(gcm(aes)) from registering anything, then lift it to 0.
af_alg_lift() {
	if [ ! -e $RESTRICT ]; then
		echo "no crypto.af_alg_restrict on this kernel"
		return 0
	fi
	[ "$(cat $RESTRICT)" = 1 ] || fail "crypto.af_alg_restrict is $(cat $RESTRICT), not 1"
	algs > /tmp/algs.restricted
	expect_fail_with "bind: ENOENT" $ALG -u bind "$1(gcm(aes))"
	expect_fail_with "bind: ENOENT" $ALG bind "$1(gcm(aes))"
	algs | diff /tmp/algs.restricted - || fail "/proc/crypto changed under the restriction"
	echo 0 > $RESTRICT
	echo "crypto.af_alg_restrict=1 refused both binds with ENOENT; lifted to 0"
}

# af_alg_reset: crypto.af_alg_restrict back to its default, where it exists.
af_alg_reset() {
	[ ! -e $RESTRICT ] || echo 1 > $RESTRICT
}

# driver_of NAME: the driver /proc/crypto serves NAME with (highest priority).
driver_of() {
	awk -v n="$1" '
		/^name/ { name = $3 } /^driver/ { drv = $3 }
		/^priority/ { if (name == n && $3 > best) { best = $3; d = drv } }
		END { print d }' /proc/crypto
}

# algs: /proc/crypto without reference counts (which lookups move).
algs() {
	grep -v '^refcnt' /proc/crypto
}

# settle: wait (at most 30 s) for the crypto manager's work in progress, the
# boot-time self-tests' reference implementations say (larvals).
settle() {
	i=0
	while grep -q '^type *: larval' /proc/crypto && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! grep -q '^type *: larval' /proc/crypto || fail "/proc/crypto does not settle"
}

# selftest_of DRIVER: the self-test result /proc/crypto shows for DRIVER.
selftest_of() {
	awk -v d="$1" '/^driver/ { on = ($3 == d) } on && /^selftest/ { print $3; exit }' \
		/proc/crypto
}

# serialized DIR: jobs serialized so far by every shell of an instance.
serialized() {
	cat "$1"/shells/*/serialized | awk '{ s += $1 } END { print s + 0 }'
}

# through_rpadata CMD...: runs CMD and sets e and d to the jobs rpcrypt's
# encryption and decryption instances serialized meanwhile. Not for a
# condition (`|| fail`): there set -e would not stop CMD at its first
# failure.
through_rpadata() {
	e0=$(serialized $ENC)
	d0=$(serialized $DEC)
	"$@"
	e=$(($(serialized $ENC) - e0))
	d=$(($(serialized $DEC) - d0))
}

t_rpcrypt_privilege() {
	load_rpcrypt
	settle
	algs > /tmp/algs.before
	[ -z "$(cat $WRAP)" ] || fail "wrap not empty at load: $(cat $WRAP)"
	af_alg_lift rpcrypt
	# An unprivileged process can neither instantiate rpcrypt nor allow it.
	expect_fail_with "bind: EPERM" $ALG -u bind 'rpcrypt(gcm(aes))'
	expect_fail_with "open: EACCES" $ALG -u write $WRAP 'gcm(aes)'
	# Nor can root through AF_ALG: only the wrap list decides.
	expect_fail_with "bind: EPERM" $ALG bind 'rpcrypt(rfc4106(gcm(aes)))'
	algs | diff /tmp/algs.before - || fail "/proc/crypto changed"
	! grep -q rpcrypt /proc/crypto || fail "an rpcrypt instance was registered"
	# Bad writes: an error, nothing kept.
	expect_fail_with "Invalid argument" sh -c "echo 'gcm(aes);x' > $WRAP"
	expect_fail_with "Invalid argument" sh -c "echo '  ' > $WRAP"
	expect_fail_with "No such file or directory" sh -c "echo 'nosuch(aes)' > $WRAP"
	[ -z "$(cat $WRAP)" ] || fail "a refused write left: $(cat $WRAP)"
	algs | diff /tmp/algs.before - || fail "/proc/crypto changed by bad writes"
	# Root's path: a write of the name.
	echo 'gcm(aes)' > $WRAP
	[ "$(cat $WRAP)" = 'gcm(aes)' ] || fail "wrap reads '$(cat $WRAP)'"
	drv=$(driver_of 'gcm(aes)')
	case "$drv" in rpcrypt\(*\)) ;; *) fail "gcm(aes) is served by '$drv'" ;; esac
	# The same write again changes nothing.
	echo 'gcm(aes)' > $WRAP
	[ "$(cat $WRAP)" = 'gcm(aes)' ] || fail "a second write changed wrap: $(cat $WRAP)"
	# rpcrypt(gcm(aes)) by name stays refused: only the wrapped driver's is made.
	expect_fail_with "bind: EPERM" $ALG -u bind 'rpcrypt(gcm(aes))'
	[ "$(grep -c '^driver *: rpcrypt(' /proc/crypto)" = 1 ] ||
		fail "rpcrypt instances: $(grep '^driver *: rpcrypt(' /proc/crypto)"
	af_alg_reset
}

# Each AEAD on its own (a fresh rpcrypt each): wrapping gcm(aes) would also
# change what a template on gcm(aes), rfc4543 say, is built on.
t_rpcrypt_selftests() {
	load_rpcrypt
	for a in $AEADS; do
		rmmod rpcrypt
		insmod $MOD/rpcrypt.ko
		dmesg -c > /dev/null
		echo "$a" > $WRAP
		drv=$(driver_of "$a")
		case "$drv" in rpcrypt\(*\)) ;; *) fail "$a is served by '$drv'" ;; esac
		st=$(selftest_of "$drv")
		[ "$st" = passed ] || fail "$drv: selftest '$st'"
		echo "$drv: selftest $st"
		! dmesg | grep -E '^(\[[ 0-9.]*\] )?alg: ' || fail "the crypto manager reported a failure"
	done
	[ -d $ENC ] && [ -d $DEC ] || fail "rpcrypt's instances are not in sysfs"
}

# The self-tests again with every request through rpadata (inline_below=0)
# and with most in the caller (4096): both paths return the inner AEAD's
# results and errors (-EBADMSG for the vectors with a bad tag).
t_rpcrypt_both_paths() {
	load_rpcrypt
	for below in 0 4096; do
		rmmod rpcrypt
		insmod $MOD/rpcrypt.ko inline_below=$below
		dmesg -c > /dev/null
		echo 'gcm(aes)' > $WRAP
		drv=$(driver_of 'gcm(aes)')
		st=$(selftest_of "$drv")
		[ "$st" = passed ] || fail "inline_below=$below: $drv: selftest '$st'"
		! dmesg | grep -E '^(\[[ 0-9.]*\] )?alg: ' || fail "the crypto manager reported a failure"
		n=$(serialized $DEC)
		echo "inline_below=$below: $drv selftest $st, $n decryptions through rpadata"
		if [ $below = 0 ]; then
			[ "$n" -ge 100 ] || fail "only $n decryptions went through rpadata"
		fi
	done
	rmmod rpcrypt
}

# Names given at load time are wrapped by the module's init, in order; a
# malformed list, or an AEAD that cannot be wrapped, fails the load and
# leaves nothing behind (the kernel's parser takes the quotes).
t_rpcrypt_wrap_at_load() {
	load_rpcrypt
	rmmod rpcrypt
	expect_fail_with "Invalid argument" insmod $MOD/rpcrypt.ko 'wrap=bad!name'
	[ ! -e /sys/module/rpcrypt ] || fail "loaded despite a malformed wrap"
	dmesg -c > /dev/null
	expect_fail_with "can't insert" insmod $MOD/rpcrypt.ko 'wrap="gcm(aes) nosuch(aes)"'
	dmesg | grep -q "wrap nosuch(aes): error -2" || fail "no message naming nosuch(aes)"
	[ ! -e /sys/module/rpcrypt ] || fail "loaded despite an AEAD that does not exist"
	[ ! -e $ENC ] && [ ! -e $DEC ] || fail "the failed load left its instances"
	case "$(driver_of 'gcm(aes)')" in rpcrypt\(*) fail "gcm(aes) is still served by rpcrypt" ;; esac
	insmod $MOD/rpcrypt.ko 'wrap="rfc4106(gcm(aes)) gcm(aes)"'
	[ "$(cat $WRAP | tr '\n' ' ')" = 'rfc4106(gcm(aes)) gcm(aes) ' ] ||
		fail "wrap after the load: $(cat $WRAP)"
	for a in 'rfc4106(gcm(aes))' 'gcm(aes)'; do
		drv=$(driver_of "$a")
		case "$drv" in rpcrypt\(*\)) ;; *) fail "$a is served by '$drv'" ;; esac
		echo "$a: $drv"
	done
	rmmod rpcrypt
}

# tcrypt_run ARGS: tcrypt's multibuffer AEAD test (mode 215) through rpcrypt,
# run by $PIN (if set, a command prefix such as "taskset -c 1"); fails on any
# error it reports. tcrypt's insmod always fails (EAGAIN) once it has run
# (and busybox's insmod would then run it again).
tcrypt_run() {
	dmesg -c > /dev/null
	${PIN:-} $ALG load /root/tcrypt.ko "mode=215 num_mb=8 $*" >/dev/null || true
	dmesg > /tmp/tcrypt.log
	all=$(grep -c 'testing speed of multibuffer' /tmp/tcrypt.log)
	n=$(grep -c 'testing speed of multibuffer .* (rpcrypt(' /tmp/tcrypt.log)
	[ "$n" -ge 4 ] && [ "$n" = "$all" ] ||
		{ cat /tmp/tcrypt.log; fail "tcrypt ran $n of its $all tests through rpcrypt"; }
	! grep -E 'error|failed|Failed' /tmp/tcrypt.log || fail "tcrypt reported errors"
	grep -q 'byte blocks' /tmp/tcrypt.log || fail "tcrypt measured nothing"
}

t_rpcrypt_tcrypt() {
	load_rpcrypt
	echo 'rfc4106(gcm(aes)) gcm(aes)' > $WRAP
	echo 256 > /sys/module/rpcrypt/parameters/inline_below
	through_rpadata tcrypt_run
	# Six block sizes of eight at or above inline_below, 8 x 12 requests
	# each in cycles mode, three key sizes, two AEADs: 3456 per instance.
	[ $e -ge 3456 ] || fail "rpcrypt_enc serialized $e jobs"
	[ $d -ge 3456 ] || fail "rpcrypt_dec serialized $d jobs"
	echo "serialized: enc $e, dec $d"
}

# tcrypt waits for its requests (task context, CRYPTO_TFM_REQ_MAY_BACKLOG):
# those shorter than inline_below run in it on whichever CPU it runs, not
# only on their transform's callback CPU. With inline_below=4096 only the
# 4096- and 8192-byte blocks go through rpadata: 8 x 12 requests each in
# cycles mode, three key sizes, two AEADs, both directions, and the
# decryption tests' 8 encryptions of their input per block size: 1248
# encryptions and 1152 decryptions, with tcrypt on each online CPU in turn.
# A few more may: tcrypt can wake and submit on another CPU before the
# serial callback that woke it drops its transform's in-flight count. A
# rule that ran them in the caller only on the callback CPU sends thousands
# more.
t_rpcrypt_waiting_caller_inline_on_any_cpu() {
	load_rpcrypt
	echo 'rfc4106(gcm(aes)) gcm(aes)' > $WRAP
	settle
	below=$(cat /sys/module/rpcrypt/parameters/inline_below)
	echo 4096 > /sys/module/rpcrypt/parameters/inline_below
	for cpu in $(online_cpus); do
		PIN="taskset -c $cpu" through_rpadata tcrypt_run
		echo "tcrypt on CPU $cpu: serialized enc $e, dec $d"
		[ $e -ge 1248 ] && [ $e -lt 1344 ] && [ $d -ge 1152 ] && [ $d -lt 1248 ] ||
			fail "tcrypt on CPU $cpu: enc $e, dec $d"
	done
	echo $below > /sys/module/rpcrypt/parameters/inline_below
}

# churn_while PID [masks|parallel|hotplug]: until process PID exits, change
# rpcrypt_enc's and rpcrypt_dec's cpumasks and take the last CPU offline and
# back ("masks": no hotplug; "parallel": parallel masks only, no hotplug;
# "hotplug": parallel masks and hotplug); then restore the masks. Fails
# unless two rounds or more ran. CPU 0 stays in both masks: a mask with no
# online CPU makes an instance invalid, and rpcrypt then fails requests with
# -EINVAL (as pcrypt does) instead of reordering them.
churn_while() {
	cpus=$(online_cpus)
	last=$(echo "$cpus" | tail -n1)
	all=0
	for c in $cpus; do all=$((all | (1 << c))); done
	i=0
	while kill -0 $1 2>/dev/null; do
		i=$((i + 1))
		k=$((1 + i % last))
		for d in $ENC $DEC; do
			printf '%x\n' $((all & ~(1 << k))) > $d/parallel_cpumask
			case "$2" in hotplug|parallel) ;;
			*) printf '%x\n' $((1 | (1 << k))) > $d/serial_cpumask ;; esac
		done
		case "$2" in masks|parallel) continue ;; esac
		echo 0 > /sys/devices/system/cpu/cpu$last/online
		echo 1 > /sys/devices/system/cpu/cpu$last/online
	done
	for d in $ENC $DEC; do
		printf '%x\n' $all > $d/parallel_cpumask
		printf '%x\n' $all > $d/serial_cpumask
	done
	echo "$i rounds of churn (${2:-masks and hotplug})"
	[ $i -ge 2 ] || fail "only $i rounds of churn ran"
}

# The same while the masks change and a CPU goes offline and back.
t_rpcrypt_tcrypt_churn() {
	load_rpcrypt
	echo 'rfc4106(gcm(aes)) gcm(aes)' > $WRAP
	[ "$(online_cpus | tail -n1)" != 0 ] || skip "one CPU: no mask change or hotplug possible"
	tcrypt_run &
	pid=$!
	churn_while $pid
	wait $pid
}

# rmmod while tcrypt's transforms come and go: refused while one exists,
# never a crash or a lost request; afterwards it succeeds and leaves nothing.
t_rpcrypt_unload() {
	load_rpcrypt
	echo 'rfc4106(gcm(aes)) gcm(aes)' > $WRAP
	tcrypt_run &
	pid=$!
	i=0
	while [ "$(cat /sys/module/rpcrypt/refcnt)" = 0 ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	refused=0
	while kill -0 $pid 2>/dev/null; do
		if rmmod rpcrypt 2>/dev/null; then
			break	# between two of tcrypt's transforms: safe too
		fi
		refused=$((refused + 1))
	done
	wait $pid || true	# tcrypt may have lost rpcrypt half-way: not an error here
	echo "rmmod refused $refused times while tcrypt ran"
	[ $refused -ge 1 ] || fail "rmmod never refused"
	if [ -d /sys/module/rpcrypt ] && rmmod rpadata 2>/dev/null; then
		fail "rmmod rpadata succeeded under rpcrypt"
	fi
	[ ! -d /sys/module/rpcrypt ] || rmmod rpcrypt
	! grep -q '^driver *: rpcrypt(' /proc/crypto || fail "rpcrypt instances left after rmmod"
	[ ! -d $ENC ] && [ ! -d $DEC ] || fail "rpcrypt's rpadata instances left after rmmod"
	# A fresh load starts with nothing wrapped.
	insmod $MOD/rpcrypt.ko
	[ -z "$(cat $WRAP)" ] || fail "wrap after reload: $(cat $WRAP)"
	rmmod rpcrypt
}

# What C pcrypt allows instead (Documentation/rpadata.rst, "rpcrypt"): any
# process may instantiate it, and every user of gcm(aes) then gets it; on
# 7.3, once AF_ALG's restriction is lifted.
t_pcrypt_unprivileged() {
	! grep -q '^driver *: pcrypt(' /proc/crypto || fail "pcrypt already instantiated"
	af_alg_lift pcrypt
	# The bind itself fails (pcrypt is asynchronous); the instance stays.
	$ALG -u bind 'pcrypt(gcm(aes))' || true
	drv=$(driver_of 'gcm(aes)')
	case "$drv" in pcrypt\(*\)) ;; *) fail "gcm(aes) is served by '$drv'" ;; esac
	echo "an unprivileged bind made $drv serve gcm(aes)"
	af_alg_reset
}
