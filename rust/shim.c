// SPDX-License-Identifier: GPL-2.0
/*
 * rpadata C shim: helpers for static inline kernel functions that have no
 * Rust binding, the layout of the C ABI's structures as the C compiler sees
 * it, and the EXPORT_SYMBOL_GPL() lines of the C ABI (the functions
 * themselves are written in Rust, see rust/capi.rs).
 */

#include <linux/bottom_half.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/stddef.h>
#include <rpadata.h>

void rpadata_shim_bh_disable(void)
{
	local_bh_disable();
}

void rpadata_shim_bh_enable(void)
{
	local_bh_enable();
}

bool rpadata_shim_in_softirq_or_bh_off(void)
{
	return in_softirq();
}

/* Compared with the Rust definition (JobHeader) when the module loads. */
const size_t rpadata_priv_layout[] = {
	offsetof(struct rpadata_priv, work),
	offsetof(struct rpadata_priv, next),
	offsetof(struct rpadata_priv, shell),
	offsetof(struct rpadata_priv, seq),
	offsetof(struct rpadata_priv, cb_cpu),
	offsetof(struct rpadata_priv, state),
	offsetof(struct rpadata_priv, parallel),
	offsetof(struct rpadata_priv, serial),
	sizeof(struct rpadata_priv),
};

EXPORT_SYMBOL_GPL(rpadata_alloc);
EXPORT_SYMBOL_GPL(rpadata_free);
EXPORT_SYMBOL_GPL(rpadata_alloc_shell);
EXPORT_SYMBOL_GPL(rpadata_free_shell);
EXPORT_SYMBOL_GPL(rpadata_do_parallel);
EXPORT_SYMBOL_GPL(rpadata_do_serial);
EXPORT_SYMBOL_GPL(rpadata_set_cpumask);
