# SPDX-License-Identifier: GPL-2.0
#
# IPsec through rpcrypt: ESP in transport mode between the initial network
# namespace and a second one ("esp") joined by a veth pair, SAs and policies
# both ways, over IPv4 or IPv6, configured with iproute2's ip (/usr/sbin/ip,
# brought in by qemu-run --bin), and numbered UDP datagrams (/root/udpseq,
# tools/testing/net/udpseq.c) that must all arrive, in order, intact.
# Sourced after crypto.sh, whose helpers it uses.

IP=/usr/sbin/ip
UDPSEQ=/root/udpseq
NETNS=/run/netns/esp
# The addresses the SAs join, here and in "esp": IPv4 unless a check sets
# them to ESP6_A and ESP6_B.
ESP_A=10.9.0.1
ESP_B=10.9.0.2
ESP6_A=fd00:9::1
ESP6_B=fd00:9::2
# The veth ends' addresses, for permanent neighbour entries.
MAC_A=02:00:0a:09:00:01
MAC_B=02:00:0a:09:00:02
# 128-bit AES keys; rfc4106 takes 4 more bytes of salt.
KEY_GCM=0x0123456789abcdef0123456789abcdef01234567
KEY_AES=0x00112233445566778899aabbccddeeff
KEY_SHA=0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

IPSEC_CHECKS="ipsec_esp_runs_through_rpcrypt ipsec_in_order_while_masks_change
	ipsec_nothing_lost_while_callback_cpus_move ipsec_in_order_across_hotplug
	ipsec_authenc_runs_through_rpcrypt ipsec_small_datagrams_in_order ipsec_sas_hold_rpcrypt
	ipsec6_esp_runs_through_rpcrypt ipsec6_in_order_across_hotplug"

# esp_link: the two namespaces and the veth pair, 10.9.0.1 and fd00:9::1
# here, 10.9.0.2 and fd00:9::2 in "esp", without IPsec. The neighbours are
# permanent: a window of datagrams sent while neighbour discovery runs would
# overflow its queue (IPv6's, whose advertisements ESP protects, loses some).
esp_link() {
	mkdir -p /run/netns
	$IP netns add esp
	$IP link add veth0 address $MAC_A type veth peer name veth1 address $MAC_B netns esp
	$IP addr add 10.9.0.1/24 dev veth0
	$IP addr add $ESP6_A/64 dev veth0 nodad
	$IP neigh add 10.9.0.2 lladdr $MAC_B dev veth0 nud permanent
	$IP neigh add $ESP6_B lladdr $MAC_B dev veth0 nud permanent
	$IP link set lo up
	$IP link set veth0 up
	$IP -n esp addr add 10.9.0.2/24 dev veth1
	$IP -n esp addr add $ESP6_B/64 dev veth1 nodad
	$IP -n esp neigh add 10.9.0.1 lladdr $MAC_A dev veth1 nud permanent
	$IP -n esp neigh add $ESP6_A lladdr $MAC_A dev veth1 nud permanent
	$IP -n esp link set lo up
	$IP -n esp link set veth1 up
}

# esp_sas ALGO...: the same two SAs (SPI 0x100 from $ESP_A, 0x200 back) in
# both namespaces, with ip xfrm's algorithm arguments ALGO, and the policies
# that send all traffic between the two addresses through them.
esp_sas() {
	for ns in "" "-n esp"; do
		$IP $ns xfrm state add src $ESP_A dst $ESP_B proto esp spi 0x100 \
			reqid 1 mode transport replay-window 64 "$@"
		$IP $ns xfrm state add src $ESP_B dst $ESP_A proto esp spi 0x200 \
			reqid 2 mode transport replay-window 64 "$@"
	done
	$IP xfrm policy add src $ESP_A dst $ESP_B dir out \
		tmpl src $ESP_A dst $ESP_B proto esp reqid 1 mode transport
	$IP xfrm policy add src $ESP_B dst $ESP_A dir in \
		tmpl src $ESP_B dst $ESP_A proto esp reqid 2 mode transport
	$IP -n esp xfrm policy add src $ESP_B dst $ESP_A dir out \
		tmpl src $ESP_B dst $ESP_A proto esp reqid 2 mode transport
	$IP -n esp xfrm policy add src $ESP_A dst $ESP_B dir in \
		tmpl src $ESP_A dst $ESP_B proto esp reqid 1 mode transport
}

esp_gcm() {
	esp_sas aead 'rfc4106(gcm(aes))' $KEY_GCM 128
}

esp_authenc() {
	esp_sas auth-trunc 'hmac(sha256)' $KEY_SHA 128 enc 'cbc(aes)' $KEY_AES
}

# esp_down: no namespace, veth, SA or policy left. The namespace's SAs are
# flushed first: they would otherwise live on until its teardown, which runs
# later; deleting the namespace deletes both ends of the veth pair.
esp_down() {
	for ns in "" "-n esp"; do
		[ -z "$ns" ] || [ -e $NETNS ] || continue
		$IP $ns xfrm policy flush || true
		$IP $ns xfrm state flush || true
	done
	[ ! -e $NETNS ] || $IP netns del esp || true
	! $IP link show veth0 2>/dev/null || $IP link del veth0 || true
}

# refcnt_of DRIVER: the reference count /proc/crypto shows for DRIVER.
refcnt_of() {
	awk -v d="$1" '/^driver/ { on = ($3 == d) } on && /^refcnt/ { print $3; exit }' /proc/crypto
}

# esp_released: after esp_down, the SAs' transforms go (a work item frees
# them, a moment after the flush; at most 10 s): SA_DRIVER's reference count
# drops below SA_REFS, its count while they lived. The instance itself stays
# registered, and keeps rpcrypt loaded, as an instance built on pcrypt keeps
# pcrypt (Documentation/rpadata.rst, "IPsec on rpcrypt").
esp_released() {
	i=0
	while [ "$(refcnt_of "$SA_DRIVER")" -ge $SA_REFS ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(refcnt_of "$SA_DRIVER")" -lt $SA_REFS ] ||
		fail "$SA_DRIVER still holds $(refcnt_of "$SA_DRIVER") references"
}

# esp_traffic SIZE COUNT [unordered]: COUNT datagrams of SIZE bytes from
# $ESP_A to $ESP_B in "esp", sent by $PIN (if set, a command prefix such as
# "taskset -c 1"); fails unless every one arrived, once, intact and (unless
# "unordered") in order.
esp_traffic() {
	$UDPSEQ -n $NETNS recv 7777 $1 > /tmp/udpseq.out 2>&1 &
	rpid=$!
	sleep 0.5
	${PIN:-} $UDPSEQ send $ESP_B 7777 $1 $2 ||
		{ cat /tmp/udpseq.out; fail "udpseq send failed"; }
	wait $rpid || [ "$3" = unordered ] || { cat /tmp/udpseq.out; fail "udpseq recv failed"; }
	cat /tmp/udpseq.out
	order=0
	[ "$3" != unordered ] || order='[0-9]*'
	grep -q "^received $2 lost 0 reordered $order corrupt 0 duplicate 0 " /tmp/udpseq.out ||
		fail "not every datagram arrived once, intact${3:+ (order not checked)};" \
			"receiving SA: $(esp_counters "-n esp" 0x100)"
}

# esp_counters NS SPI: the ESP replay and integrity failure counters of SA
# SPI (hex, as ip prints it) in namespace NS ("" or "-n esp"), then its
# packets, as "replay R failed F packets P".
esp_counters() {
	$IP $1 -s xfrm state get src $ESP_A dst $ESP_B proto esp spi $2 |
		awk '/replay-window/ { for (i = 1; i < NF; i++) {
				if ($i == "replay") r = $(i + 1); if ($i == "failed") f = $(i + 1) } }
		     /lifetime current/ { cur = 1; next }
		     cur && /\(packets\)/ { sub(/\(packets\)/, ""); split($0, a, ","); p = a[2] + 0; cur = 0 }
		     END { printf "replay %s failed %s packets %s\n", r, f, p }'
}

# esp_clean: the receiving SA's counters ("replay R failed F packets P", in
# $c); fails unless ESP counted no replay or integrity failure.
esp_clean() {
	c=$(esp_counters "-n esp" 0x100)
	case "$c" in "replay 0 failed 0 packets "*) ;; *) fail "ESP counted replays or failures: $c" ;; esac
}

# ipsec_up AEAD SAS: rpcrypt wrapping AEAD, the link and SAs made with SAS
# (esp_gcm or esp_authenc); checks that the SAs' AEAD is built on rpcrypt's
# and sets SA_DRIVER to its driver name, SA_REFS to its reference count.
ipsec_up() {
	load_rpcrypt
	echo "$1" > $WRAP
	esp_link
	$2
	# ESP's IV generator: seqiv for rfc4106, echainiv for authenc.
	case "$1" in rfc4106*) geniv=seqiv ;; *) geniv=echainiv ;; esac
	SA_DRIVER=$(awk -v g="^$geniv\\(rpcrypt\\(" '/^driver/ && $3 ~ g { print $3; exit }' \
		/proc/crypto)
	[ -n "$SA_DRIVER" ] || { grep -B1 -A2 'rpcrypt(' /proc/crypto; fail "no SA uses rpcrypt"; }
	SA_REFS=$(refcnt_of "$SA_DRIVER")
	echo "the SAs use $SA_DRIVER"
}

t_ipsec_esp_runs_through_rpcrypt() {
	ipsec_up 'rfc4106(gcm(aes))' esp_gcm
	n=20000
	through_rpadata esp_traffic 1400 $n
	echo "through rpadata: $e encryptions, $d decryptions"
	[ $e -ge $n ] && [ $d -ge $n ] || fail "fewer than $n requests each way went through rpadata"
	esp_clean
	echo "receiving SA: $c"
	[ "${c##* }" -ge $n ] || fail "the receiving SA counted ${c##* } packets"
	esp_down
	esp_released
}

# esp_churn MODE [unordered]: the traffic of the first check while
# churn_while MODE runs; then ESP must have counted no replay or failure.
esp_churn() {
	[ "$(online_cpus | tail -n1)" != 0 ] || skip "one CPU: no mask change or hotplug possible"
	ipsec_up 'rfc4106(gcm(aes))' esp_gcm
	esp_traffic 1400 20000 $2 &
	pid=$!
	churn_while $pid $1
	wait $pid
	esp_clean
	esp_down
	esp_released
}

# Parallel mask changes: nothing lost or reordered.
t_ipsec_in_order_while_masks_change() {
	esp_churn parallel
}

# Serial mask changes move the SAs' callback CPUs. rpadata completes the
# requests left on the old CPU, and (when that holds the new ones back) lets
# that CPU's network stack take the packets they handed it, before those sent
# to the new one; ESP's per-CPU xfrm_trans work, which delivers decrypted
# packets to the socket, may still let the new CPU's overtake them (none in
# most runs): nothing may be lost, the order is reported, not checked.
t_ipsec_nothing_lost_while_callback_cpus_move() {
	esp_churn masks unordered
}

# The last CPU goes offline and back (its jobs run elsewhere, in order) while
# the parallel masks change.
t_ipsec_in_order_across_hotplug() {
	esp_churn hotplug
}

t_ipsec_authenc_runs_through_rpcrypt() {
	ipsec_up 'authenc(hmac(sha256),cbc(aes))' esp_authenc
	through_rpadata esp_traffic 1400 5000
	[ $d -ge 5000 ] || fail "decryptions did not go through rpadata"
	esp_down
	esp_released
}

# Small datagrams, below inline_below: ESP sets neither MAY_SLEEP nor
# MAY_BACKLOG, so every request goes through rpadata, whichever CPU the
# sender is on, and completes on the transform's callback CPU: the order
# holds also where the stack keeps it only per CPU (ESP's per-CPU
# xfrm_trans queue). The sender is pinned to each CPU in turn, then left to
# move; decryptions are submitted wherever the encryptions complete. Each
# way, the datagrams and the receiver's acknowledgments (one per 32) must
# all have gone through rpadata.
t_ipsec_small_datagrams_in_order() {
	ipsec_up 'rfc4106(gcm(aes))' esp_gcm
	[ "$(cat /sys/module/rpcrypt/parameters/inline_below)" -gt 64 ] ||
		fail "inline_below is not above the datagrams' size"
	n=3000
	for cpu in $(online_cpus) any; do
		PIN="taskset -c $cpu"
		[ $cpu != any ] || PIN=
		through_rpadata esp_traffic 64 $n
		echo "sender on CPU $cpu: through rpadata: $e encryptions, $d decryptions"
		[ $e -ge $((n + n / 32)) ] && [ $d -ge $((n + n / 32)) ] ||
			fail "sender on CPU $cpu: fewer than $((n + n / 32)) requests each way went through rpadata"
	done
	esp_clean
	esp_down
	esp_released
}

# rmmod and deleting the SAs' instance are refused while SAs hold rpcrypt's
# transforms, and the traffic is unharmed.
t_ipsec_sas_hold_rpcrypt() {
	ipsec_up 'rfc4106(gcm(aes))' esp_gcm
	! rmmod rpcrypt 2>/dev/null || fail "rmmod rpcrypt succeeded under live SAs"
	! rmmod rpadata 2>/dev/null || fail "rmmod rpadata succeeded under rpcrypt"
	expect_fail_with "del: EBUSY" $ALG del "$SA_DRIVER"
	# Through rpadata (above inline_below), whose order does not depend on
	# the sender staying on one CPU.
	esp_traffic 1400 1000
	esp_down
	esp_released
}

# IPv6 (esp6): the first check, and the hotplug one, between ESP6_A and ESP6_B.
t_ipsec6_esp_runs_through_rpcrypt() {
	ESP_A=$ESP6_A
	ESP_B=$ESP6_B
	t_ipsec_esp_runs_through_rpcrypt
}

t_ipsec6_in_order_across_hotplug() {
	ESP_A=$ESP6_A
	ESP_B=$ESP6_B
	t_ipsec_in_order_across_hotplug
}
