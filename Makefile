# SPDX-License-Identifier: GPL-2.0
#
# rpadata developer entry points. Kbuild itself reads ./Kbuild; this file only
# drives it and the test tools.
#
#   make            build rpadata.ko (and the samples) against $(KDIR), into build/module/
#   make run        boot QEMU, load rpadata and the samples, show what they print
#   make check      KUnit suites + guest-side checks in QEMU, "N passed, M failed"
#   make check-debug  the same on the debug kernel (lockdep, KASAN, kmemleak)
#   make stress     the hotplug/cpumask/traffic stress for minutes
#   make bench      rpadata against C padata in one QEMU boot: a table of ratios
#                   (FLAVOUR=inline: on a kernel with CONFIG_RUST_INLINE_HELPERS),
#                   then tcrypt and IPsec through rpcrypt, pcrypt and neither (bench-crypto)
#   make clippy     build with CLIPPY=1
#   make fmtcheck   rustfmt --check with the kernel's .rustfmt.toml (make fmt applies it)
#   make kdir       print the kernel build directory in use
#   make symvers    print the path of rpadata's Module.symvers
#   make install    modules_install into $(KDIR)'s extra/ and the header
#
# KDIR defaults to the cached test kernel built by tools/testing/kernel/build;
# point it at any Rust-enabled 7.2 build tree to use that instead.

RPADATA_CACHE ?= $(HOME)/.cache/rpadata
KERNEL ?= $(or $(RPADATA_KERNEL),7.2)
FLAVOUR ?= default
# The kernel's own LLVM version suffix: modules must be built with its compiler.
LLVM ?= $(if $(filter inline,$(FLAVOUR)),-22,-19)
export RPADATA_CACHE FLAVOUR
export RPADATA_KERNEL := $(KERNEL)
export PATH := $(HOME)/.cargo/bin:$(PATH)

ifeq ($(origin KDIR),undefined)
KDIR := $(RPADATA_CACHE)/kdir-$(KERNEL)-$(FLAVOUR)
KERNEL_DEP := kernel
else
KERNEL_DEP :=
endif
export KDIR

# Kbuild output stays out of the source tree (MO=), one directory per build:
# the module a user installs, the test build with the KUnit suites compiled
# in, and the clippy build.
# Each kernel series and flavour other than 7.2/default gets its own
# directories (build/kunit-7.3, build/check-debug, ...).
export RPADATA_SUFFIX := $(if $(filter-out 7.2,$(KERNEL)),-$(KERNEL))$(if $(filter-out default,$(FLAVOUR)),-$(FLAVOUR))
export RPADATA_MODULE_OUT := $(CURDIR)/build/module$(RPADATA_SUFFIX)
export RPADATA_TEST_OUT := $(CURDIR)/build/kunit$(RPADATA_SUFFIX)
MODULE_OUT := $(RPADATA_MODULE_OUT)
TEST_OUT := $(RPADATA_TEST_OUT)
CLIPPY_OUT := $(CURDIR)/build/clippy$(RPADATA_SUFFIX)
BENCH_OUT := $(CURDIR)/build/bench$(RPADATA_SUFFIX)

KBUILD_ARGS := -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) \
	CONFIG_RPADATA=m CONFIG_RPADATA_SAMPLES=m CONFIG_RPADATA_RPCRYPT=m

.PHONY: all modules kernel test-modules bench-modules bench bench-crypto run check check-debug stress clippy fmtcheck fmt kdir \
	symvers install clean help

all: modules

kernel:
	@tools/testing/kernel/build --flavour $(FLAVOUR) >/dev/null

modules: $(KERNEL_DEP)
	@mkdir -p $(MODULE_OUT)
	$(MAKE) $(KBUILD_ARGS) MO=$(MODULE_OUT) modules

test-modules: $(KERNEL_DEP)
	@mkdir -p $(TEST_OUT)
	$(MAKE) $(KBUILD_ARGS) MO=$(TEST_OUT) CONFIG_RPADATA_KUNIT_TEST=y \
		CONFIG_RPADATA_TEST_CONSUMER=m modules

bench-modules: $(KERNEL_DEP)
	@mkdir -p $(BENCH_OUT)
	$(MAKE) $(KBUILD_ARGS) MO=$(BENCH_OUT) CONFIG_RPADATA_BENCH=m modules

# make bench [BENCH_ARGS="--smp 4 --jobs 200000"] [CRYPTO_BENCH_ARGS="--rounds 3"]
bench: bench-modules modules
	tools/testing/bench/run $(BENCH_ARGS)
	tools/testing/bench/crypto $(CRYPTO_BENCH_ARGS)

# Only pcrypt's workload (tcrypt mode 215 and IPsec through rpcrypt, pcrypt and neither).
bench-crypto: modules
	tools/testing/bench/crypto $(CRYPTO_BENCH_ARGS)

run: modules
	tools/testing/run-main

check: test-modules
	tools/testing/kunit/check

# The same suites and checks on the debug kernel (lockdep, KASAN, kmemleak, ...):
# any splat fails the run.
check-debug:
	env -u KDIR RPADATA_CHECK_TIMEOUT=$(or $(RPADATA_CHECK_TIMEOUT),900) $(MAKE) check FLAVOUR=debug

# The guest-side stress for minutes instead of seconds (STRESS_ROUNDS, STRESS_SEED).
stress: test-modules
	tools/testing/stress

clippy: $(KERNEL_DEP)
	@mkdir -p $(CLIPPY_OUT)
	$(MAKE) $(KBUILD_ARGS) MO=$(CLIPPY_OUT) CLIPPY=1 \
		CONFIG_RPADATA_KUNIT_TEST=y modules

fmtcheck: $(KERNEL_DEP)
	rustfmt --check --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml \
		$(shell find rust samples client -name '*.rs')

fmt: $(KERNEL_DEP)
	rustfmt --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml \
		$(shell find rust samples client -name '*.rs')

kdir:
	@echo $(KDIR)

symvers:
	@echo $(MODULE_OUT)/Module.symvers

# Installs rpadata.ko (and the samples) for KDIR's kernel under
# $(INSTALL_MOD_PATH)/lib/modules/<release>/extra/ and runs depmod; the header
# and Module.symvers go to $(INSTALL_MOD_PATH)/usr/src/rpadata/ for consumer
# modules (ccflags-y += -I.../include, KBUILD_EXTRA_SYMBOLS=.../Module.symvers).
install: modules
	$(MAKE) $(KBUILD_ARGS) MO=$(MODULE_OUT) INSTALL_MOD_DIR=extra modules_install
	install -D -m 0644 include/rpadata.h $(INSTALL_MOD_PATH)/usr/src/rpadata/include/rpadata.h
	install -D -m 0644 $(MODULE_OUT)/Module.symvers $(INSTALL_MOD_PATH)/usr/src/rpadata/Module.symvers

clean:
	rm -rf build

help:
	@sed -n '3,18p' Makefile | sed 's/^# \{0,1\}//'
