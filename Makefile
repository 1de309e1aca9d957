# SPDX-License-Identifier: GPL-2.0
#
# p2pbuf: p2pgpu.ko (DRM exporter) + p2prdma.ko (RDMA-like importer).
#
#   make                 modules (for KDIR), userspace and tests
#   make modules KDIR=…  the modules against any kernel build tree
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
VERSION := 0.2.0
PREFIX ?= /usr/local
DKMS_SRC := $(DESTDIR)/usr/src/p2pbuf-$(VERSION)
CC ?= gcc
CFLAGS ?= -O2 -g
USER_CFLAGS := $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -I$(CURDIR)/uapi \
	$(shell pkg-config --cflags libdrm 2>/dev/null)
IGT_CFLAGS := -I$(CURDIR)/tests/igt \
	$(if $(shell pkg-config --exists igt-gpu-tools 2>/dev/null && echo y), \
	   -DHAVE_IGT_HEADERS $(shell pkg-config --cflags igt-gpu-tools))
IGT_LIBS := -ligt -ldrm -lpthread

IGT_SRCS := $(wildcard tests/igt/*.c)
IGT_BINS := $(patsubst tests/igt/%.c,$(BUILD)/igt/%,$(IGT_SRCS))

.PHONY: all modules userspace tests check soak demo bench clean deps install \
	install-modules install-headers install-userspace install-udev dkms dkms-source

all: modules userspace tests

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

userspace:
	$(if $(wildcard userspace/Makefile),$(MAKE) -C userspace BUILD=$(BUILD))

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

install-modules: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

# /dev/p2prdma* to group "rdma" (README: Who may use the NIC)
install-udev:
	install -D -m 0644 udev/70-p2prdma.rules $(DESTDIR)/etc/udev/rules.d/70-p2prdma.rules

install-headers:
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/include/p2pbuf uapi/p2pgpu_drm.h uapi/p2prdma.h

install-userspace: userspace
	$(if $(wildcard userspace/Makefile),$(MAKE) -C userspace BUILD=$(BUILD) PREFIX=$(PREFIX) install)

# The sources DKMS builds from: the modules' files only.
dkms-source:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild Makefile LICENSE compat exporter importer uapi $(DKMS_SRC)/
	rm -rf $(DKMS_SRC)/compat/generated
	sed 's/@VERSION@/$(VERSION)/' dkms.conf >$(DKMS_SRC)/dkms.conf

dkms: dkms-source
	dkms add -m p2pbuf -v $(VERSION)
	dkms install -m p2pbuf -v $(VERSION)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)
