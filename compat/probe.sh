#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# probe.sh KDIR OUT.h: the kernel feature probes of p2pbuf's compat layer.
# Each probe test-compiles a few lines against KDIR's headers, the way
# out-of-tree drivers that live across kernels do it (NVIDIA's conftest.sh,
# amdgpu-dkms' m4 probes): a kernel's version number says nothing about
# what a distribution backported into it. OUT.h gets one
# "#define P2PBUF_HAVE_<NAME> 1" per probe that compiled; compat/
# p2pbuf_compat.h maps the new API names the drivers call onto the old ones
# where a probe failed. Kbuild runs this while it reads the top-level
# Kbuild file, so every build of the modules (make, DKMS, the VM harness)
# probes the tree it builds for; OUT.h is kept while KDIR and this script
# are unchanged.
set -eu
kdir=$(cd "$1" && pwd -P)
out=$2
here=$(cd "$(dirname "$0")" && pwd -P)
key="kdir $kdir $(cksum <"$here/probe.sh" | cut -d' ' -f1) $(cksum <"$kdir/.config" | cut -d' ' -f1)"
if [ -f "$out" ] && [ "$(sed -n 's|^/\* key \(.*\) \*/$|\1|p' "$out")" = "$key" ]; then
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pbuf-probe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
names=

# probe NAME: the C lines on stdin, compiled as the body of a file that
# includes <linux/module.h> first. The kernel change each covers is
# written above it.
probe() {
	names="$names $1"
	{
		echo '#include <linux/module.h>'
		cat
	} >"$tmp/p_$1.c"
	echo "obj-m += p_$1.o" >>"$tmp/Kbuild"
}

# export_needed NAME SYMBOL CONFIG: the probe NAME (just defined) also
# needs SYMBOL exported to modules when the kernel has CONFIG: a header can
# declare what modules cannot link.
exports=
export_needed() {
	exports="$exports $1:$2:$3"
}
: >"$tmp/Kbuild"
echo 'ccflags-y += -Werror' >>"$tmp/Kbuild"

# 6.13 made the symbol namespace a string: MODULE_IMPORT_NS("DMA_BUF").
# Before, the macro stringified a bare token, so only the bare token tells
# the two apart (a string compiles on both, as the wrong namespace).
probe module_import_ns_token <<'C'
MODULE_IMPORT_NS(DMA_BUF);
C

# 7.1 renamed dma_buf_attach_ops.move_notify to .invalidate_mappings,
# dma_buf_move_notify() to dma_buf_invalidate_mappings(), and removed
# CONFIG_DMABUF_MOVE_NOTIFY (dynamic importers are always supported).
probe dma_buf_invalidate_mappings_op <<'C'
#include <linux/dma-buf.h>
const struct dma_buf_attach_ops p2pbuf_probe_ops = { .invalidate_mappings = NULL };
C
probe dma_buf_invalidate_mappings <<'C'
#include <linux/dma-buf.h>
void p2pbuf_probe(struct dma_buf *dmabuf);
void p2pbuf_probe(struct dma_buf *dmabuf) { dma_buf_invalidate_mappings(dmabuf); }
C

# 6.14 removed drm_driver.date (DRM_IOCTL_VERSION reports an empty date);
# before, DRM_IOCTL_VERSION copied it and a driver had to set it.
probe drm_driver_date <<'C'
#include <drm/drm_drv.h>
const struct drm_driver p2pbuf_probe_drv = { .date = "20000101" };
C

# 7.1 defined the revoke contract: dma_buf_attach_revocable() says whether
# an importer promises to unmap within bounded time after
# invalidate_mappings (it has the op); a dynamic importer may lack it.
probe dma_buf_attach_revocable <<'C'
#include <linux/dma-buf.h>
bool p2pbuf_probe(struct dma_buf_attachment *attach);
bool p2pbuf_probe(struct dma_buf_attachment *attach) { return dma_buf_attach_revocable(attach); }
C

# 6.3 added drm_debugfs_add_file() (a file per drm_device, no minor).
probe drm_debugfs_add_file <<'C'
#include <drm/drm_debugfs.h>
void p2pbuf_probe(struct drm_device *drm, int (*show)(struct seq_file *, void *));
void p2pbuf_probe(struct drm_device *drm, int (*show)(struct seq_file *, void *))
{ drm_debugfs_add_file(drm, "x", show, NULL); }
C

# 6.1 named the P2PDMA bus-address test of a DMA-mapped scatterlist entry
# sg_is_dma_bus_address(); 6.12 calls it sg_dma_is_bus_address().
probe sg_dma_is_bus_address <<'C'
#include <linux/scatterlist.h>
bool p2pbuf_probe(struct scatterlist *sg);
bool p2pbuf_probe(struct scatterlist *sg) { return sg_dma_is_bus_address(sg); }
C

# 6.11 exported pcim_request_region(); before, pci_request_region() on a
# device enabled by pcim_enable_device() was managed the same way.
probe pcim_request_region <<'C'
#include <linux/pci.h>
int p2pbuf_probe(struct pci_dev *pdev);
int p2pbuf_probe(struct pci_dev *pdev) { return pcim_request_region(pdev, 0, "x"); }
C

# After 6.12 (7.3 has it) ttm_bo_put(), the release in a GEM free callback,
# became ttm_bo_fini().
probe ttm_bo_fini <<'C'
#include <drm/ttm/ttm_bo.h>
void p2pbuf_probe(struct ttm_buffer_object *bo);
void p2pbuf_probe(struct ttm_buffer_object *bo) { ttm_bo_fini(bo); }
C

# After 6.12 (7.3 has it) ttm_device_init() took one TTM_ALLOCATION_* flags
# word in place of its use_dma_alloc and use_dma32 bools.
probe ttm_device_init_alloc_flags <<'C'
#include <drm/ttm/ttm_device.h>
int p2pbuf_probe(struct ttm_device *bdev, const struct ttm_device_funcs *funcs);
int p2pbuf_probe(struct ttm_device *bdev, const struct ttm_device_funcs *funcs)
{ return ttm_device_init(bdev, funcs, NULL, NULL, NULL, 0); }
C

# 6.13 added ttm_bo_populate() (a BO's pages, swapped in if needed); before,
# ttm_tt_populate() on its TT did the same.
probe ttm_bo_populate <<'C'
#include <drm/ttm/ttm_bo.h>
int p2pbuf_probe(struct ttm_buffer_object *bo, struct ttm_operation_ctx *ctx);
int p2pbuf_probe(struct ttm_buffer_object *bo, struct ttm_operation_ctx *ctx)
{ return ttm_bo_populate(bo, ctx); }
C

# 6.9 folded ttm_placement's busy_placement list (the places TTM may evict
# for) into the place flags: before, a placement without it never evicts.
probe ttm_placement_busy <<'C'
#include <drm/ttm/ttm_placement.h>
const struct ttm_placement p2pbuf_probe_pl = { .num_busy_placement = 0 };
C

# 7.x added the typed allocators kzalloc_obj(VAR_OR_TYPE[, gfp]) and
# kzalloc_objs(VAR_OR_TYPE, count[, gfp]): the size comes from the type,
# never from a separate sizeof (checkpatch's ALLOC_WITH_SIZEOF asks for them).
# Debian's 6.12.118 has them as a backport; its 6.1 does not.
probe kzalloc_obj <<'C'
#include <linux/slab.h>
int *p2pbuf_probe(void);
int *p2pbuf_probe(void) { int *p = kzalloc_obj(*p, GFP_KERNEL); return p; }
C

# 6.19 gave P2PDMA providers without struct pages: pcim_p2pdma_init()
# sets up the device's P2PDMA state without ZONE_DEVICE pages, and
# pcim_p2pdma_provider() describes one BAR for the DMA mapping helpers.
probe pcim_p2pdma_provider <<'C'
#include <linux/pci-p2pdma.h>
struct p2pdma_provider *p2pbuf_probe(struct pci_dev *pdev);
struct p2pdma_provider *p2pbuf_probe(struct pci_dev *pdev)
{ return pcim_p2pdma_init(pdev) ? NULL : pcim_p2pdma_provider(pdev, 2); }
C

# 6.19 made pci_p2pdma_map_type() take a provider (before: a pagemap, and
# static). Declared in 7.3's header but not exported there (its one module
# caller, dma_buf_phys_vec_to_sgt(), is built in): the probe counts only
# where a module can link it, i.e. Module.symvers lists it (or the kernel
# has no P2PDMA and the header's inline stub answers).
probe pci_p2pdma_map_type <<'C'
#include <linux/pci-p2pdma.h>
enum pci_p2pdma_map_type p2pbuf_probe(struct p2pdma_provider *p, struct device *dev);
enum pci_p2pdma_map_type p2pbuf_probe(struct p2pdma_provider *p, struct device *dev)
{ return pci_p2pdma_map_type(p, dev); }
C
export_needed pci_p2pdma_map_type pci_p2pdma_map_type CONFIG_PCI_P2PDMA

# 6.19 added drivers/dma-buf/dma-buf-mapping.c: dma_buf_phys_vec_to_sgt()
# maps MMIO ranges of a provider for an importer (bus address, one IOVA
# range, or a refusal) and dma_buf_free_sgt() unmaps them.
probe dma_buf_phys_vec_to_sgt <<'C'
#include <linux/dma-buf-mapping.h>
#include <linux/pci-p2pdma.h>
struct sg_table *p2pbuf_probe(struct dma_buf_attachment *a, struct p2pdma_provider *p, struct phys_vec *v);
struct sg_table *p2pbuf_probe(struct dma_buf_attachment *a, struct p2pdma_provider *p, struct phys_vec *v)
{
	struct sg_table *sgt = dma_buf_phys_vec_to_sgt(a, p, v, 1, v->len, DMA_BIDIRECTIONAL);

	if (!IS_ERR(sgt))
		dma_buf_free_sgt(a, sgt, DMA_BIDIRECTIONAL);
	return sgt;
}
C

# Compile every probe at once; one that does not compile is a missing
# feature. The environment is emptied so the caller's kbuild variables
# (M=, W=1, the jobserver) do not leak into the nested kernel make.
mkdir -p "$(dirname "$out")"
env -i PATH="$PATH" HOME="${HOME:-/}" \
	make -k -j"$(nproc)" -C "$kdir" M="$tmp" modules >"$tmp/log" 2>&1 || :
{
	echo "/* SPDX-License-Identifier: GPL-2.0 */"
	echo "/* Generated by compat/probe.sh: which kernel features the tree has. */"
	echo "/* key $key */"
	for n in $names; do
		up=$(echo "$n" | tr a-z A-Z)
		ok=
		[ -f "$tmp/p_$n.o" ] && ok=1
		for e in $exports; do
			[ "${e%%:*}" = "$n" ] || continue
			sym=${e#*:}; cfg=${sym#*:}; sym=${sym%%:*}
			if grep -q "^$cfg=y" "$kdir/.config" &&
			   ! grep -q "	$sym	" "$kdir/Module.symvers" 2>/dev/null; then
				ok=
			fi
		done
		if [ -n "$ok" ]; then
			echo "#define P2PBUF_HAVE_$up 1"
		else
			echo "/* P2PBUF_HAVE_$up: not found */"
		fi
	done
} >"$out.tmp"
cp "$tmp/log" "$out.log"
mv "$out.tmp" "$out"
