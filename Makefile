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
#   make dkms       what dkms.conf runs: build for KERNEL_HEADERS' kernel
#
# KDIR defaults to the cached test kernel built by tools/testing/kernel/build;
# point it at any Rust-enabled 7.2 build tree to use that instead. KERNEL=7.3
# uses the 7.3 test kernel; KERNEL=debian Debian's own 7.2 kernel
# (tools/testing/kernel/debian) for make, run, check and install.

RPADATA_CACHE ?= $(HOME)/.cache/rpadata
KERNEL ?= $(or $(RPADATA_KERNEL),7.2)
FLAVOUR ?= default
# The kernel's own LLVM version suffix: modules must be built with its compiler.
LLVM ?= $(if $(filter inline,$(FLAVOUR)),-22,-19)
export RPADATA_CACHE FLAVOUR
export RPADATA_KERNEL := $(KERNEL)
export PATH := $(HOME)/.cargo/bin:$(PATH)

ifeq ($(origin KDIR),undefined)
KDIR := $(shell RPADATA_CACHE=$(RPADATA_CACHE) RPADATA_KERNEL=$(KERNEL) FLAVOUR=$(FLAVOUR) \
	tools/testing/kdir)
KERNEL_DEP := kernel
else
KERNEL_DEP :=
endif
export KDIR

# KERNEL=debian: Debian's own kernel (tools/testing/kernel/debian). Kbuild runs
# in a sid chroot holding the compilers Debian built that kernel with; CC=,
# RUSTC= and BINDGEN= on the command line name others, which the toolchain
# check then refuses unless they print the same versions.
ifeq ($(KERNEL),debian)
DEBIAN := $(CURDIR)/tools/testing/kernel/debian
DEBIAN_CC := $(if $(filter command line,$(origin CC)),$(CC),x86_64-linux-gnu-gcc-16)
DEBIAN_RUSTC := $(if $(filter command line,$(origin RUSTC)),$(RUSTC),rustc)
DEBIAN_BINDGEN := $(if $(filter command line,$(origin BINDGEN)),$(BINDGEN),bindgen)
KMAKE := $(DEBIAN) exec make -j$(shell nproc)
# The chroot sees the cache's build/, not the link to it: the link is resolved
# when a recipe runs (after `kernel` made it).
ifneq ($(KERNEL_DEP),)
KDIR = $(realpath $(shell RPADATA_CACHE=$(RPADATA_CACHE) RPADATA_KERNEL=$(KERNEL) \
	FLAVOUR=$(FLAVOUR) tools/testing/kdir))
endif
TOOLCHAIN := CC=$(DEBIAN_CC) HOSTCC=$(DEBIAN_CC) RUSTC=$(DEBIAN_RUSTC) BINDGEN=$(DEBIAN_BINDGEN)
# Debian's kernel has no KUnit.
KUNIT_ARGS :=
else
KMAKE := $(MAKE)
TOOLCHAIN := LLVM=$(LLVM)
KUNIT_ARGS := CONFIG_RPADATA_KUNIT_TEST=y
endif

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

KBUILD_ARGS = -C $(KDIR) M=$(CURDIR) $(TOOLCHAIN) \
	CONFIG_RPADATA=m CONFIG_RPADATA_SAMPLES=m CONFIG_RPADATA_RPCRYPT=m

.PHONY: all modules dkms kernel test-modules bench-modules bench bench-crypto run check check-debug stress clippy fmtcheck fmt kdir \
	symvers install clean help

all: modules

ifeq ($(KERNEL),debian)
kernel:
	@$(DEBIAN) prepare >/dev/null

# Before Kbuild: the compilers must be the kernel's. After: every symbol the
# modules need must be exported by that kernel (or by them).
toolchain-check = $(DEBIAN) toolchain $(DEBIAN_CC) $(DEBIAN_RUSTC) $(DEBIAN_BINDGEN)
symbols-check = $(DEBIAN) symbols $$(find $(1) -name '*.ko')
else
kernel:
	@tools/testing/kernel/build --flavour $(FLAVOUR) >/dev/null

toolchain-check = true
symbols-check = true
endif

modules: $(KERNEL_DEP)
	@mkdir -p $(MODULE_OUT)
	@$(toolchain-check)
	$(KMAKE) $(KBUILD_ARGS) MO=$(MODULE_OUT) modules
	@$(call symbols-check,$(MODULE_OUT))

test-modules: $(KERNEL_DEP)
	@mkdir -p $(TEST_OUT)
	@$(toolchain-check)
	$(KMAKE) $(KBUILD_ARGS) MO=$(TEST_OUT) $(KUNIT_ARGS) \
		CONFIG_RPADATA_TEST_CONSUMER=m modules
	@$(call symbols-check,$(TEST_OUT))

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

# rustfmt with the kernel's configuration, over every Rust file of the project.
RUSTFMT = rustfmt --edition 2021 --config-path $(KDIR)/source/.rustfmt.toml \
	$(shell find rust samples client -name '*.rs')

fmtcheck: $(KERNEL_DEP)
	$(RUSTFMT) --check

fmt: $(KERNEL_DEP)
	$(RUSTFMT)

kdir:
	@echo $(KDIR)

symvers:
	@echo $(MODULE_OUT)/Module.symvers

# Installs rpadata.ko (and the samples) for KDIR's kernel under
# $(INSTALL_MOD_PATH)/lib/modules/<release>/extra/ and runs depmod; the header
# and Module.symvers go to $(INSTALL_MOD_PATH)/usr/src/rpadata/ for consumer
# modules (ccflags-y += -I.../include, KBUILD_EXTRA_SYMBOLS=.../Module.symvers).
install: modules
ifeq ($(KERNEL),debian)
	rel=$$(cat $(KDIR)/debian-release) && \
	for ko in $$(find $(MODULE_OUT) -name '*.ko'); do \
		install -D -m 0644 $$ko $(INSTALL_MOD_PATH)/lib/modules/$$rel/extra/$$(basename $$ko); \
	done && \
	if command -v depmod >/dev/null; then \
		depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $$rel; \
	elif [ -n "$(INSTALL_MOD_PATH)" ]; then \
		$(DEBIAN) exec depmod -b $(abspath $(INSTALL_MOD_PATH)) $$rel; \
	else \
		echo "make install: no depmod here (apt install kmod)" >&2; exit 1; \
	fi
else
	$(MAKE) $(KBUILD_ARGS) MO=$(MODULE_OUT) INSTALL_MOD_DIR=extra modules_install
endif
	install -D -m 0644 include/rpadata.h $(INSTALL_MOD_PATH)/usr/src/rpadata/include/rpadata.h
	install -D -m 0644 $(MODULE_OUT)/Module.symvers $(INSTALL_MOD_PATH)/usr/src/rpadata/Module.symvers

# DKMS (dkms.conf): a KDIR with the Rust metadata for the kernel whose headers
# dkms names, regenerated once per kernel under RPADATA_KDIRS, then Kbuild with
# the compiler that kernel's .config names.
RPADATA_KDIRS ?= /var/cache/rpadata
dkms:
	@test -n "$(KERNEL_HEADERS)" && test -n "$(KERNELRELEASE)" || \
		{ echo "make dkms: KERNEL_HEADERS= and KERNELRELEASE= name the kernel" >&2; exit 1; }
	@kdir=$$(tools/rust-kdir $(KERNEL_HEADERS) $(RPADATA_KDIRS)/kdir-$(KERNELRELEASE)) && \
	cc=$$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' $$kdir/.config) && \
	if grep -qx CONFIG_CC_IS_CLANG=y $$kdir/.config; then tc="LLVM=1"; else tc="CC=$$cc HOSTCC=$$cc"; fi && \
	mkdir -p $(CURDIR)/build/dkms && \
	$(MAKE) -C $$kdir M=$(CURDIR) MO=$(CURDIR)/build/dkms $$tc KERNELRELEASE=$(KERNELRELEASE) \
		RUSTC=$${RUSTC:-rustc} BINDGEN=$${BINDGEN:-bindgen} \
		CONFIG_RPADATA=m CONFIG_RPADATA_RPCRYPT=m modules

clean:
	rm -rf build

help:
	@sed -n '3,24p' Makefile | sed 's/^# \{0,1\}//'
