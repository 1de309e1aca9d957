# SPDX-License-Identifier: GPL-2.0
#
# p2pbuf: p2pgpu.ko (DRM exporter) + p2prdma.ko (RDMA-like importer).
#
#   make                 modules (for KDIR) and userspace; needs the kernel
#                        headers, libdrm-dev and pkg-config
#   make tests           the IGT test binaries (needs intel-gpu-tools:
#                        they link Debian's libigt.so.0)
#   make modules KDIR=…  the modules against any kernel build tree
#   make install         modules for KDIR's kernel, library, headers,
#                        p2pctl, udev rule [DESTDIR= PREFIX=/usr/local]
#   make dkms            instead of install: the modules through DKMS
#                        (rebuilt for every kernel) plus the rest
#   make uninstall       removes all of it, DKMS registrations included
#   make check           every test, in QEMU, in every PCIe topology
#                        (TOPOLOGY='switch iommu' TESTS='p2pgpu_*' to narrow)
#   make demo            boots the VM and shares a buffer GPU -> NIC
#   make bench           boots the VM once and measures p2pbuf against its
#                        peers (not part of check; writes bench-results/)

# Out-of-tree convention: the running kernel's build tree; this build
# machine runs a kernel without modules, so fall back to the newest
# installed Debian 6.12 headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-6.12.*-amd64))))

BUILD := $(CURDIR)/build
# The one version of p2pbuf: libp2pbuf (p2pbuf_version(), libp2pbuf.pc),
# p2pctl --version and DKMS all take it from here (tests/vm/lib.sh and
# userspace/Makefile read this line too: keep its form).
VERSION := 0.2.0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
UDEVDIR ?= /etc/udev/rules.d
# DKMS registers VERSION plus the commit when built from git, so that
# `make dkms` after a `git pull` registers, builds and installs the new
# sources (and drops the old registration). dkms-source alone (the VM
# harness) writes plain VERSION.
GIT_REV := $(shell git -C $(CURDIR) rev-parse --short=10 HEAD 2>/dev/null)
DKMS_VERSION = $(VERSION)
dkms: DKMS_VERSION = $(VERSION)$(if $(GIT_REV),.g$(GIT_REV))
DKMS_SRC_ROOT ?= $(DESTDIR)/usr/src
DKMS_SRC = $(DKMS_SRC_ROOT)/p2pbuf-$(DKMS_VERSION)
DKMS ?= dkms
# e.g. --dkmstree DIR --sourcetree DIR --installtree DIR --no-depmod for a
# private tree (tests/install-test.sh)
DKMS_FLAGS ?=
KVER = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
# Where make install puts the modules under /lib/modules/KVER: a directory
# of their own (kbuild's default for M= differs between distributions:
# extra/ upstream, updates/ on Debian), so that uninstall knows what to remove.
MOD_DIR := extra/p2pbuf
CC ?= gcc
CFLAGS ?= -O2 -g
USER_CFLAGS := $(CPPFLAGS) $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -I$(CURDIR)/uapi \
	$(shell pkg-config --cflags libdrm 2>/dev/null)
IGT_CFLAGS := -I$(CURDIR)/tests/igt \
	$(if $(shell pkg-config --exists igt-gpu-tools 2>/dev/null && echo y), \
	   -DHAVE_IGT_HEADERS $(shell pkg-config --cflags igt-gpu-tools))
IGT_LIBS := -ligt -ldrm -lpthread

IGT_SRCS := $(wildcard tests/igt/*.c)
IGT_BINS := $(patsubst tests/igt/%.c,$(BUILD)/igt/%,$(IGT_SRCS))

.PHONY: all modules userspace tests check soak demo bench clean deps install \
	install-modules install-headers install-userspace install-udev dkms dkms-source \
	uninstall uninstall-modules dkms-remove check-install

# Tests are opt-in (`make tests`): they need intel-gpu-tools.
all: modules userspace

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

USERSPACE_VARS = BUILD=$(BUILD) VERSION=$(VERSION) PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) \
	BINDIR=$(BINDIR) INCLUDEDIR=$(INCLUDEDIR) MANDIR=$(MANDIR)

userspace:
	$(if $(wildcard userspace/Makefile),$(MAKE) -C userspace $(USERSPACE_VARS))

TEST_TOOLS := $(BUILD)/bin-test/observe-lastdma

tests: $(IGT_BINS) $(TEST_TOOLS)

# Guest-side helpers of the harness (plain C, no IGT): observe-lastdma
# reports where the NIC's last DMA went, read from the hardware.
$(BUILD)/bin-test/%: tests/vm/%.c tests/igt/p2pbuf_observe.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -I$(CURDIR)/tests/igt $< -o $@

$(BUILD)/igt/%: tests/igt/%.c $(wildcard tests/igt/*.h) $(wildcard uapi/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(IGT_CFLAGS) $< -o $@ $(IGT_LIBS)
	@# The subtests each binary must report, listed here: starting an IGT
	@# binary costs seconds in the TCG guest.
	@mkdir -p $(BUILD)/igt-subtests
	$@ --list-subtests >$(BUILD)/igt-subtests/$*

deps:
	tests/vm/install-deps.sh

# check installs and builds everything it needs itself (root on Debian 12),
# and reports the wall time of each phase.
check:
	@tests/vm/phase.sh start
	tests/vm/phase.sh install-deps tests/vm/install-deps.sh
	tests/vm/phase.sh build-userspace-tests $(MAKE) tests userspace
	TOPOLOGY='$(TOPOLOGY)' TESTS='$(TESTS)' tests/vm/check.sh

# Long fuzz and stress runs, outside CI's time: the same VMs and judge as
# check, with the suites' bounds raised (override any of them).
SOAK_TOPOLOGIES ?= switch iommu rootports
SOAK_FUZZ_SECONDS ?= 1800
SOAK_STRESS_SECONDS ?= 600
soak: deps
	$(MAKE) tests userspace
	TOPOLOGY='$(SOAK_TOPOLOGIES)' TESTS='p2pbuf_fuzz p2pbuf_stress p2pbuf_faults' \
	P2PBUF_FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS) P2PBUF_STRESS_SECONDS=$(SOAK_STRESS_SECONDS) \
	P2PBUF_DEADLINE=$$(($$(date +%s) + 86400)) VM_TIMEOUT_CAP=86400 tests/vm/check.sh

demo: deps
	$(MAKE) userspace tests
	tests/vm/demo.sh

bench: deps
	$(MAKE) userspace
	tests/vm/bench.sh

install: install-modules install-headers install-userspace install-udev

# modules_install skips depmod when the tree has no System.map (Debian's
# headers packages have none): run it here, on the live system only; a
# staged install (DESTDIR) leaves it to the package's postinst. Modules
# DKMS already installed for this kernel are not installed a second time.
install-modules: modules
	@if [ -z "$(DESTDIR)" ] && $(DKMS) status p2pbuf -k $(KVER) 2>/dev/null | grep -q installed; then \
		echo "p2pbuf: DKMS already installed the modules for $(KVER); not installing them twice"; \
	else \
		$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
			INSTALL_MOD_DIR=$(MOD_DIR) modules_install && \
		{ [ -n "$(DESTDIR)" ] || depmod -a $(KVER); }; \
	fi

# /dev/p2prdma* to group "rdma" (README: Who may use the NIC)
install-udev:
	install -D -m 0644 udev/70-p2prdma.rules $(DESTDIR)$(UDEVDIR)/70-p2prdma.rules
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null; then udevadm control --reload || true; fi

install-headers:
	install -D -m 0644 -t $(DESTDIR)$(INCLUDEDIR)/p2pbuf uapi/p2pgpu_drm.h uapi/p2prdma.h

install-userspace: userspace
	$(if $(wildcard userspace/Makefile),$(MAKE) -C userspace $(USERSPACE_VARS) install)
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall: uninstall-modules dkms-remove
	$(if $(wildcard userspace/Makefile),$(MAKE) -C userspace $(USERSPACE_VARS) uninstall)
	rm -f $(DESTDIR)$(UDEVDIR)/70-p2prdma.rules
	rm -f $(DESTDIR)$(INCLUDEDIR)/p2pbuf/p2pgpu_drm.h $(DESTDIR)$(INCLUDEDIR)/p2pbuf/p2prdma.h
	-rmdir $(DESTDIR)$(INCLUDEDIR)/p2pbuf 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# What modules_install put there (exporter/ and importer/ under MOD_DIR),
# for KDIR's kernel.
uninstall-modules:
	rm -rf $(DESTDIR)/lib/modules/$(KVER)/$(MOD_DIR)
	@if [ -z "$(DESTDIR)" ] && [ -d /lib/modules/$(KVER) ]; then depmod -a $(KVER); fi

# The sources DKMS builds from: the modules' files only.
dkms-source:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild Makefile LICENSE compat exporter importer uapi $(DKMS_SRC)/
	rm -rf $(DKMS_SRC)/compat/generated
	sed 's/@VERSION@/$(DKMS_VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

# Idempotent: every p2pbuf registration is removed (older versions with
# their sources), this version is added again from the fresh copy, built
# and installed, so a second run rebuilds and a new commit replaces the old
# one. The modules come from DKMS only: no modules_install.
dkms: dkms-source
	@for v in $$($(DKMS) status p2pbuf $(DKMS_FLAGS) 2>/dev/null | sed -n 's|^p2pbuf/\([^,:]*\)[,:].*|\1|p' | sort -u); do \
		echo "p2pbuf: removing DKMS p2pbuf/$$v"; \
		$(DKMS) remove p2pbuf/$$v --all $(DKMS_FLAGS) || exit 1; \
		[ "$$v" = "$(DKMS_VERSION)" ] || rm -rf $(DKMS_SRC_ROOT)/p2pbuf-$$v; \
	done
	$(DKMS) add p2pbuf/$(DKMS_VERSION) $(DKMS_FLAGS)
	$(DKMS) install p2pbuf/$(DKMS_VERSION) $(if $(KVER),-k $(KVER)) $(DKMS_FLAGS)
	$(MAKE) install-headers install-userspace install-udev

# Every p2pbuf DKMS registration and its sources; nothing if there is none.
dkms-remove:
	@for v in $$($(DKMS) status p2pbuf $(DKMS_FLAGS) 2>/dev/null | sed -n 's|^p2pbuf/\([^,:]*\)[,:].*|\1|p' | sort -u); do \
		echo "p2pbuf: removing DKMS p2pbuf/$$v"; \
		$(DKMS) remove p2pbuf/$$v --all $(DKMS_FLAGS) || exit 1; \
		rm -rf $(DKMS_SRC_ROOT)/p2pbuf-$$v; \
	done

# Host-side: a staged install into a temporary DESTDIR touches nothing
# outside it, a program built only against the installed header and
# pkg-config file links and runs, uninstall removes all of it; dkms.conf's
# kernel range. INSTALL_TEST_DKMS=1 adds `make dkms` twice and after a new
# commit, in a private DKMS tree (builds the modules three times).
check-install:
	tests/install-test.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)
