// SPDX-License-Identifier: GPL-2.0
/*
 * rpcrypt - parallel AEAD on rpadata.
 *
 * The template rpcrypt(<aead>) spreads the requests of any AEAD over CPUs
 * through two rpadata instances, rpcrypt_enc and rpcrypt_dec, and completes
 * them in submission order per transform, on a callback CPU chosen per
 * transform (short requests aside, below). The instances are tunable like
 * any other under /sys/kernel/rpadata/.
 *
 * Wrapping an AEAD changes what every user of it gets, IPsec included, so
 * only root may do it: a write to the root-only parameter "wrap" resolves
 * each name to the driver serving it and makes rpcrypt(<driver>). Any other
 * rpcrypt(...), an unprivileged AF_ALG bind say, fails with -EPERM and
 * registers nothing.
 *
 * A request shorter than "inline_below" bytes runs in the caller when the
 * inner AEAD is synchronous, no request of its transform is in flight and
 * the caller is in task context with CRYPTO_TFM_REQ_MAY_SLEEP or
 * _MAY_BACKLOG set (tcrypt, which waits for its requests): the hand-off
 * costs more than such a request's work, and with nothing in flight the
 * order cannot change. Other callers (ESP sets neither flag) always hand
 * off: run inline, each request of a stream would complete before the next
 * is submitted, so none would ever be in flight and the stream would never
 * reach a second CPU.
 *
 * See Documentation/rpadata.rst, "rpcrypt".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <crypto/internal/aead.h>
#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <rpadata.h>

/* AEADs the "wrap" parameter holds at most. */
#define RPCRYPT_MAX_WRAPPED 16

static struct rpadata_instance *rpcrypt_enc;
static struct rpadata_instance *rpcrypt_dec;

/**
 * struct rpcrypt_wrapped - An AEAD root allowed to be wrapped.
 * @name: As written to "wrap".
 * @driver: The driver it resolved to; rpcrypt(@driver) is what is made.
 */
struct rpcrypt_wrapped {
	char name[CRYPTO_MAX_ALG_NAME];
	char driver[CRYPTO_MAX_ALG_NAME];
};

/* Serializes writes of "wrap" (and the names given at load). */
static DEFINE_MUTEX(rpcrypt_wrap_writer);
/* Protects the list; rpcrypt_create() takes it while a writer waits for it. */
static DEFINE_MUTEX(rpcrypt_wrap_lock);
static struct rpcrypt_wrapped rpcrypt_wrapped[RPCRYPT_MAX_WRAPPED];
static unsigned int rpcrypt_nr_wrapped;
/*
 * Under rpcrypt_wrap_writer: names written before rpcrypt_init() has made
 * the template (at load time, or to sysfs meanwhile), which it wraps, and
 * whether it did; after a failed init, writes fail.
 */
static char *rpcrypt_load_names;
static enum { RPCRYPT_LOADING, RPCRYPT_READY, RPCRYPT_FAILED } rpcrypt_state;

static unsigned int inline_below = 1024;
module_param(inline_below, uint, 0644);
MODULE_PARM_DESC(inline_below,
		 "Requests shorter than this many bytes run in the caller when nothing of their transform is in flight and the caller is in task context with MAY_SLEEP or MAY_BACKLOG (default 1024, 0: never)");

/**
 * struct rpcrypt_instance_ctx - One rpcrypt(<aead>) algorithm.
 * @spawn: The inner AEAD.
 * @enc: Shell of rpcrypt_enc for this algorithm's encryptions.
 * @dec: Shell of rpcrypt_dec for its decryptions.
 * @sync: The inner AEAD completes every request before returning.
 * @nr_tfms: Transforms made so far; spreads their callback CPUs.
 */
struct rpcrypt_instance_ctx {
	struct crypto_aead_spawn spawn;
	struct rpadata_shell *enc;
	struct rpadata_shell *dec;
	bool sync;
	atomic_t nr_tfms;
};

/**
 * struct rpcrypt_tfm_ctx - One transform.
 * @child: The inner transform.
 * @cb_cpu: Callback CPU of its requests; rpadata writes another one there
 *          when it gives one (a mask change, hotplug), so that they move
 *          once.
 * @flight: One count for the transform and one per request in flight; a
 *          request's serial callback drops its count after completing it,
 *          when the transform may be gone. The last count frees it.
 */
struct rpcrypt_tfm_ctx {
	struct crypto_aead *child;
	int cb_cpu;
	atomic_t *flight;
};

/**
 * struct rpcrypt_req - The request context of a request to rpcrypt.
 * @priv: rpadata's part.
 * @req: The caller's request.
 * @err: Result of the inner request.
 * @child: The inner request; its own context follows it.
 */
struct rpcrypt_req {
	struct rpadata_priv priv;
	struct aead_request *req;
	int err;
	struct aead_request child;
};

static int rpcrypt_setkey(struct crypto_aead *tfm, const u8 *key,
			  unsigned int keylen)
{
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setkey(ctx->child, key, keylen);
}

static int rpcrypt_setauthsize(struct crypto_aead *tfm, unsigned int authsize)
{
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setauthsize(ctx->child, authsize);
}

/* Serial callback: on the callback CPU, in submission order, BHs off. */
static void rpcrypt_serial(struct rpadata_priv *priv)
{
	struct rpcrypt_req *rreq = container_of(priv, struct rpcrypt_req, priv);
	struct aead_request *req = rreq->req;
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(crypto_aead_reqtfm(req));
	atomic_t *flight = ctx->flight;

	aead_request_complete(req, rreq->err);
	/*
	 * Only now may a short request of the transform run in its caller:
	 * it would otherwise complete before this one. The transform may be
	 * freed already.
	 */
	if (atomic_dec_and_test(flight))
		kfree(flight);
}

/* Completion of an inner request that went asynchronous. */
static void rpcrypt_child_done(void *data, int err)
{
	struct rpcrypt_req *rreq = data;

	/* Left the inner AEAD's backlog; the result follows. */
	if (err == -EINPROGRESS)
		return;
	rreq->err = err;
	rpadata_do_serial(&rreq->priv);
}

/* @backlog: the request may be backlogged (read before it could complete). */
static void rpcrypt_child_result(struct rpcrypt_req *rreq, int err,
				 bool backlog)
{
	if (err == -EINPROGRESS || (err == -EBUSY && backlog))
		return;	/* rpcrypt_child_done() follows */
	rreq->err = err;
	rpadata_do_serial(&rreq->priv);
}

/* Parallel callbacks: on a CPU of the instance's parallel mask, BHs off. */
static void rpcrypt_encrypt_parallel(struct rpadata_priv *priv)
{
	struct rpcrypt_req *rreq = container_of(priv, struct rpcrypt_req, priv);
	bool backlog = rreq->child.base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG;

	rpcrypt_child_result(rreq, crypto_aead_encrypt(&rreq->child), backlog);
}

static void rpcrypt_decrypt_parallel(struct rpadata_priv *priv)
{
	struct rpcrypt_req *rreq = container_of(priv, struct rpcrypt_req, priv);
	bool backlog = rreq->child.base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG;

	rpcrypt_child_result(rreq, crypto_aead_decrypt(&rreq->child), backlog);
}

static int rpcrypt_submit(struct aead_request *req, bool enc)
{
	struct crypto_aead *tfm = crypto_aead_reqtfm(req);
	struct rpcrypt_instance_ctx *ictx = aead_instance_ctx(aead_alg_instance(tfm));
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(tfm);
	struct rpcrypt_req *rreq = aead_request_ctx(req);
	struct aead_request *child = &rreq->child;
	u32 flags = aead_request_flags(req);
	int err;

	aead_request_set_tfm(child, ctx->child);
	aead_request_set_crypt(child, req->src, req->dst, req->cryptlen,
			       req->iv);
	aead_request_set_ad(child, req->assoclen);

	/*
	 * 2: the transform's count and this request's. Only a task that lets
	 * its requests sleep or be backlogged (tcrypt, which waits for them)
	 * takes short ones itself, wherever it runs.
	 */
	if (atomic_inc_return(ctx->flight) == 2 && ictx->sync &&
	    req->cryptlen < READ_ONCE(inline_below) && in_task() &&
	    (flags & (CRYPTO_TFM_REQ_MAY_SLEEP | CRYPTO_TFM_REQ_MAY_BACKLOG))) {
		/* Synchronous: done when the call returns. */
		aead_request_set_callback(child,
					  flags & ~CRYPTO_TFM_REQ_MAY_SLEEP,
					  req->base.complete, req->base.data);
		local_bh_disable();
		err = enc ? crypto_aead_encrypt(child) :
			    crypto_aead_decrypt(child);
		local_bh_enable();
		atomic_dec(ctx->flight);
		return err;
	}

	/* The parallel callback runs with BHs off: it must not sleep. */
	aead_request_set_callback(child, flags & ~CRYPTO_TFM_REQ_MAY_SLEEP,
				  rpcrypt_child_done, rreq);
	memset(&rreq->priv, 0, sizeof(rreq->priv));
	rreq->priv.parallel = enc ? rpcrypt_encrypt_parallel :
				    rpcrypt_decrypt_parallel;
	rreq->priv.serial = rpcrypt_serial;
	rreq->req = req;

	/*
	 * When rpadata moves the callback CPU (a mask change, hotplug), it
	 * writes the new one to ctx->cb_cpu before the request can run: the
	 * transform follows it, as pcrypt's does, and is not touched once the
	 * request is in flight (its completion may free the transform). The
	 * requests on the old CPU are completed first.
	 */
	err = rpadata_do_parallel(enc ? ictx->enc : ictx->dec, &rreq->priv,
				  &ctx->cb_cpu);
	if (err) {
		atomic_dec(ctx->flight);
		return err;
	}
	return -EINPROGRESS;
}

static int rpcrypt_encrypt(struct aead_request *req)
{
	return rpcrypt_submit(req, true);
}

static int rpcrypt_decrypt(struct aead_request *req)
{
	return rpcrypt_submit(req, false);
}

static int rpcrypt_init_tfm(struct crypto_aead *tfm)
{
	struct rpcrypt_instance_ctx *ictx = aead_instance_ctx(aead_alg_instance(tfm));
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(tfm);
	unsigned int n = atomic_inc_return(&ictx->nr_tfms);
	struct crypto_aead *child;

	ctx->flight = kmalloc_obj(*ctx->flight, GFP_KERNEL);
	if (!ctx->flight)
		return -ENOMEM;
	atomic_set(ctx->flight, 1);
	child = crypto_spawn_aead(&ictx->spawn);
	if (IS_ERR(child)) {
		kfree(ctx->flight);
		return PTR_ERR(child);
	}
	ctx->child = child;
	/* Spread the transforms' callback CPUs; rpadata keeps it usable. */
	ctx->cb_cpu = cpumask_nth(n % num_online_cpus(), cpu_online_mask);
	crypto_aead_set_reqsize(tfm, sizeof(struct rpcrypt_req) +
				     crypto_aead_reqsize(child));
	return 0;
}

static void rpcrypt_exit_tfm(struct crypto_aead *tfm)
{
	struct rpcrypt_tfm_ctx *ctx = crypto_aead_ctx(tfm);

	/* Serial callbacks that completed their requests may still hold it. */
	if (atomic_dec_and_test(ctx->flight))
		kfree(ctx->flight);
	crypto_free_aead(ctx->child);
}

static void rpcrypt_free(struct aead_instance *inst)
{
	struct rpcrypt_instance_ctx *ictx = aead_instance_ctx(inst);

	crypto_drop_aead(&ictx->spawn);
	rpadata_free_shell(ictx->dec);
	rpadata_free_shell(ictx->enc);
	kfree(inst);
}

/* Whether @s is the name (or, with @driver, the driver) of a wrapped AEAD. */
static bool rpcrypt_listed(const char *s, bool driver)
{
	bool found = false;
	unsigned int i;

	mutex_lock(&rpcrypt_wrap_lock);
	for (i = 0; i < rpcrypt_nr_wrapped && !found; i++)
		found = !strcmp(driver ? rpcrypt_wrapped[i].driver :
					 rpcrypt_wrapped[i].name, s);
	mutex_unlock(&rpcrypt_wrap_lock);
	return found;
}

static int rpcrypt_create(struct crypto_template *tmpl, struct rtattr **tb)
{
	struct rpcrypt_instance_ctx *ictx;
	struct aead_instance *inst;
	struct aead_alg *alg;
	const char *name;
	u32 mask;
	int err;

	err = crypto_check_attr_type(tb, CRYPTO_ALG_TYPE_AEAD, &mask);
	if (err)
		return err;
	name = crypto_attr_alg_name(tb[1]);
	if (IS_ERR(name))
		return PTR_ERR(name);
	/* Only what root wrapped, by the driver it resolved to. */
	if (!rpcrypt_listed(name, true)) {
		pr_notice_ratelimited("rpcrypt(%s) refused: not in the wrap parameter\n",
				      name);
		return -EPERM;
	}

	inst = kzalloc(sizeof(*inst) + sizeof(*ictx), GFP_KERNEL);
	if (!inst)
		return -ENOMEM;
	ictx = aead_instance_ctx(inst);

	err = -ENOMEM;
	ictx->enc = rpadata_alloc_shell(rpcrypt_enc);
	ictx->dec = rpadata_alloc_shell(rpcrypt_dec);
	if (!ictx->enc || !ictx->dec)
		goto err_free;

	err = crypto_grab_aead(&ictx->spawn, aead_crypto_instance(inst), name,
			       0, mask);
	if (err)
		goto err_free;
	alg = crypto_spawn_aead_alg(&ictx->spawn);
	err = -ELOOP;
	if (alg->base.cra_module == THIS_MODULE)
		goto err_free;

	err = -ENAMETOOLONG;
	if (snprintf(inst->alg.base.cra_driver_name, CRYPTO_MAX_ALG_NAME,
		     "rpcrypt(%s)", alg->base.cra_driver_name) >=
	    CRYPTO_MAX_ALG_NAME)
		goto err_free;
	strscpy(inst->alg.base.cra_name, alg->base.cra_name,
		CRYPTO_MAX_ALG_NAME);

	ictx->sync = !(alg->base.cra_flags & CRYPTO_ALG_ASYNC);
	inst->alg.base.cra_flags |= CRYPTO_ALG_ASYNC;
	inst->alg.base.cra_priority = alg->base.cra_priority + 100;
	inst->alg.base.cra_blocksize = alg->base.cra_blocksize;
	inst->alg.base.cra_alignmask = alg->base.cra_alignmask;
	inst->alg.base.cra_ctxsize = sizeof(struct rpcrypt_tfm_ctx);
	inst->alg.ivsize = crypto_aead_alg_ivsize(alg);
	inst->alg.maxauthsize = crypto_aead_alg_maxauthsize(alg);
	inst->alg.chunksize = crypto_aead_alg_chunksize(alg);
	inst->alg.init = rpcrypt_init_tfm;
	inst->alg.exit = rpcrypt_exit_tfm;
	inst->alg.setkey = rpcrypt_setkey;
	inst->alg.setauthsize = rpcrypt_setauthsize;
	inst->alg.encrypt = rpcrypt_encrypt;
	inst->alg.decrypt = rpcrypt_decrypt;
	inst->free = rpcrypt_free;

	err = aead_register_instance(tmpl, inst);
	if (err)
		goto err_free;
	return 0;

err_free:
	rpcrypt_free(inst);
	return err;
}

static struct crypto_template rpcrypt_tmpl = {
	.name = "rpcrypt",
	.create = rpcrypt_create,
	.module = THIS_MODULE,
};

/*
 * Wraps @name: resolves it to the driver that serves it now, allows that
 * driver and makes rpcrypt(<driver>) (the crypto manager calls
 * rpcrypt_create(); the instance's driver name is exactly the one asked for,
 * so the lookup finds it). Called with rpcrypt_wrap_writer held.
 */
static int rpcrypt_wrap_one(const char *name)
{
	char full[CRYPTO_MAX_ALG_NAME];
	struct rpcrypt_wrapped *w;
	struct crypto_aead *tfm;
	int err = 0;

	lockdep_assert_held(&rpcrypt_wrap_writer);
	if (rpcrypt_listed(name, false))
		return 0;
	tfm = crypto_alloc_aead(name, 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	if (snprintf(full, sizeof(full), "rpcrypt(%s)",
		     crypto_aead_driver_name(tfm)) >= sizeof(full))
		err = -ENAMETOOLONG;
	else if (strstr(crypto_aead_driver_name(tfm), "rpcrypt("))
		err = -ELOOP;	/* served by a wrapped AEAD already */

	mutex_lock(&rpcrypt_wrap_lock);
	if (!err && rpcrypt_nr_wrapped == RPCRYPT_MAX_WRAPPED)
		err = -ENOSPC;
	if (!err) {
		w = &rpcrypt_wrapped[rpcrypt_nr_wrapped++];
		strscpy(w->name, name);
		strscpy(w->driver, crypto_aead_driver_name(tfm));
	}
	mutex_unlock(&rpcrypt_wrap_lock);
	crypto_free_aead(tfm);
	if (err)
		return err;

	tfm = crypto_alloc_aead(full, 0, 0);
	if (IS_ERR(tfm)) {
		/* Not wrapped after all: forget it (it was added last). */
		mutex_lock(&rpcrypt_wrap_lock);
		rpcrypt_nr_wrapped--;
		mutex_unlock(&rpcrypt_wrap_lock);
		return PTR_ERR(tfm);
	}
	crypto_free_aead(tfm);
	return 0;
}

/* An algorithm name: what crypto API names are made of, nothing else. */
static bool rpcrypt_valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len >= CRYPTO_MAX_ALG_NAME - sizeof("rpcrypt()"))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(s[i]) && !strchr("()_,-", s[i]))
			return false;
	return true;
}

/* Checks a list of names; returns how many, or -EINVAL. */
static int rpcrypt_check_names(const char *val)
{
	const char *p = val;
	int n = 0;

	while (*(p = skip_spaces(p))) {
		size_t len = strcspn(p, " \t\n");

		if (!rpcrypt_valid_name(p, len))
			return -EINVAL;
		p += len;
		n++;
	}
	return n ? n : -EINVAL;
}

/*
 * Wraps each name of a checked list, in order; stops at the first error.
 * Called with rpcrypt_wrap_writer held.
 */
static int rpcrypt_wrap_names(const char *val)
{
	char name[CRYPTO_MAX_ALG_NAME];
	const char *p = val;
	int err = 0;

	lockdep_assert_held(&rpcrypt_wrap_writer);
	while (!err && *(p = skip_spaces(p))) {
		size_t len = strcspn(p, " \t\n");

		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		err = rpcrypt_wrap_one(name);
		if (err)
			pr_info("wrap %s: error %d\n", name, err);
	}
	return err;
}

/*
 * "wrap": a write of whitespace-separated AEAD names wraps each in turn. A
 * malformed list changes nothing (-EINVAL); a name that cannot be wrapped
 * (an unknown AEAD, one served by rpcrypt already, a full list) stops the
 * write with its error, and the names before it stay wrapped. Names wrapped
 * before are left as they are. The list only grows: rmmod removes every
 * instance.
 */
static int rpcrypt_wrap_set(const char *val, const struct kernel_param *kp)
{
	char *names;
	int err = rpcrypt_check_names(val);

	if (err < 0)
		return err;
	/* The sysfs file exists before rpcrypt_init() runs: serialize with it. */
	mutex_lock(&rpcrypt_wrap_writer);
	switch (rpcrypt_state) {
	case RPCRYPT_READY:
		err = rpcrypt_wrap_names(val);
		break;
	case RPCRYPT_LOADING:
		/* Before the template exists: rpcrypt_init() wraps them. */
		names = rpcrypt_load_names ?
			kasprintf(GFP_KERNEL, "%s %s", rpcrypt_load_names, val) :
			kstrdup(val, GFP_KERNEL);
		if (!names) {
			err = -ENOMEM;
			break;
		}
		kfree(rpcrypt_load_names);
		rpcrypt_load_names = names;
		err = 0;
		break;
	default:
		err = -ENODEV;
	}
	mutex_unlock(&rpcrypt_wrap_writer);
	return err;
}

static int rpcrypt_wrap_get(char *buf, const struct kernel_param *kp)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&rpcrypt_wrap_lock);
	for (i = 0; i < rpcrypt_nr_wrapped; i++)
		len += sysfs_emit_at(buf, len, "%s\n", rpcrypt_wrapped[i].name);
	mutex_unlock(&rpcrypt_wrap_lock);
	return len;
}

static const struct kernel_param_ops rpcrypt_wrap_ops = {
	.set = rpcrypt_wrap_set,
	.get = rpcrypt_wrap_get,
};
module_param_cb(wrap, &rpcrypt_wrap_ops, NULL, 0600);
MODULE_PARM_DESC(wrap,
		 "AEADs rpcrypt may wrap; a write (root only) adds names, separated by spaces, and instantiates rpcrypt(<name>)");

static int __init rpcrypt_init(void)
{
	int err;

	rpcrypt_enc = rpadata_alloc_flags("rpcrypt_enc", RPADATA_PARALLEL_LOCAL);
	if (!rpcrypt_enc)
		return -ENOMEM;
	rpcrypt_dec = rpadata_alloc_flags("rpcrypt_dec", RPADATA_PARALLEL_LOCAL);
	if (!rpcrypt_dec) {
		err = -ENOMEM;
		goto err_enc;
	}
	err = crypto_register_template(&rpcrypt_tmpl);
	if (err)
		goto err_dec;

	/* Names given at load time: wrapped now, or the load fails. */
	mutex_lock(&rpcrypt_wrap_writer);
	if (rpcrypt_load_names)
		err = rpcrypt_wrap_names(rpcrypt_load_names);
	kfree(rpcrypt_load_names);
	rpcrypt_load_names = NULL;
	rpcrypt_state = err ? RPCRYPT_FAILED : RPCRYPT_READY;
	mutex_unlock(&rpcrypt_wrap_writer);
	if (err)
		goto err_tmpl;
	return 0;

err_tmpl:
	crypto_unregister_template(&rpcrypt_tmpl);
err_dec:
	rpadata_free(rpcrypt_dec);
err_enc:
	rpadata_free(rpcrypt_enc);
	mutex_lock(&rpcrypt_wrap_writer);
	kfree(rpcrypt_load_names);
	rpcrypt_load_names = NULL;
	rpcrypt_state = RPCRYPT_FAILED;
	mutex_unlock(&rpcrypt_wrap_writer);
	return err;
}

static void __exit rpcrypt_exit(void)
{
	/* No transform is left (each holds the module); this frees the shells. */
	crypto_unregister_template(&rpcrypt_tmpl);
	rpadata_free(rpcrypt_dec);
	rpadata_free(rpcrypt_enc);
}

module_init(rpcrypt_init);
module_exit(rpcrypt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Parallel AEAD on rpadata");
MODULE_ALIAS_CRYPTO("rpcrypt");
