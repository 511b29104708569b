# SPDX-License-Identifier: GPL-2.0
#
# Kernel TLS through rpcrypt: records over a loopback TCP connection
# (/root/tlsseq, tools/testing/net/tlsseq.c) encrypted and decrypted by
# rpcrypt(gcm(aes)). Unlike ESP, kTLS submits from task context with
# CRYPTO_TFM_REQ_MAY_BACKLOG and does not wait for each request: its short
# records run inline on any CPU when nothing is in flight, the others
# complete on the transform's callback CPU, and the stream must stay intact
# and in order either way. Sourced after crypto.sh and ipsec.sh, whose helpers
# it uses.

TLSSEQ=/root/tlsseq

TLS_CHECKS="ktls_runs_through_rpcrypt ktls_in_order_while_masks_change"

# tls_stream SIZE COUNT: COUNT records of SIZE bytes over kTLS; fails unless
# the stream arrived intact.
tls_stream() {
	$TLSSEQ $1 $2 || fail "$1-byte records: the stream did not arrive intact"
}

# ktls_up: loopback up, rpcrypt wrapping gcm(aes), which kTLS then gets;
# skips where the kernel has no TLS (CONFIG_TLS: built in, or a module
# modprobe finds). The wrap stays until rpcrypt unloads, which IPsec's seqiv
# instance prevents: pcrypt_unprivileged, after these, wraps rpcrypt's.
ktls_up() {
	ulps=/proc/sys/net/ipv4/tcp_available_ulp
	grep -qw tls $ulps 2>/dev/null || modprobe tls 2>/dev/null || true
	grep -qw tls $ulps 2>/dev/null || skip "no kernel TLS (CONFIG_TLS) in this kernel"
	$IP link set lo up
	load_rpcrypt
	echo 'gcm(aes)' > $WRAP
	case "$(driver_of 'gcm(aes)')" in
	rpcrypt\(*) ;;
	*) fail "gcm(aes) is served by $(driver_of 'gcm(aes)'), not rpcrypt" ;;
	esac
}

t_ktls_runs_through_rpcrypt() {
	ktls_up
	n=1000
	through_rpadata tls_stream 16384 $n
	echo "through rpadata: $e encryptions, $d decryptions"
	[ $e -ge $n ] && [ $d -ge $n ] || fail "fewer than $n records each way went through rpadata"
	# Below inline_below: inline when nothing is in flight, else through rpadata.
	tls_stream 64 5000
}

# Mask changes and hotplug move the callback CPU under the stream.
t_ktls_in_order_while_masks_change() {
	[ "$(online_cpus | tail -n1)" != 0 ] || skip "one CPU: no mask change or hotplug possible"
	ktls_up
	$TLSSEQ 16384 3000 &
	pid=$!
	churn_while $pid
	wait $pid || fail "the stream did not arrive intact"
}
