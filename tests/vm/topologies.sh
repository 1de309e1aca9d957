# SPDX-License-Identifier: GPL-2.0
#
# PCIe layouts of the test VM, sourced by run-vm.sh. VRAM is an ivshmem-plain
# BAR backed by host memory; the NIC is QEMU's edu device with a real DMA
# engine. What the kernel's P2PDMA code answers in each layout was measured:
# see ../shared/notes/vm-facts.md.
#
# topology_args TOPOLOGY sets: QEMU_CPU, QEMU_DEVICES (array), KERNEL_FLAVOR,
# EXTRA_CMDLINE, VFIO_PORT (the root port whose ivshmem the guest hands to
# vfio-pci instead of p2pgpu, "" for none), and TESTS_AS: the topology whose decisions the tests
# expect (the guest's P2PBUF_TOPOLOGY; stock61 is judged as stock: root
# ports on a kernel without P2PDMA; stock73-iommu as iommu). The kernel flavors (lib.sh prepare_flavor):
#   testkernel  the 6.12 debug kernel (build-kernel.sh: P2PDMA, KASAN, ...)
#   debug73     the 7.3 debug kernel (build-kernel.sh 7.3), same fragment
#   stock       Debian 12's stock 6.12 (no P2PDMA)
#   stock61     Debian 12's default stock 6.1 (no P2PDMA)
#   stock73     Debian 13 trixie-backports' stock 7.3 (P2PDMA on)
# A topology named FLAVOR-LAYOUT (stock73-iommu, debug73-rootports) is
# LAYOUT under that flavor's kernel; stock73 and debug73 alone are the
# switch layout.

# Topologies `make check` runs by default: each kernel of the matrix
# (6.12 and 7.3 debug; Debian's stock 6.1, 6.12 and 7.3) in one layout with
# every suite and in each other layout whose decision differs (the
# manifest says what runs where). Longest first within each kind of kernel:
# make check boots two VMs at a time.
# "static" is no VM: sparse, checkpatch and kernel-doc on the drivers, and
# the userspace's host-side tests.
# What `make demo` shows is run and judged inside the stock73,
# stock73-rootports and stock VMs; "demo" (not in the default list) runs
# `make demo` itself in VMs of its own.
ALL_TOPOLOGIES="switch rootports iommu debug73-hostbridge multi hostbridge"
ALL_TOPOLOGIES+=" debug73 debug73-iommu debug73-rootports detector static"
ALL_TOPOLOGIES+=" stock stock73 stock61 stock73-iommu stock73-rootports stock73-hostbridge"

vram_dev() { echo "ivshmem-plain,memdev=${2:-vram},bus=$1,addr=0x0"; }
nic_dev() { echo "edu,dma_mask=0xffffffffffffffff,bus=$1,addr=0x0"; }

# A second BAR for vfio-pci's dma-buf exporter (7.x VFIO_PCI_DMABUF,
# p2prdma_vfio): another ivshmem with memory of its own, on a root port of
# its own at a fixed address, so that it has an IOMMU group of its own (a
# group vfio can own while the NIC stays with p2prdma) and reaches the NIC
# through the allow-listed host bridge, by an IOVA the vIOMMU translates.
# The guest hands it to vfio-pci by that port (guest-run.sh), never to
# p2pgpu.
vfio_bar_dev() {
	QEMU_DEVICES+=(-object memory-backend-ram,id=vfiobar,size=1M,share=on
		       -device pcie-root-port,id=rp9,bus=pcie.0,chassis=9,slot=9,addr=0x10
		       -device "$(vram_dev rp9 vfiobar)")
	VFIO_PORT=0000:00:10.0
}

two_root_ports() {
	QEMU_DEVICES+=(-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
		       -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2
		       -device "$(vram_dev rp1)" -device "$(nic_dev rp2)")
}

# TCG's "max" CPU offers LA57, and a 6.12 kernel with KASAN then boots in
# 5-level paging, where KASAN flakily reports a wild-memory-access from an
# interrupt taken in early boot (seen in CI: rcu_is_watching at 0.0045 s,
# before any p2pbuf code ran): identify_cpu() clears the boot CPU's
# capabilities with interrupts on, so pgtable_l5_enabled() briefly says
# 4-level. The false positive is upstream's (patch posted June 2026: "kasan:
# Fix false-positive wild-memory-access on x86 under 5-level paging"), so
# the guests use 4-level paging, as most GPU/NIC servers do.
topology_args() {
	QEMU_CPU=max,la57=off
	QEMU_DEVICES=()
	KERNEL_FLAVOR=testkernel
	EXTRA_CMDLINE=
	VFIO_PORT=
	TESTS_AS=$1
	case "$1" in
	static|demo)
		;;
	switch|detector)
		# Both devices below one switch: p2p by PCI bus address.
		QEMU_DEVICES+=(-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
			       -device x3130-upstream,id=up1,bus=rp1
			       -device xio3130-downstream,id=dn1,bus=up1,chassis=2,slot=2,port=1
			       -device xio3130-downstream,id=dn2,bus=up1,chassis=3,slot=3,port=2
			       -device "$(vram_dev dn1)" -device "$(nic_dev dn2)")
		;;
	rootports)
		# Separate root ports, host bridge not allow-listed: refused.
		two_root_ports
		;;
	hostbridge)
		# AMD Zen host bridges are allow-listed (cpu_supports_p2pdma()).
		QEMU_CPU=EPYC
		two_root_ports
		;;
	iommu)
		# Through the host bridge by IOVA; a raw bus address DMAR-faults.
		QEMU_CPU=EPYC
		QEMU_DEVICES+=(-device intel-iommu,intremap=off)
		two_root_ports
		EXTRA_CMDLINE="intel_iommu=on iommu.strict=1"
		;;
	multi)
		# Two GPUs and two NICs: one pair behind a switch, the other pair
		# on root ports of their own, so decisions differ per pair.
		QEMU_DEVICES+=(-object memory-backend-ram,id=vram2,size="${P2PBUF_VRAM_MB:-64}"M,share=on
			       -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
			       -device x3130-upstream,id=up1,bus=rp1
			       -device xio3130-downstream,id=dn1,bus=up1,chassis=2,slot=2,port=1
			       -device xio3130-downstream,id=dn2,bus=up1,chassis=3,slot=3,port=2
			       -device "$(vram_dev dn1)" -device "$(nic_dev dn2)"
			       -device pcie-root-port,id=rp3,bus=pcie.0,chassis=4,slot=4
			       -device pcie-root-port,id=rp4,bus=pcie.0,chassis=5,slot=5
			       -device "$(vram_dev rp3 vram2)" -device "$(nic_dev rp4)")
		# Each pair's code runs under every debugger in switch and
		# rootports: here lockdep and KASAN are enough, and the run is
		# faster without kmemleak's and DMA-API debugging's tracking.
		EXTRA_CMDLINE="kmemleak=off dma_debug=off"
		;;
	stock)
		# Debian's own kernel: no CONFIG_PCI_P2PDMA, no DMABUF_MOVE_NOTIFY,
		# so every buffer is staged; and booted with swiotlb=force, so
		# every staged mapping goes through swiotlb's bounce buffers, as
		# in confidential VMs (SEV, TDX) and for devices with a narrow
		# DMA mask: CPU access sees the NIC's bytes only through the
		# exporter's syncs (p2pbuf_swiotlb checks that it bounced).
		# Staged-only, so nothing is lost that another topology does not
		# cover unbounced (rootports, stock61, stock73-rootports).
		# 262144 slots of 2 KiB (512 MiB of the guest's 2 GiB; swiotlb
		# rounds its size up to a power of two, 384 MiB became this):
		# the suite maps up to 256 MiB of staged buffers at once
		# (p2pbuf_stress oversubscribe: 4x the 64 MiB VRAM, all
		# registered), and the default 64 MiB ran out ("swiotlb buffer
		# is full", -EIO); a confidential VM gets 6% of its memory, up
		# to 1 GiB.
		KERNEL_FLAVOR=stock
		EXTRA_CMDLINE="swiotlb=262144,force"
		two_root_ports
		;;
	stock61)
		# Debian 12's default kernel: no P2PDMA either.
		KERNEL_FLAVOR=stock61
		TESTS_AS=stock
		two_root_ports
		;;
	stock73|debug73)
		topology_args switch
		KERNEL_FLAVOR=$1
		;;
	stock73-*|debug73-*)
		case "${1#*-}" in
		switch|rootports|hostbridge|iommu|multi) ;;
		*) echo "unknown layout in topology '$1'" >&2; return 1 ;;
		esac
		topology_args "${1#*-}"
		KERNEL_FLAVOR=${1%%-*}
		if [ "${1#*-}" = iommu ]; then
			vfio_bar_dev
		fi
		;;
	*)
		echo "unknown topology '$1' (known: $ALL_TOPOLOGIES)" >&2
		return 1
		;;
	esac
}
